#!/usr/bin/env bash
# The alert PUB socket admits only subscriber keys on the hub's list: an
# allowed subscriber receives the alert a real edge's records raise, one with
# a key that is not on the list and one without CurveZMQ receive nothing;
# the refusals are logged and audited once, aggregated; a logged-in
# dashboard user polling throughout is answered in under 2 s (p95).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sec_hub_init
sec_web_on
allowed=$("$SUB" --keygen "$T/a.keys")
"$SUB" --keygen "$T/b.keys" >/dev/null
"$HUB" subscriber add "$allowed" --name "duty desk" --state "$T/hub" | grepq "allowed" ||
  fail "subscriber add failed"
"$HUB" subscriber list --state "$T/hub" | grepq "$allowed  duty desk" || fail "list lacks the key"
cat >"$T/rec.jsonl" <<'JSON'
{"type":"complaint_registered","id":"pub-1","case":"P-1","unit":"unit-car","time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
JSON
sec_hub_start --now 2026-06-01T00:00:00+08:00
poll_start
"$SUB" --server-key "$HUB_KEY" --keys "$T/a.keys" "tcp://127.0.0.1:$PUB_PORT" alert. "$T/a.txt" 40 &
PIDS+=("$!")
"$SUB" --server-key "$HUB_KEY" --keys "$T/b.keys" "tcp://127.0.0.1:$PUB_PORT" alert. "$T/b.txt" 40 &
PIDS+=("$!")
"$SUB" "tcp://127.0.0.1:$PUB_PORT" alert. "$T/c.txt" 40 &
PIDS+=("$!")
sleep 2
"$EDGE" import "$T/rec.jsonl" --state "$T/car" >/dev/null || fail "import failed"
edge_records car 20
edge_start car
got() { [ -s "$T/a.txt" ]; }
wait_until 30 "the allowed subscriber receives the alert" got
sleep 3
a=$(wc -l <"$T/a.txt")
b=$(cat "$T/b.txt" 2>/dev/null | wc -l)
c=$(cat "$T/c.txt" 2>/dev/null | wc -l)
echo "allowed subscriber: $a message(s); unknown key: $b; no CurveZMQ: $c"
poll_stop
[ "$b" = 0 ] && [ "$c" = 0 ] || fail "a subscriber without an allowed key received alerts"
grep -q "refused an alert subscriber from .* is not on the list" "$T/hub/hub.log" ||
  fail "the refused subscriber is not in the log"
grep -q 'alert subscriber "duty desk" connected' "$T/hub/hub.log" || fail "the allowed one is not logged"
"$HUB" subscriber remove "$allowed" --state "$T/hub" | grepq "removed" || fail "remove failed"
[ "$("$HUB" subscriber list --state "$T/hub" --json | wc -l)" = 0 ] || fail "the list is not empty"
edge_stop car
hub_stop
refusal_audits=$(grep -a -o "subscriber handshakes refused" "$T/hub/hublog/data.mdb" | wc -l)
echo "audit entries of refused subscribers: $refusal_audits"
[ "$refusal_audits" -ge 1 ] && [ "$refusal_audits" -le 2 ] || fail "$refusal_audits audit entries"
