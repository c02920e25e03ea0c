#!/usr/bin/env bash
# 1,000 slow HTTP connections on the dashboard (each sends a request line
# and then a header line every 10 s, never ending its headers), together
# with 1,000 idle connections on the sync port and 1,000 on the alert PUB
# port, against a hub with systemd's default of 1024 descriptors (soft
# limit), while a real edge syncs and a logged-in dashboard user polls:
# the edge syncs 200 new records within 10 s, the dashboard answers the
# user in under 2 s (p95), the hub's descriptors stay under its limit, its
# log grows by less than 1 MB, and no slow connection is held past the
# request deadline (http.request_timeout_s, 10 s) by more than a sweep.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ulimit -Sn 1024 # the hub inherits systemd's default; ft_attack raises its own
sec_hub_init
sec_web_on
edge_records car 50
sec_hub_start
edge_start car
wait_until 30 "first sync" all_synced car
held0=$(hub_held car)
log0=$(log_bytes)
echo "hub pid $HUB_PID: descriptor limit $(hub_nofile), $(hub_fds) open before the attack; dashboard on $URL"
poll_start
sleep 2
"$ATTACK" slowhttp "$HTTP_PORT" 1000 40 10 >"$T/slow.http" &
PIDS+=("$!")
A0=$!
"$ATTACK" idle "$PORT" 1000 40 >"$T/idle.sync" &
PIDS+=("$!")
A1=$!
"$ATTACK" idle "$PUB_PORT" 1000 40 >"$T/idle.pub" &
PIDS+=("$!")
A2=$!
max_fds=0
max_threads=0
sample() {
  local f th
  f=$(hub_fds)
  [ "$f" -gt "$max_fds" ] && max_fds=$f
  th=$(awk '/^Threads:/ { print $2 }' "/proc/$HUB_PID/status")
  [ "$th" -gt "$max_threads" ] && max_threads=$th
  return 0
}
for _ in $(seq 60); do # 12 s of the attack before the sync: past the deadline
  sample
  sleep 0.2
done
took=$(sync_time 200 50)
while kill -0 "$A0" 2>/dev/null; do
  sample
  sleep 0.2
done
wait "$A0" "$A1" "$A2"
poll_stop
sleep 1
log1=$(log_bytes)
kill -0 "$HUB_PID" || fail "the hub died"
echo "attack on the dashboard: $(cat "$T/slow.http")"
echo "attack on sync port:     $(cat "$T/idle.sync")"
echo "attack on PUB port:      $(cat "$T/idle.pub")"
echo "edge synced 200 records in ${took} s under attack; hub descriptors at most $max_fds of $(hub_nofile), threads at most $max_threads; log grew $((log1 - log0)) bytes"
grep "dashboard connections:" "$T/hub/hub.log" | sed -n 1p
echo "guard lines: $(grep -c "dashboard connections:" "$T/hub/hub.log"); libmicrohttpd lines: $(grep -c " http: " "$T/hub/hub.log" || true)"
longest=$(sed -n 's/.*the longest held \([0-9.]*\) s.*/\1/p' "$T/slow.http")
le "$took" 10 || fail "the sync took ${took} s (bound 10 s)"
[ "$max_fds" -lt "$(hub_nofile)" ] || fail "the hub reached its descriptor limit ($max_fds)"
[ $((log1 - log0)) -lt 1000000 ] || fail "the log grew by $((log1 - log0)) bytes"
le "$longest" 12 || fail "a slow connection was held ${longest} s (deadline 10 s)"
grep -q "dashboard connections: .* closed as the oldest waiting one of an address" "$T/hub/hub.log" ||
  fail "no guard line in the log"
[ "$(hub_held car)" = $((held0 + 200)) ] || fail "hub holds $(hub_held car), expected $((held0 + 200))"
edge_stop car
check_converged car
