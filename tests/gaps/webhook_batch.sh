#!/usr/bin/env bash
# A batch of many alert events through the outbox across kill -9
# (docs/alerts.md "Delivery: the hub log is the outbox"): 120 complaints
# without a decision are synced at once, so the gap engine opens 120 alerts
# in a few evaluation batches, each batch ONE AlertEvents entry in the hub
# log. A slow generic receiver takes them one by one; the hub is killed
# (-9) twice while it delivers, with the hook's cursor inside a batch entry
# ("part" > 0 in webhooks.cursors: the events of the entry already
# finished), and started again. In the end every event arrived,
# and no more were sent twice than the one in flight at each kill
# (at least once, never lost, never replayed from the entry's start).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x "$HOOKD" ] || fail "ft_hookd is not built"

NOW=2026-06-01T00:00:00+08:00
N=120
hub_init
printf 'webhook_attempts = 10\n' >>"$T/hub/hub.conf"
edge_new car1 unit-b
HP=$(free_port)
HOOK="generic=http://127.0.0.1:$HP/b"
# 60 ms per request: the 120 events take about 7 s, time for two kills.
"$HOOKD" "$HP" "$T/b.txt" 0 $((300 * SLOW)) 60 &
PIDS+=("$!")

lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
ids() { if [ -f "$1" ]; then grep -o '"alert_id":"[0-9a-f]*"' "$1" | LC_ALL=C sort -u | wc -l; else echo 0; fi; }
# the hook's cursor in the cursors file: "SEQ PART"
cursor() {
  python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["hooks"][0]; print(h["seq"], h.get("part", 0))' \
    "$T/hub/webhooks.cursors"
}

hub_start --now "$NOW" --webhook "$HOOK"
log_before=$("$HUB" status --state "$T/hub" --json | jget hublog_entries)
for i in $(seq "$N"); do
  printf '{"type":"complaint_registered","id":"K-%s","case":"K-%s","unit":"unit-b","time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}\n' \
    "$i" "$i"
done >"$T/many.jsonl"
edge_import car1 "$T/many.jsonl"
edge_sync car1
start=$SECONDS
until [ "$("$HUB" alerts --state "$T/hub" --brief --state-filter open | wc -l)" -ge "$N" ]; do
  [ $((SECONDS - start)) -lt $((30 * SLOW)) ] || fail "$N alerts did not open"
  sleep 0.2
done
log_after=$("$HUB" status --state "$T/hub" --json | jget hublog_entries)
entries=$((log_after - log_before))
echo "$N alert events in $entries hub-log entries"
# batched: far fewer entries than events (one per evaluation batch)
[ "$entries" -ge 1 ] && [ $((entries * 4)) -le "$N" ] ||
  fail "$N events took $entries hub-log entries: not batched"

kills=0 inside=0
for at in 15 60; do
  start=$SECONDS
  until [ "$(lines "$T/b.txt")" -ge "$at" ]; do
    [ $((SECONDS - start)) -lt $((30 * SLOW)) ] || fail "the receiver got $(lines "$T/b.txt") of $at"
    sleep 0.05
  done
  kill -KILL "$HUB_PID"
  wait "$HUB_PID" 2>/dev/null || true
  kills=$((kills + 1))
  got=$(lines "$T/b.txt")
  [ "$got" -lt "$N" ] || fail "all $N arrived before kill $kills; the test proves nothing"
  read -r cseq cpart < <(cursor)
  echo "kill $kills: $got deliveries so far; the cursor is entry $cseq + $cpart event(s) of the next"
  [ "$cpart" -gt 0 ] && inside=$((inside + 1))
  hub_start --now "$NOW" --webhook "$HOOK"
  # the restarted hub says what waits (once per start; bounded wait: the
  # hook thread says it when it starts)
  start=$SECONDS
  until [ "$(grep -c 'alert events waiting since before the hub started; sending' "$T/hub/hub.log")" -ge "$kills" ]; do
    [ $((SECONDS - start)) -lt $((20 * SLOW)) ] || fail "restart $kills did not say what waits"
    sleep 0.1
  done
done

# (a kill may land exactly between two batch entries; both doing so would
# leave the cursor inside a batch untested)
[ "$inside" -ge 1 ] || fail "no kill found the cursor inside a batch entry"
start=$SECONDS
until [ "$(ids "$T/b.txt")" -ge "$N" ]; do
  [ $((SECONDS - start)) -lt $((60 * SLOW)) ] || fail "$(ids "$T/b.txt") of $N events after the restarts"
  sleep 0.2
done
sleep 1
total=$(lines "$T/b.txt")
[ "$(grep -c '"case":"K-' "$T/b.txt")" = "$total" ] || fail "events other than the K cases"
[ "$(ids "$T/b.txt")" = "$N" ] || fail "$(ids "$T/b.txt") distinct events, expected $N"
echo "$N events, $total deliveries, $((total - N)) duplicate(s) over $kills kill -9 (at least once)"
[ $((total - N)) -le "$kills" ] || fail "more than the one in flight at each kill was sent twice"
# each event once in the order of the log, except a repeat at a kill
"$HUB" status --state "$T/hub" --json | grep -q '"backlog":0' || fail "status: the hook still has a backlog"
hub_stop
