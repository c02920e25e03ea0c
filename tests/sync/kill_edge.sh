#!/usr/bin/env bash
# kill -9 of edge sync daemons at random points while they sync and their
# vehicles keep recording, FT_SYNC_KILLS times (default 20, 10 under ASan; seeded by
# FT_SYNC_SEED, printed): afterwards every record is at the hub exactly once,
# verified, with receipts at every edge, and no integrity event.
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
hub_start
EDGES=(car1 car2 car3)
for v in "${EDGES[@]}"; do
  edge_new "$v"
  edge_records "$v" "$N"
  edge_start "$v" --batch 16 --heartbeat-ms 500 --reconnect-max-ms 400
done

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
for k in $(seq "$KILLS"); do
  v=${EDGES[$((RANDOM % 3))]}
  up=$((50 + RANDOM % 950))
  sleep "$(ms "$up")"
  edge_kill9 "$v"
  echo "kill $k: $v's daemon killed -9 after $(ms "$up") s; hub holds $(hub_held "$v") of its entries"
  sleep "$(ms $((RANDOM % 300)))"
  edge_start "$v" --batch 16 --heartbeat-ms 500 --reconnect-max-ms 400
done
touch "$T/stop-recording"
wait "$RECORDER"

wait_until 90 "edges synced after the last kill" all_synced car1 car2 car3
check_converged car1 car2 car3
