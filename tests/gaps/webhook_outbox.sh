#!/usr/bin/env bash
# Webhooks with the hub log as outbox (docs/alerts.md "Webhooks"), with a real
# hub and local receivers (ft_hookd):
#   a. receiver down: alerts raised, hub stopped (TERM), receiver started, hub
#      restarted -> every event arrives exactly once;
#   b. kill -9 of the hub while a slow receiver takes the events -> after the
#      restart no event is missing (duplicates allowed: counted and printed);
#   c. one hook is a black hole (accepts, never answers), another is live ->
#      the live one gets every event within seconds, and TERM still stops
#      the hub promptly;
#   d. hooks seen for the first time on a hub with old events get none of
#      them, only new ones (c's hooks are first-seen);
#   e. replay age: events older than alerts.webhook_max_age at the restart are
#      skipped, and the skip is logged;
# and `status` shows each hook by format and host (never the URL's key).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x "$HOOKD" ] || fail "ft_hookd is not built"

NOW=2026-06-01T00:00:00+08:00
U='"unit":"unit-w"'
hub_init
# Enough tries that no event is given up on while a receiver is down here
# (10 tries: about 4 min of backoff).
printf 'webhook_attempts = 10\n' >>"$T/hub/hub.conf"
edge_new car1 unit-w
OPEN=0

# raise N PREFIX: N complaints without a decision (rule 5 opens one alert
# each, case PREFIX-i), synced to the running hub; waits until they are open.
raise() {
  local i start
  : >"$T/raise.jsonl"
  for i in $(seq "$1"); do
    printf '{"type":"complaint_registered","id":"%s-%s","case":"%s-%s",%s,"time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}\n' \
      "$2" "$i" "$2" "$i" "$U" >>"$T/raise.jsonl"
  done
  edge_import car1 "$T/raise.jsonl"
  edge_sync car1
  OPEN=$((OPEN + $1))
  start=$SECONDS
  until [ "$("$HUB" alerts --state "$T/hub" --brief --state-filter open | wc -l)" -ge "$OPEN" ]; do
    [ $((SECONDS - start)) -lt $((30 * SLOW)) ] || fail "$OPEN alerts did not open"
    sleep 0.2
  done
}

lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# ids FILE: the distinct alert ids received (every event here opens its own alert)
ids() { if [ -f "$1" ]; then grep -o '"alert_id":"[0-9a-f]*"' "$1" | LC_ALL=C sort -u | wc -l; else echo 0; fi; }

# wait_ids FILE N SECONDS: until FILE holds N distinct alert ids.
wait_ids() {
  local start=$SECONDS
  until [ "$(ids "$1")" -ge "$2" ]; do
    [ $((SECONDS - start)) -lt "$3" ] || fail "$1: $(ids "$1") of $2 events after $3 s"
    sleep 0.2
  done
}

# wait_log TEXT: until the hub log has a line with TEXT.
wait_log() {
  local start=$SECONDS
  until grep -qF -- "$1" "$T/hub/hub.log"; do
    [ $((SECONDS - start)) -lt $((30 * SLOW)) ] || fail "the hub did not log: $1"
    sleep 0.2
  done
}

# stop_hub_timed: TERM; fails unless the hub stopped by itself within LIMIT s.
stop_hub_timed() {
  local before start
  before=$(grep -c 'hub stopped' "$T/hub/hub.log" || true)
  start=$SECONDS
  hub_stop
  [ "$(grep -c 'hub stopped' "$T/hub/hub.log" || true)" -gt "$before" ] ||
    fail "the hub did not stop cleanly on TERM (killed after 5 s)"
  echo "hub stopped on TERM in $((SECONDS - start)) s"
}

echo "== a. receiver down, hub restarted: every event exactly once"
HA=$(free_port)
hub_start --now "$NOW" --webhook "generic=http://127.0.0.1:$HA/a"
raise 6 A
wait_log 'not delivered (try 1 of 10)'
stop_hub_timed
grepq "webhook generic (127.0.0.1:$HA): 6 alert events not sent yet" <"$T/hub/hub.log" ||
  fail "the hub did not say at its stop how many events wait"
"$HOOKD" "$HA" "$T/a.txt" 0 $((300 * SLOW)) &
PIDS+=("$!")
hub_start --now "$NOW" --webhook "generic=http://127.0.0.1:$HA/a"
wait_ids "$T/a.txt" 6 $((20 * SLOW))
sleep 1.5
[ "$(lines "$T/a.txt")" = 6 ] || fail "a: $(lines "$T/a.txt") deliveries of 6 events: $(cat "$T/a.txt")"
[ "$(grep -c '"case":"A-' "$T/a.txt")" = 6 ] || fail "a: not the A events"
grepq "webhook generic (127.0.0.1:$HA): 6 alert events waiting since before the hub started; sending" \
  <"$T/hub/hub.log" || fail "a: the restart did not say what waits"
hub_stop

echo "== b. kill -9 while a slow receiver takes the events: none missing"
HB=$(free_port)
"$HOOKD" "$HB" "$T/b.txt" 0 $((300 * SLOW)) 400 &
PIDS+=("$!")
hub_start --now "$NOW" --webhook "generic=http://127.0.0.1:$HB/b"
raise 10 B
start=$SECONDS
until [ "$(lines "$T/b.txt")" -ge 2 ]; do
  [ $((SECONDS - start)) -lt $((20 * SLOW)) ] || fail "b: the slow receiver got nothing"
  sleep 0.05
done
kill -KILL "$HUB_PID"
wait "$HUB_PID" 2>/dev/null || true
got=$(lines "$T/b.txt")
[ "$got" -lt 10 ] || fail "b: all 10 arrived before the kill; the test proves nothing"
echo "b: $got of 10 events received when the hub was killed"
hub_start --now "$NOW" --webhook "generic=http://127.0.0.1:$HB/b"
wait_ids "$T/b.txt" 10 $((30 * SLOW))
sleep 1
total=$(lines "$T/b.txt")
[ "$(grep -c '"case":"B-' "$T/b.txt")" = "$total" ] || fail "b: events other than B's"
echo "b: 10 events, $total deliveries, $((total - 10)) duplicate(s) after kill -9 (at least once)"
[ $((total - 10)) -le 1 ] || fail "b: more than the one in flight was sent twice"
stop_hub_timed

echo "== c/d. a black hole beside a live hook; both first seen (no history)"
HC=$(free_port)
HD=$(free_port)
"$HOOKD" "$HC" "$T/c.txt" 0 $((300 * SLOW)) -1 &
PIDS+=("$!")
"$HOOKD" "$HD" "$T/d.txt" 0 $((300 * SLOW)) &
PIDS+=("$!")
SECRET=k3y-$RANDOM-s3cr3t
hub_start --now "$NOW" --webhook "generic=http://127.0.0.1:$HC/hole" \
  --webhook "wecom=http://127.0.0.1:$HD/live?key=$SECRET"
wait_log "webhook wecom (127.0.0.1:$HD): new, starts with the next alert event"
sleep 2
[ "$(lines "$T/d.txt")" = 0 ] || fail "d: a first-seen hook got history: $(cat "$T/d.txt")"
raise 5 C
start=$SECONDS
# the WeCom hook is paced (docs/alerts.md "Pace"): the five may come one by
# one or merged; each names its case
c_cases() { if [ -f "$T/d.txt" ]; then grep -o 'C-[1-5]' "$T/d.txt" | LC_ALL=C sort -u | wc -l; else echo 0; fi; }
until [ "$(c_cases)" -ge 5 ]; do
  [ $((SECONDS - start)) -lt $((8 * SLOW)) ] ||
    fail "c: the live hook got $(lines "$T/d.txt") of 5 events in $((8 * SLOW)) s beside a black hole"
  sleep 0.2
done
echo "c: the live hook had all 5 events $((SECONDS - start)) s after the sync"
sleep 1
[ "$(lines "$T/d.txt")" -le 5 ] && ! grep -q '[AB]-[0-9]' "$T/d.txt" ||
  fail "d: the live hook got $(lines "$T/d.txt") messages, expected the 5 new events only: $(cat "$T/d.txt")"
# the black hole's first try ends with the timeout (webhook_timeout_ms, 5 s)
wait_log "webhook generic (127.0.0.1:$HC): alert"
wait_log "open not delivered (try 1 of 10): Timeout was reached"
"$HUB" status --state "$T/hub" --json >"$T/status.json"
"$HUB" status --state "$T/hub" >"$T/status.txt"
grepq "\"hook\":\"wecom (127.0.0.1:$HD)\",\"sent\":5,\"failed\":0,\"backlog\":0" <"$T/status.json" ||
  fail "status --json, live hook: $(cat "$T/status.json")"
grepq "\"hook\":\"generic (127.0.0.1:$HC)\",\"sent\":0,\"failed\":0,\"last_error\":\"[^\"]*\",\"backlog\":5" \
  <"$T/status.json" || fail "status --json, black hole: $(cat "$T/status.json")"
grepq "webhook:          wecom (127.0.0.1:$HD): 0 waiting, 5 sent, 0 given up; last sent 20" <"$T/status.txt" ||
  fail "status: $(cat "$T/status.txt")"
stop_hub_timed
for f in "$T/hub/hub.log" "$T/status.json" "$T/status.txt" "$T/hub/webhooks.cursors"; do
  if grep -qF -e "$SECRET" -e "/hole" "$f"; then fail "$f shows a webhook URL's path or key"; fi
done

echo "== e. replay age: events older than alerts.webhook_max_age are skipped, and said so"
HE=$(free_port)
hub_start --now "$NOW" --webhook "dingtalk=http://127.0.0.1:$HE/e"
raise 3 E
stop_hub_timed
printf 'webhook_max_age = 4\n' >>"$T/hub/hub.conf"
sleep 5
"$HOOKD" "$HE" "$T/e.txt" 0 $((300 * SLOW)) &
PIDS+=("$!")
hub_start --now "$NOW" --webhook "dingtalk=http://127.0.0.1:$HE/e"
wait_log "webhook dingtalk (127.0.0.1:$HE): 3 alert events older than 4 s skipped"
raise 1 F
start=$SECONDS
until [ "$(lines "$T/e.txt")" -ge 1 ]; do
  [ $((SECONDS - start)) -lt $((10 * SLOW)) ] || fail "e: the new event was not sent"
  sleep 0.2
done
sleep 1
[ "$(lines "$T/e.txt")" = 1 ] && grepq 'F-1' <"$T/e.txt" || fail "e: got $(cat "$T/e.txt")"
stop_hub_timed
