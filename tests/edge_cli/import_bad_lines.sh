#!/usr/bin/env bash
# Pins the reject-vs-keep rule of import (docs/records.md): a file with a
# non-JSON line, an unknown type and an `end` before `start` among good lines
# keeps the good lines (including the one after the bad ones), names each bad
# line by number and reason on stderr, leaves nothing of the bad lines in the
# log and exits 1; with --json the rejections come as an array.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

F=$T/mixed.jsonl
cat >"$F" <<'JSONL'
{"type":"patrol","id":"good-1","start":"2026-03-02T08:30:00+08:00","end":"2026-03-02T11:40:00+08:00"}
this line is not JSON
{"type":"teleportation","id":"bad-type","case":"NDG-2026-031","time":"2026-03-02T12:00:00+08:00"}
{"type":"site_inspection","id":"bad-window","case":"NDG-2026-031","start":"2026-03-02T15:25:00+08:00","end":"2026-03-02T14:30:00+08:00"}

{"type":"decision","id":"good-2","case":"NDG-2026-031","time":"2026-03-12T09:00:00+08:00","fields":{"decision_no":"JD-031"}}
JSONL

S=$T/state
init_state "$S"
run "$EDGE" import "$F" --state "$S"
expect_rc 1 "import of a file with bad lines"
expect_contains "$OUT" "2 imported, 0 already present, 3 rejected" "import summary"
expect_contains "$ERR" "line 2: not valid JSON" "the non-JSON line is named"
expect_contains "$ERR" "line 3: unknown record type \"teleportation\"" "the unknown type is named"
expect_contains "$ERR" "line 4: \"end\" is before \"start\"" "the reversed window is named"
expect_not_contains "$ERR" "line 1:" "good line 1 is not reported"
expect_not_contains "$ERR" "line 5:" "the blank line is not reported"
expect_not_contains "$ERR" "line 6:" "good line 6 is not reported"
expect_eq "$(grep -c '^line ' <<<"$ERR")" 3 "lines named on stderr"

run "$EDGE" log --state "$S" --json
expect_eq "$(json_get "$OUT" .body.id | tr '\n' ' ')" "good-1 good-2 " "records in the log"
run "$EDGE" verify --state "$S"
expect_rc 0 "verify after an import with rejected lines"

# Importing it again: the good lines are already there, the bad still named.
run "$EDGE" import "$F" --state "$S"
expect_rc 1 "re-import of a file with bad lines"
expect_contains "$OUT" "0 imported, 2 already present, 3 rejected" "re-import summary"

# --json: stdout is one object; the rejections are an array of {line, reason}.
J=$T/json-state
init_state "$J"
run "$EDGE" import "$F" --state "$J" --json
expect_rc 1 "import --json of a file with bad lines"
json_valid "$OUT" || fail "import --json is not JSON"
expect_json "$OUT" .imported 2 "import --json imported"
expect_json "$OUT" .rejected 3 "import --json rejected"
expect_json "$OUT" .complete true "import --json complete (rejections do not stop an import)"
expect_json "$OUT" '.rejections[0].line' 2 "first rejection's line"
expect_json "$OUT" '.rejections[1].line' 3 "second rejection's line"
expect_json "$OUT" '.rejections[2].line' 4 "third rejection's line"
expect_json "$OUT" '.rejections[3].line' null "no fourth rejection"
expect_contains "$(json_get "$OUT" '.rejections[0].reason')" "not valid JSON" "first reason"
expect_contains "$(json_get "$OUT" '.rejections[1].reason')" "teleportation" "second reason"
expect_contains "$(json_get "$OUT" '.rejections[2].reason')" "before" "third reason"
expect_eq "$(head_of "$J" | cut -d' ' -f1)" 2 "log head after import --json"
