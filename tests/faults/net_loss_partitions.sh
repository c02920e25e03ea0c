#!/usr/bin/env bash
# Network faults between three edges and the hub, which run in network
# namespaces of their own joined by a veth pair (nftables in the edges'
# namespace): random loss, loss in bursts (drop-all windows of 0.2-1.5 s)
# and partitions that come and go (3-6 s), all seeded, while the vehicles
# keep recording and ingesting media. Afterwards the link heals and every
# entry and media file is at the hub once, byte-identical (convergence
# checker). Rounds: FT_FAULT_ROUNDS (default 3; 2 in the ASan tree). A daemon that dies by itself
# is restarted (as its service manager would) and reported (crash_report).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seed_init
ROUNDS=${FT_FAULT_ROUNDS:-$((FT_SLOW > 1 ? 2 : 3))} # 2 under ASan
netns_pair
EDGE_NS_DEFAULT=$NS_EDGE

hub_init
for v in car1 car2 car3; do
  edge_new "$v"
  edge_records "$v" 300
done
edge_media car1 1500 1
hub_start
EDGE_ARGS=(--batch 32 --heartbeat-ms 500 --reconnect-max-ms 1000)
for v in car1 car2 car3; do
  edge_start "$v" "${EDGE_ARGS[@]}"
done

# Vehicles keep working: 10 records each every 0.5 s, a photo now and then.
(
  next=300
  while [ ! -f "$T/stop-recording" ]; do
    for v in car1 car2 car3; do
      "$SIM" gen "$v" 10 "$next" | "$EDGE" import - --state "$T/$v" >/dev/null
    done
    next=$((next + 10))
    sleep 0.5
  done
) &
PIDS+=("$!")
RECORDER=$!

ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
faults=0
for r in $(seq "$ROUNDS"); do
  p=$((2 + RANDOM % 9))
  loss "$p"
  echo "round $r: ${p}% random loss for 4 s"
  sleep 4
  loss 0
  bursts=$((3 + RANDOM % 4))
  for b in $(seq "$bursts"); do
    w=$((200 + RANDOM % 1300))
    partition on
    sleep "$(ms "$w")"
    partition off
    sleep "$(ms $((300 + RANDOM % 1200)))"
  done
  echo "round $r: $bursts loss bursts of 0.2-1.5 s"
  w=$((3000 + RANDOM % 3000))
  partition on
  sleep "$(ms "$w")"
  partition off
  echo "round $r: partition of $(ms "$w") s"
  [ "$r" = 2 ] && edge_media car2 400 1
  faults=$((faults + 2 + bursts))
  sleep 1
  revive
done
touch "$T/stop-recording"
wait "$RECORDER" 2>/dev/null || true
loss 0
partition off
echo "$faults faults injected; link healed"

wait_until 120 "logs at the hub after the faults" alive_and logs_synced car1 car2 car3
wait_until 120 "media complete at the hub" alive_and media_complete 2
crash_report
converge car1 car2 car3
