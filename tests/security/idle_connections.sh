#!/usr/bin/env bash
# 1,000 idle connections on the sync port and 1,000 on the alert PUB port at
# once, against a hub with systemd's default of 1024 descriptors (soft
# limit), while a real edge syncs and a logged-in dashboard user polls: the
# edge syncs 200 new records within 10 s, the dashboard answers the user in
# under 2 s (p95), the hub's descriptors stay under its limit, its log grows
# by less than 1 MB (one line a minute per port), and nothing committed is
# lost. (tests/security/slow_http.sh adds 1,000 slow HTTP connections.)
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
echo "hub pid $HUB_PID: descriptor limit $(hub_nofile), $(hub_fds) open before the attack"
poll_start

"$ATTACK" idle "$PORT" 1000 25 >"$T/idle.sync" &
PIDS+=("$!")
A1=$!
"$ATTACK" idle "$PUB_PORT" 1000 25 >"$T/idle.pub" &
PIDS+=("$!")
A2=$!
max_fds=0
for _ in $(seq 40); do # 8 s of the attack before the sync
  f=$(hub_fds)
  [ "$f" -gt "$max_fds" ] && max_fds=$f
  sleep 0.2
done
took=$(sync_time 200 50)
for _ in $(seq 25); do
  kill -0 "$A1" 2>/dev/null || break
  f=$(hub_fds)
  [ "$f" -gt "$max_fds" ] && max_fds=$f
  sleep 0.2
done
wait "$A1" "$A2"
poll_stop
sleep 1
log1=$(log_bytes)
kill -0 "$HUB_PID" || fail "the hub died"
echo "attack on sync port: $(cat "$T/idle.sync")"
echo "attack on PUB port:  $(cat "$T/idle.pub")"
echo "edge synced 200 records in ${took} s under attack; hub descriptors at most $max_fds of $(hub_nofile); log grew $((log1 - log0)) bytes"
grep -c "connections open (cap" "$T/hub/hub.log" | xargs echo "cap lines in the log:"
le "$took" 10 || fail "the sync took ${took} s (bound 10 s)"
[ "$max_fds" -lt "$(hub_nofile)" ] || fail "the hub reached its descriptor limit ($max_fds)"
[ $((log1 - log0)) -lt 1000000 ] || fail "the log grew by $((log1 - log0)) bytes"
grep -q "sync port: .* connections open (cap sync.max_connections" "$T/hub/hub.log" ||
  grep -q "sync port: .* unauthenticated" "$T/hub/hub.log" || fail "no cap line for the sync port"
[ "$(hub_held car)" = $((held0 + 200)) ] || fail "hub holds $(hub_held car), expected $((held0 + 200))"
edge_stop car
check_converged car
