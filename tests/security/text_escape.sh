#!/usr/bin/env bash
# Text someone supplied cannot forge a log line or drive a terminal: a
# vehicle enrolled under a unit name with a newline and an ESC sequence, and
# a justification whose reason has them too (from a real edge's records):
# the hub's log shows both escaped (\x0A, \x1B) on one line, never a line of
# their own and never a raw ESC; so do `devices` and `alerts --history`. A
# logged-in dashboard user polling throughout is answered in under 2 s (p95).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
FORGED='2026-01-01T00:00:00Z fieldtrail-hub error: forged'
UNIT=$'unit-x\n'"$FORGED"$'\e[31m'
hub_init
sec_web_on
# (the edge's own config file takes no newline: the names staff type at the hub)
"$EDGE" init --state "$T/car" --unit unit-x --vehicle car --hub "$HUB_EP" \
  --hub-key "$HUB_KEY" >/dev/null || fail "edge init failed"
"$HUB" enroll "$T/car/device.pub" --unit "$UNIT" --vehicle $'car\e]0;title\a' \
  --state "$T/hub" >/dev/null || fail "enroll failed"
cat >"$T/one.jsonl" <<'JSON'
{"type":"initiation_urgent","id":"just-1","case":"T-ESC","unit":"unit-x","time":"2026-05-20T09:00:00+08:00","fields":{"reason":"正在施工"}}
JSON
"$EDGE" import "$T/one.jsonl" --state "$T/car" >/dev/null || fail "import failed"
sec_hub_start --now 2026-06-01T00:00:00+08:00
poll_start
edge_start car
open_alert() { "$HUB" alerts --state "$T/hub" --json --case T-ESC | grepq '"rule":"6"'; }
wait_until 30 "rule 6 opens" open_alert
ID=$("$HUB" alerts --state "$T/hub" --json --case T-ESC | grep '"rule":"6"' | jget id)
REASON='late entry\n'"$FORGED"' \u001b[2J'
cat >"$T/two.jsonl" <<JSON
{"type":"justification","id":"just-2","case":"T-ESC","unit":"unit-x","time":"2026-05-31T09:00:00+08:00","fields":{"alert":"$ID","reason":"$REASON"}}
JSON
"$EDGE" import "$T/two.jsonl" --state "$T/car" >/dev/null || fail "import of the justification failed"
justified() { "$HUB" alerts --state "$T/hub" --history --brief --case T-ESC | grepq "justified"; }
wait_until 30 "the alert is justified" justified
sleep 1
poll_stop
edge_stop car
hub_stop
log=$T/hub/hub.log
esc=$(grep -c $'\e' "$log" || true)
forged=$(grep -c "^$FORGED" "$log" || true)
echo "hub log: $(wc -l <"$log") lines, $esc with a raw ESC, $forged forged lines"
grep -F 'unit-x\x0A2026-01-01T00:00:00Z fieldtrail-hub error: forged\x1B[31m' "$log" | sed -n 1p
grep -F 'justified' "$log" | sed -n 1p
[ "$esc" = 0 ] || fail "a raw ESC reached the log"
[ "$forged" = 0 ] || fail "a forged line is in the log"
grep -qF 'connected' "$log" && grep -F 'connected' "$log" | grepq -F 'unit-x\x0A2026-01-01T00:00:00Z fieldtrail-hub error: forged\x1B[31m' ||
  fail "the unit name is not shown escaped in the log"
grep -F 'justified' "$log" | grepq -F 'late entry\x0A2026-01-01T00:00:00Z fieldtrail-hub error: forged \x1B[2J' ||
  fail "the justification's reason is not shown escaped in the log"
devs=$("$HUB" devices --state "$T/hub")
hist=$("$HUB" alerts --state "$T/hub" --history --case T-ESC)
echo "devices: $(grep -F 'unit-x' <<<"$devs")"
echo "alerts --history: $(grep -F 'late entry' <<<"$hist" | sed -n 1p)"
! grep -q $'\e' <<<"$devs$hist" || fail "a raw ESC reached the CLI"
! grep -q "^$FORGED" <<<"$devs$hist" || fail "a forged line in the CLI"
grepq -F 'unit-x\x0A2026' <<<"$devs" || fail "devices does not show the unit escaped"
grepq -F 'late entry\x0A2026-01-01T00:00:00Z fieldtrail-hub error: forged \x1B[2J' <<<"$hist" ||
  fail "alerts --history does not show the reason escaped"
