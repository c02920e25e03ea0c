#!/usr/bin/env bash
# Alert life cycle and delivery with a running hub:
#   - a complaint without a decision raises rule 5; the late decision arrives
#     later and resolves it ("resolved by a late record");
#   - an urgent start without approval raises rule 6; a supervisor's
#     `justification` record naming the alert closes it as justified;
#   - every state change is an event: `alerts --history`, `alerts --follow`,
#     the hub's own log (AlertEvents entries), the PUB socket (topic
#     alert.<unit>.<severity>) and three webhooks (generic, WeCom, DingTalk
#     formats) on a local receiver that fails the first request (retried);
#     the two bots are paced (docs/alerts.md "Pace"), so events that queue
#     may reach them merged into one message: they are counted by `status`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x "$HOOKD" ] && [ -x "$SUB" ] || fail "ft_hookd / ft_sub are not built"

NOW=2026-06-01T00:00:00+08:00
U='"unit":"unit-l"'
hub_init
edge_new car1 unit-l
HP=$(free_port)
"$HOOKD" "$HP" "$T/hooks.txt" 1 $((90 * SLOW)) &
PIDS+=("$!")
# The PUB socket admits only keys on the hub's list (fieldtrail-hub subscriber).
sub_pub=$("$SUB" --keygen "$T/sub.keys")
"$HUB" subscriber add "$sub_pub" --name "lifecycle test" --state "$T/hub" >/dev/null ||
  fail "subscriber add failed"
"$SUB" --server-key "$HUB_KEY" --keys "$T/sub.keys" "tcp://127.0.0.1:$PUB_PORT" alert. \
  "$T/pub.txt" $((90 * SLOW)) &
PIDS+=("$!")
log_before=$("$HUB" status --state "$T/hub" --json | jget hublog_entries)

cat >"$T/one.jsonl" <<JSON
{"type":"complaint_registered","id":"late-1","case":"L-LATE",$U,"time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
{"type":"initiation_urgent","id":"just-1","case":"L-JUST",$U,"time":"2026-05-20T09:00:00+08:00","fields":{"reason":"正在施工"}}
JSON
edge_import car1 "$T/one.jsonl"
hub_start --now "$NOW" --webhook "generic=http://127.0.0.1:$HP/generic" \
  --webhook "wecom=http://127.0.0.1:$HP/wecom" --webhook "dingtalk=http://127.0.0.1:$HP/ding"
"$HUB" alerts --state "$T/hub" --follow --brief >"$T/follow.txt" 2>&1 &
FOLLOW=$!
PIDS+=("$FOLLOW")
edge_sync car1
wait_indexed 2
start=$SECONDS
until [ "$("$HUB" alerts --state "$T/hub" --brief --state-filter open | wc -l)" = 2 ]; do
  [ $((SECONDS - start)) -lt $((20 * SLOW)) ] || fail "the two alerts did not open"
  sleep 0.2
done
# --state is the state directory only: the old filter spelling is refused
# with a pointer to --state-filter (no directory "open" exists here).
rc=0
(cd "$T" && "$HUB" alerts --state "$T/hub" --brief --state open) >"$T/oldflag.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "alerts --state open: exit $rc, expected 2"
grep -q -- '--state-filter open' "$T/oldflag.out" || fail "alerts --state open does not point to --state-filter: $(cat "$T/oldflag.out")"
ID6=$("$HUB" alerts --state "$T/hub" --json --case L-JUST | jget id)
[ ${#ID6} = 16 ] || fail "no alert id for L-JUST: $ID6"

cat >"$T/two.jsonl" <<JSON
{"type":"complaint_decision","id":"late-2","case":"L-LATE",$U,"time":"2026-05-30T09:00:00+08:00","fields":{"accepted":true,"reason":"受理"}}
{"type":"justification","id":"just-2","case":"L-JUST",$U,"time":"2026-05-31T09:00:00+08:00","fields":{"alert":"$ID6","reason":"审批表已线下补办，系统录入延误"}}
JSON
edge_import car1 "$T/two.jsonl"
edge_sync car1
wait_indexed 4
start=$SECONDS
# bots_sent: the events the WeCom and DingTalk hooks delivered (status)
bots_sent() {
  "$HUB" status --state "$T/hub" --json | grep -o '"hook":"\(wecom\|dingtalk\) ([^"]*)","sent":[0-9]*' |
    grep -o '[0-9]*$' | awk '{ s += $1 } END { print s + 0 }'
}
until [ "$(grep -c '^/generic ' "$T/hooks.txt" 2>/dev/null || true)" -ge 4 ] && [ "$(bots_sent)" -ge 8 ]; do
  [ $((SECONDS - start)) -lt $((60 * SLOW)) ] || fail "webhooks: $(bots_sent) of 8 bot events, deliveries: $(cat "$T/hooks.txt" 2>/dev/null)"
  sleep 0.2
done
# lines_at_least N FILE: FILE has N lines or more.
lines_at_least() { [ "$(wc -l <"$2" 2>/dev/null || echo 0)" -ge "$1" ]; }
# `alerts --follow` polls every 0.2 s and ft_sub receives on its own time:
# wait (bounded) until each has printed the four state changes, instead of
# stopping them at a fixed moment; more than four is caught below.
start=$SECONDS
until lines_at_least 4 "$T/follow.txt" && lines_at_least 4 "$T/pub.txt"; do
  [ $((SECONDS - start)) -lt $((20 * SLOW)) ] ||
    fail "alerts --follow / PUB did not print 4 events: $(cat "$T/follow.txt" "$T/pub.txt" 2>/dev/null)"
  sleep 0.2
done
sleep 0.5
hub_stop
stop_pid "$FOLLOW"
check_alerts lifecycle

echo "== history: four state changes, in order"
"$HUB" alerts --state "$T/hub" --history --brief >"$T/history.txt"
[ "$(wc -l <"$T/history.txt")" = 4 ] || fail "history: $(cat "$T/history.txt")"
[ "$(head -n 2 "$T/history.txt" | cut -d'|' -f4 | tr '\n' ' ')" = "open open " ] &&
  [ "$(tail -n 2 "$T/history.txt" | cut -d'|' -f1,4 | LC_ALL=C sort | tr '\n' ' ')" = "5|resolved 6|justified " ] ||
  fail "history order: $(cat "$T/history.txt")"
"$HUB" alerts --state "$T/hub" --history --json --case L-JUST | grep '"state":"justified"' |
  grepq 'justified by .*审批表已线下补办' || fail "the justification's reason is not in the history"
diff <(sort "$T/history.txt") <(sort "$T/follow.txt") >/dev/null || fail "alerts --follow printed: $(cat "$T/follow.txt")"
log_after=$("$HUB" status --state "$T/hub" --json | jget hublog_entries)
# One AlertEvents entry per evaluation batch: the four events are in one to
# four entries (the webhooks below read all four from there).
gained=$((log_after - log_before))
[ "$gained" -ge 1 ] && [ "$gained" -le 4 ] ||
  fail "the hub log gained $gained entries, expected the 4 alert events in 1 to 4 AlertEvents entries"

echo "== PUB: four messages, topics by unit and severity"
[ "$(grep -c '^alert\.' "$T/pub.txt")" = 4 ] || fail "PUB messages: $(cat "$T/pub.txt")"
grep -q '^alert\.unit-l\.medium {.*"state":"resolved"' "$T/pub.txt" || fail "PUB: no resolved event on alert.unit-l.medium"
grep -q '^alert\.unit-l\.high {.*"state":"justified"' "$T/pub.txt" || fail "PUB: no justified event on alert.unit-l.high"

echo "== webhooks: each of the three got the four events (the first try failed and was retried)"
[ "$(grep -c "^/generic " "$T/hooks.txt")" = 4 ] || fail "webhook /generic: $(grep "^/generic " "$T/hooks.txt")"
for p in wecom ding; do
  n=$(grep -c "^/$p " "$T/hooks.txt" || true)
  [ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "webhook /$p: $n messages for 4 events"
done
grep '^/generic ' "$T/hooks.txt" | grepq "\"alert_id\":\"$ID6\"" || fail "generic body lacks the alert"
grep '^/wecom ' "$T/hooks.txt" | grepq '"msgtype":"markdown","markdown":{"content":"### fieldtrail 执法记录告警' ||
  fail "WeCom body: $(grep '^/wecom ' "$T/hooks.txt" | head -n 1)"
grep '^/ding ' "$T/hooks.txt" | grepq '"msgtype":"markdown","markdown":{"title":"fieldtrail 执法记录告警' ||
  fail "DingTalk body"
grep -q 'not delivered (try 1 of' "$T/hub/hub.log" || fail "the failed first try should be logged and retried"
