#!/usr/bin/env bash
# Packet loss does not abort the hub (libzmq 4.3.4 aborted on ZMTP
# heartbeats, zeromq/libzmq#4364; no socket uses them now): a hub and an edge
# in network namespaces of the test's own (tests/faults/lib.sh), 5 % loss
# both ways for FT_LOSS_SECONDS (60; ops/soak-loss.sh runs 600) while the
# vehicle records and ingests media all the time. The hub keeps its PID
# throughout (it is never restarted), the edge too, and afterwards every
# entry and media file is at the hub once (convergence checker). A
# logged-in dashboard user (on the hub's own host, where there is no loss)
# polls throughout and is answered in under 2 s (p95).
set -euo pipefail
source "$(dirname "$0")/../faults/lib.sh"
# shellcheck source=poller.sh
source "$(dirname "$0")/poller.sh"
SECONDS_LOSS=${FT_LOSS_SECONDS:-60}
netns_pair
EDGE_NS_DEFAULT=$NS_EDGE
POLL_NS=$NS_HUB
hub_init
sec_web_on
edge_new car
edge_records car 100
edge_media car 600 1
hub_start --http 127.0.0.1:0
web_url_wait
HUB_PID0=$HUB_PID
edge_start car --heartbeat-ms 500
EDGE_PID0=${EDGE_PID[car]}
wait_until 60 "first sync" logs_synced car
poll_start
loss 5
echo "5% loss both ways for ${SECONDS_LOSS} s; hub pid $HUB_PID0"
next=100
media=1 # files ingested: the one above, then one each time next reaches a multiple of 200
end=$((SECONDS + SECONDS_LOSS))
while [ "$SECONDS" -lt "$end" ]; do
  "$SIM" gen car 10 "$next" | "$EDGE" import - --state "$T/car" >/dev/null
  next=$((next + 10))
  if [ $((next % 200)) = 0 ]; then
    edge_media car 200 1
    media=$((media + 1))
  fi
  kill -0 "$HUB_PID0" 2>/dev/null || fail "the hub died under loss: $(grep -m1 -E 'Assertion|ERROR' "$T/hub/hub.log" || tail -n 1 "$T/hub/hub.log")"
  kill -0 "$EDGE_PID0" 2>/dev/null || fail "the edge died under loss: $(tail -n 1 "$T/car/run.log")"
  sleep 2
done
loss 0
poll_stop
wait_until 120 "logs at the hub after the loss" logs_synced car
wait_until 180 "media complete at the hub" media_complete "$media"
[ "$HUB_PID" = "$HUB_PID0" ] && kill -0 "$HUB_PID0" || fail "the hub was restarted"
grep -q "Assertion failed" "$T/hub/hub.log" "$T/car/run.log" && fail "an assertion failed"
echo "hub kept pid $HUB_PID0 through ${SECONDS_LOSS} s of 5% loss; $next records and $media media files synced"
converge car
