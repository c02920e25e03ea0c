#!/usr/bin/env bash
# Soak: for FT_SOAK_SECONDS (default 60; 30 in the ASan tree) three vehicles keep recording and
# ingesting media while the hub and the edges' sync daemons are killed -9 at
# seeded random points (one victim at a time, 0.3-3 s apart) and restarted.
# Ends with the convergence checker. ops/soak.sh DURATION runs it for long.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seed_init
SECS=${FT_SOAK_SECONDS:-$((FT_SLOW > 1 ? 30 : 60))} # 30 s under ASan
hub_init
for v in car1 car2 car3; do
  edge_new "$v"
  edge_records "$v" 500
done
edge_media car1 2000 1
media=1
hub_start
EDGE_ARGS=(--batch 32 --heartbeat-ms 500 --reconnect-max-ms 400)
for v in car1 car2 car3; do
  edge_start "$v" "${EDGE_ARGS[@]}"
done
(
  next=500
  while [ ! -f "$T/stop-recording" ]; do
    for v in car1 car2 car3; do
      "$SIM" gen "$v" 20 "$next" | "$EDGE" import - --state "$T/$v" >/dev/null
    done
    next=$((next + 20))
    sleep 0.3
  done
) &
RECORDER=$!
PIDS+=("$RECORDER")

ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
kills=0 hub_kills=0 edge_kills=0
start=$SECONDS
while [ $((SECONDS - start)) -lt "$SECS" ]; do
  sleep "$(ms $((300 + RANDOM % 2700)))"
  victim=$((RANDOM % 4))
  if [ "$victim" = 0 ]; then
    hub_kill9
    hub_kills=$((hub_kills + 1))
    sleep "$(ms $((RANDOM % 800)))"
    hub_start
  else
    v=car$victim
    edge_kill9 "$v"
    edge_kills=$((edge_kills + 1))
    sleep "$(ms $((RANDOM % 800)))"
    edge_start "$v" "${EDGE_ARGS[@]}"
  fi
  kills=$((kills + 1))
  if [ $((kills % 10)) = 0 ]; then
    v=car$((1 + RANDOM % 3))
    edge_media "$v" $((100 + RANDOM % 900)) 1
    media=$((media + 1))
    echo "soak: $kills kills after $((SECONDS - start)) s; hub holds $("$HUB" status --state "$T/hub" --json | jget entries) entries"
  fi
  revive
done
touch "$T/stop-recording"
wait "$RECORDER" 2>/dev/null || true
echo "soak: $kills kills -9 survived in $((SECONDS - start)) s (hub $hub_kills, edges $edge_kills), $media media files"
wait_until 180 "logs at the hub after the soak" alive_and logs_synced car1 car2 car3
wait_until 240 "media complete after the soak" alive_and media_complete "$media"
crash_report
converge car1 car2 car3
echo "soak figures: seconds=$SECS kills=$kills hub_kills=$hub_kills edge_kills=$edge_kills $CONVERGE_LINE"
