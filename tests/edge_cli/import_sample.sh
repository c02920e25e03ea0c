#!/usr/bin/env bash
# Pins importing ops/sample-records.jsonl: every line becomes one entry, in
# file order; importing the same file again (from a path or stdin) is a no-op
# that reports every line as already present and leaves the log head where
# it was; the log verifies.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

S=$T/state
init_state "$S"
n=$(grep -c '[^[:space:]]' "$SAMPLE")
[ "$n" -gt 0 ] || fail "$SAMPLE has no records"

run "$EDGE" import "$SAMPLE" --state "$S"
expect_rc 0 "first import of the sample"
expect_contains "$OUT" "$n imported, 0 already present, 0 rejected" "first import summary"
expect_eq "$ERR" "" "first import of a clean file prints nothing on stderr"
head1=$(head_of "$S")
expect_eq "${head1%% *}" "$n" "log head after importing $n lines"

run "$EDGE" log --state "$S" --json
expect_rc 0 "log --json"
json_valid "$OUT" || fail "log --json is not one JSON object per line"
expect_eq "$(grep -c . <<<"$OUT")" "$n" "entries listed by log --json"
expect_eq "$(json_get "$OUT" .body.id)" "$(json_get "$(cat "$SAMPLE")" .id)" \
  "record ids in the log, in file order"
expect_eq "$(json_get "$OUT" .kind | sort -u)" record "kind of every imported entry"
expect_eq "$(json_get "$OUT" .seq | tr '\n' ' ')" "$(seq 1 "$n" | tr '\n' ' ')" \
  "seqs are dense from 1"

run "$EDGE" import "$SAMPLE" --state "$S"
expect_rc 0 "re-import of the sample"
expect_contains "$OUT" "0 imported, $n already present, 0 rejected" "re-import summary"
expect_eq "$(head_of "$S")" "$head1" "log head after re-import"

run "$EDGE" import - --state "$S" --json <"$SAMPLE"
expect_rc 0 "re-import from stdin with --json"
json_valid "$OUT" || fail "import --json is not JSON"
expect_json "$OUT" .imported 0 "re-import --json imported"
expect_json "$OUT" .duplicates "$n" "re-import --json duplicates"
expect_json "$OUT" .rejected 0 "re-import --json rejected"
expect_json "$OUT" .complete true "re-import --json complete"
expect_eq "$(head_of "$S")" "$head1" "log head after re-import from stdin"

run "$EDGE" verify --state "$S"
expect_rc 0 "verify after import"
expect_contains "$OUT" "$n entries verified" "verify counts every entry"
