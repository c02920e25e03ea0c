#!/usr/bin/env bash
# Soak test of log sync: a hub and three edges on 127.0.0.1, vehicles
# recording all the time, and kill -9 of the hub or of an edge's sync daemon
# at random moments, for SECONDS (default 600). Then everything is let to
# settle and checked: every record at the hub exactly once, every chain
# verified, every edge holding receipts for all of it, no integrity event.
#
# Usage: ops/soak-sync.sh [SECONDS] [SEED]     (uses the build in build/)
#        FT_BUILD=build-asan ops/soak-sync.sh 1800
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${1:-600}
export FT_SYNC_SEED=${2:-$(( $(date +%s) % 100000 ))}
export FT_BUILD=${FT_BUILD:-$root/build}
export FT_SRC=$root
export FT_TEST_TMP=${FT_TEST_TMP:-$root/var/soak}
case "$FT_BUILD" in /*) ;; *) FT_BUILD=$root/$FT_BUILD ;; esac
[ -x "$FT_BUILD/hub/fieldtrail-hub" ] || {
  echo "soak-sync: build first: cmake -S . -B build && cmake --build build" >&2
  exit 1
}
# lib.sh names the test after $0 and keeps its scratch directory on failure.
source "$root/tests/sync/lib.sh"

echo "soak for ${DURATION}s, seed $FT_SYNC_SEED (repeat with: $0 $DURATION $FT_SYNC_SEED)"
RANDOM=$FT_SYNC_SEED
hub_init
hub_start
EDGES=(car1 car2 car3)
for v in "${EDGES[@]}"; do
  edge_new "$v"
  edge_records "$v" 2000
  edge_start "$v" --batch 32 --heartbeat-ms 500 --reconnect-max-ms 1000
done
(
  next=2000
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
hub_kills=0 edge_kills=0 start=$SECONDS
while [ $((SECONDS - start)) -lt "$DURATION" ]; do
  sleep "$(ms $((100 + RANDOM % 2900)))"
  if [ $((RANDOM % 2)) = 0 ]; then
    hub_kill9
    hub_kills=$((hub_kills + 1))
    sleep "$(ms $((RANDOM % 1500)))"
    hub_start
  else
    v=${EDGES[$((RANDOM % 3))]}
    edge_kill9 "$v"
    edge_kills=$((edge_kills + 1))
    sleep "$(ms $((RANDOM % 1500)))"
    edge_start "$v" --batch 32 --heartbeat-ms 500 --reconnect-max-ms 1000
  fi
  held=$("$HUB" status --state "$T/hub" --json | jget entries)
  echo "$((SECONDS - start))s: $hub_kills hub kills, $edge_kills edge kills; hub holds $held entries"
done
touch "$T/stop-recording"
wait "$RECORDER"
wait_until 120 "edges synced after the soak" all_synced car1 car2 car3
check_converged car1 car2 car3
echo "soak passed: ${DURATION}s, $hub_kills hub kills, $edge_kills edge kills, seed $FT_SYNC_SEED"
