#!/usr/bin/env bash
# Delay, jitter, connection resets and a 1 Mbit/s rate limit between three
# edges and the hub (separate network namespaces; tbf on the veth pair;
# ft_proxy in the edges' namespace adds 80 ms +- 60 ms each way and resets
# a connection every ~2 s on average, seeded). The vehicles keep recording
# and ingesting media. Then the resets stop (the proxy is replaced by one
# with delay only) and everything converges: every entry once, media
# byte-identical. Reset phase: FT_FAULT_SECONDS (default 20).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seed_init
SECS=${FT_FAULT_SECONDS:-20}
netns_pair
EDGE_NS_DEFAULT=$NS_EDGE
rate 1000
hub_init
PP=$(free_port)
for v in car1 car2 car3; do
  edge_new "$v" "tcp://127.0.0.1:$PP" "tcp://127.0.0.1:$((PP + 2))"
  edge_records "$v" 200
done
edge_media car1 300 2
# The chunk data path (hub port + 3) through a proxy of its own too.
echo "media.data_advertise = $((PP + 3))" >>"$T/hub/hub.conf"
hub_start
proxy_start sync "$PP" "$PORT" --seed "$SEED" --delay-ms 80 --jitter-ms 60 --reset-ms 2000
proxy_start media $((PP + 2)) $((PORT + 2)) --seed $((SEED + 1)) --delay-ms 80 --jitter-ms 60 \
  --reset-ms 2000
proxy_start data $((PP + 3)) $((PORT + 3)) --seed $((SEED + 2)) --delay-ms 80 --jitter-ms 60 \
  --reset-ms 2000
EDGE_ARGS=(--batch 32 --heartbeat-ms 1000 --reconnect-max-ms 1000)
for v in car1 car2 car3; do
  edge_start "$v" "${EDGE_ARGS[@]}"
done
(
  next=200
  while [ ! -f "$T/stop-recording" ]; do
    for v in car1 car2 car3; do
      "$SIM" gen "$v" 5 "$next" | "$EDGE" import - --state "$T/$v" >/dev/null
    done
    next=$((next + 5))
    sleep 0.5
  done
) &
RECORDER=$!
PIDS+=("$RECORDER")
end=$((SECONDS + SECS))
i=0
while [ $SECONDS -lt $end ]; do
  sleep 2
  revive
  i=$((i + 1))
  [ "$i" = 3 ] && edge_media car3 200 1
done
[ "$i" -ge 3 ] || edge_media car3 200 1
touch "$T/stop-recording"
wait "$RECORDER" 2>/dev/null || true
echo "reset phase over after ${SECS} s:"
proxy_stop sync
proxy_stop media
proxy_stop data
proxy_start sync "$PP" "$PORT" --seed "$SEED" --delay-ms 80 --jitter-ms 60
proxy_start media $((PP + 2)) $((PORT + 2)) --seed $((SEED + 1)) --delay-ms 80 --jitter-ms 60
proxy_start data $((PP + 3)) $((PORT + 3)) --seed $((SEED + 2)) --delay-ms 80 --jitter-ms 60
wait_until 120 "logs at the hub" alive_and logs_synced car1 car2 car3
wait_until 180 "media complete at the hub" alive_and media_complete 3
crash_report
converge car1 car2 car3
