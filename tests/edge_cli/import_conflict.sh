#!/usr/bin/env bash
# Pins `id` idempotency: the same id with different content, whether in a
# later file or later in the same file, is rejected as a conflict naming the
# id and the line; the stored record is not changed; the same id with the
# same content is skipped as already present.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

S=$T/state
init_state "$S"
first='{"type":"decision","id":"JD-031","case":"NDG-2026-031","time":"2026-03-12T09:00:00+08:00","fields":{"decision_no":"JD-031","reasons":"违法占地"}}'
changed='{"type":"decision","id":"JD-031","case":"NDG-2026-031","time":"2026-03-12T09:00:00+08:00","fields":{"decision_no":"JD-031","reasons":"changed afterwards"}}'
other='{"type":"decision","id":"JD-032","case":"NDG-2026-032","time":"2026-03-12T10:00:00+08:00"}'

printf '%s\n' "$first" >"$T/a.jsonl"
run "$EDGE" import "$T/a.jsonl" --state "$S"
expect_rc 0 "first import"
head1=$(head_of "$S")

printf '%s\n%s\n' "$other" "$changed" >"$T/b.jsonl"
run "$EDGE" import "$T/b.jsonl" --state "$S"
expect_rc 1 "import with a conflicting id"
expect_contains "$OUT" "1 imported, 0 already present, 1 rejected" "conflict import summary"
expect_contains "$ERR" "line 2:" "the conflict names its line"
expect_contains "$ERR" "\"JD-031\"" "the conflict names the id"
expect_contains "$ERR" "different content" "the conflict says why"
head2=$(head_of "$S")
expect_eq "${head2%% *}" 2 "log head: only the new id was added"
[ "$head2" != "$head1" ] || fail "the log head did not move for the new id"

run "$EDGE" log --state "$S" --json --from 1 --to 1
expect_json "$OUT" .body.fields.reasons "违法占地" "the stored record is unchanged"

# Within one file: a repeat is skipped, a changed repeat is a conflict.
printf '%s\n%s\n%s\n' \
  '{"type":"decision","id":"JD-040","case":"C-40","time":"2026-03-12T09:00:00+08:00"}' \
  '{"type":"decision","id":"JD-040","case":"C-40","time":"2026-03-12T09:00:00+08:00"}' \
  '{"type":"decision","id":"JD-040","case":"C-41","time":"2026-03-12T09:00:00+08:00"}' >"$T/c.jsonl"
run "$EDGE" import "$T/c.jsonl" --state "$S" --json
expect_rc 1 "import of a file repeating an id"
expect_json "$OUT" .imported 1 "same-file repeats: imported"
expect_json "$OUT" .duplicates 1 "same-file repeats: the identical repeat is already present"
expect_json "$OUT" '.rejections[0].line' 3 "same-file repeats: the changed repeat's line"
expect_contains "$(json_get "$OUT" '.rejections[0].reason')" "\"JD-040\"" \
  "same-file repeats: the reason names the id"
run "$EDGE" verify --state "$S"
expect_rc 0 "verify after conflicts"
