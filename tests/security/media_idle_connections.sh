#!/usr/bin/env bash
# 1,000 idle connections on the media port (CurveZMQ) and 1,000 on the chunk
# data path at once, against a hub with systemd's default of 1024
# descriptors; a real edge connects once the attack runs (its media session
# and data path are opened under attack), sends a file and syncs: the file
# arrives identical while the attack goes on, the edge syncs 200 new records
# within 10 s, a logged-in dashboard user polling throughout is answered in
# under 2 s (p95), the hub's descriptors stay under its limit, its log grows
# by less than 1 MB (one cap line a minute per port), nothing committed is
# lost.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/media_lib.sh"
ulimit -Sn 1024 # the hub inherits systemd's default; ft_attack raises its own
sec_hub_init
sec_media_ports
sec_media_edge car
sec_media_file car 8
edge_records car 50
sec_web_on
sec_hub_start
poll_start
log0=$(log_bytes)
echo "hub pid $HUB_PID: descriptor limit $(hub_nofile), $(hub_fds) open before the attack"

"$ATTACK" idle "$MPORT" 1000 40 >"$T/idle.media" &
PIDS+=("$!")
A1=$!
"$ATTACK" idle "$DPORT" 1000 40 >"$T/idle.data" &
PIDS+=("$!")
A2=$!
max_fds=0
for _ in $(seq 25); do # 5 s of the attack before the edge comes
  f=$(hub_fds)
  [ "$f" -gt "$max_fds" ] && max_fds=$f
  sleep 0.2
done
edge_start car
wait_until 30 "first sync" all_synced car
held0=$(hub_held car)
wait_until 30 "the file at the hub" media_complete "$FILE_ID"
kill -0 "$A1" && kill -0 "$A2" || fail "the attack ended before the file arrived"
echo "the edge connected under attack: its log and the 8 MiB file arrived"
took=$(sync_time 200 50)
for _ in $(seq 10); do
  kill -0 "$A1" 2>/dev/null || break
  f=$(hub_fds)
  [ "$f" -gt "$max_fds" ] && max_fds=$f
  sleep 0.2
done
kill -0 "$A1" && kill -0 "$A2" || fail "the attack ended before the sync"
wait "$A1" "$A2"
poll_stop
sleep 1
log1=$(log_bytes)
kill -0 "$HUB_PID" || fail "the hub died"
echo "attack on media port: $(cat "$T/idle.media")"
echo "attack on data path:  $(cat "$T/idle.data")"
echo "edge synced 200 records in ${took} s under attack; hub descriptors at most $max_fds of $(hub_nofile); log grew $((log1 - log0)) bytes"
grep -c "connections open (cap" "$T/hub/hub.log" | xargs echo "cap lines in the log:"
le "$took" 10 || fail "the sync took ${took} s (bound 10 s)"
[ "$max_fds" -lt "$(hub_nofile)" ] || fail "the hub reached its descriptor limit ($max_fds)"
[ $((log1 - log0)) -lt 1000000 ] || fail "the log grew by $((log1 - log0)) bytes"
grep -q "^.*media port: .* connections open (cap media.max_connections" "$T/hub/hub.log" ||
  fail "no cap line for the media port"
grep -q "^.*media data port: .* connections open (cap media.max_connections" "$T/hub/hub.log" ||
  fail "no cap line for the data path"
[ "$(hub_held car)" = $((held0 + 200)) ] || fail "hub holds $(hub_held car), expected $((held0 + 200))"
sec_media_identical "$FILE_ID" "$WANT"
echo "the 8 MiB file arrived identical; the hub closed $(media_pulling data_conns_closed) data-path connections that did not prove a session (the cap line counts those evicted)"
edge_stop car
sec_media_converged car
