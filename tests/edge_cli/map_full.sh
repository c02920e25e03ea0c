#!/usr/bin/env bash
# Pins a full LMDB map (map_size_mb = 1 in edge.conf) during import: a clear
# "storage is full" error, exit 1, the lines that are safely stored named and
# exactly those in the log, which still verifies; retrying while still full
# adds nothing; after map_size_mb is raised the same import completes and a
# further re-import is a no-op.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

S=$T/state
init_state "$S"
echo "map_size_mb = 1" >>"$S/edge.conf"

# About 2 MB of realistic records: more than a 1 MB map holds.
F=$T/big.jsonl
n=3000
pad=$(printf '%0400d' 0 | tr 0 x)
for ((i = 1; i <= n; i++)); do
  printf '{"type":"inquiry","id":"big-%05d","case":"NDG-2026-031","cause":"非法占用耕地建房","party":"张某","start":"2026-03-03T09:30:00+08:00","end":"2026-03-03T10:42:00+08:00","officers":["ZF-0107","ZF-0112"],"fields":{"subject":"张某","transcript_no":"XW-%05d","notes":"%s"}}\n' \
    "$i" "$i" "$pad"
done >"$F"
expect_eq "$(wc -l <"$F" | tr -d ' ')" "$n" "lines in the generated file"

run "$EDGE" import "$F" --state "$S"
expect_rc 1 "import into a full map"
expect_contains "$ERR" "storage is full" "the error says storage is full"
stored=$(sed -n 's/.*Lines up to \([0-9]*\) are safely stored.*/\1/p' <<<"$ERR")
[ -n "$stored" ] || fail "the error does not say which lines are safely stored"
if [ "$stored" -le 0 ] || [ "$stored" -ge "$n" ]; then
  fail "the error says lines up to $stored are stored; expected some but not all $n"
fi
expect_contains "$OUT" "$stored imported" "the summary counts the stored lines"
head1=$(head_of "$S")
expect_eq "${head1%% *}" "$stored" "log head after the full import"
run "$EDGE" log --state "$S" --json --from "$stored" --to "$stored"
expect_json "$OUT" .body.id "$(printf 'big-%05d' "$stored")" "the last stored entry is line $stored"

run "$EDGE" verify --state "$S"
expect_rc 0 "verify after storage ran full"
expect_contains "$OUT" "$stored entries verified" "verify after storage ran full"

# Retrying while still full: nothing new, nothing lost, still a clear error.
run "$EDGE" import "$F" --state "$S" --json
expect_rc 1 "re-import into a still-full map"
expect_json "$OUT" .imported 0 "re-import into a full map: imported"
expect_json "$OUT" .duplicates "$stored" "re-import into a full map: already present"
expect_json "$OUT" .complete false "re-import into a full map: complete"
expect_contains "$ERR" "storage is full" "re-import into a full map: error"
expect_eq "$(head_of "$S")" "$head1" "log head after re-import into a full map"

sed -i 's/^map_size_mb = 1$/map_size_mb = 64/' "$S/edge.conf"
run "$EDGE" import "$F" --state "$S"
expect_rc 0 "import after raising map_size_mb"
expect_contains "$OUT" "$((n - stored)) imported, $stored already present, 0 rejected" \
  "import after raising map_size_mb"
head2=$(head_of "$S")
expect_eq "${head2%% *}" "$n" "log head after the completed import"

run "$EDGE" import "$F" --state "$S"
expect_rc 0 "re-import after the completed import"
expect_contains "$OUT" "0 imported, $n already present, 0 rejected" "re-import is a no-op"
expect_eq "$(head_of "$S")" "$head2" "log head after the no-op re-import"
run "$EDGE" verify --state "$S"
expect_rc 0 "verify after the completed import"
expect_contains "$OUT" "$n entries verified" "verify after the completed import"
