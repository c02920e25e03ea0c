#!/usr/bin/env bash
# kill -9 of the hub at random points while three edges sync and keep
# recording, FT_SYNC_KILLS times (default 20, 10 under ASan; seeded by
# FT_SYNC_SEED, printed):
# afterwards every record is at the hub exactly once, every chain verifies,
# every edge holds receipts for everything, and no integrity event was raised
# (a crash is not tampering).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SEED=${FT_SYNC_SEED:-$(( $(date +%s) % 100000 ))}
KILLS=${FT_SYNC_KILLS:-$((FT_SYNC_SCALE > 1 ? 10 : 20))} # 10 under ASan
N=${FT_SYNC_RECORDS:-$((8000 / FT_SYNC_SCALE))}
echo "seed $SEED (repeat with FT_SYNC_SEED=$SEED), $KILLS kills, $N records per edge to start"
RANDOM=$SEED
REC_PAUSE=0.2 # between rounds of recording (imports are slow processes under ASan)
if [ "$FT_SYNC_SLOW" -gt 1 ]; then REC_PAUSE=1.5; fi

hub_init
for v in car1 car2 car3; do
  edge_new "$v"
  edge_records "$v" "$N"
  edge_start "$v" --batch 16 --heartbeat-ms 500 --reconnect-max-ms 400
done

# Vehicles keep working throughout: 30 records each every 0.2 s.
(
  next=$N
  while [ ! -f "$T/stop-recording" ]; do
    for v in car1 car2 car3; do
      "$SIM" gen "$v" 30 "$next" | "$EDGE" import - --state "$T/$v" >/dev/null
    done
    next=$((next + 30))
    sleep "$REC_PAUSE"
  done
) &
RECORDER=$!
PIDS+=("$RECORDER")

ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
prev=0 mid=0
for k in $(seq "$KILLS"); do
  hub_start
  up=$((50 + RANDOM % 950))
  sleep "$(ms "$up")"
  hub_kill9
  st=$("$HUB" status --state "$T/hub" --json)
  held=$(jget entries <<<"$st")
  backlog=$(jget backlog <<<"$st") # as the edges last reported it to the hub
  if [ $((held - prev)) -gt 0 ] && [ "$backlog" -gt 0 ]; then
    mid=$((mid + 1))
  fi
  echo "kill $k: hub killed -9 after $(ms "$up") s: holds $held entries (+$((held - prev))), backlog $backlog"
  prev=$held
  sleep "$(ms $((RANDOM % 300)))"
done
touch "$T/stop-recording"
wait "$RECORDER"
echo "$mid of $KILLS kills hit while entries were being stored and more were waiting"

hub_start
wait_until 90 "edges synced after the last restart" all_synced car1 car2 car3
check_converged car1 car2 car3
