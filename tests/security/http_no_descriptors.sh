#!/usr/bin/env bash
# The hub out of descriptors: with a soft limit of 256 and the sync port's
# caps raised past it (a misconfiguration), idle connections on the sync
# port take every descriptor while clients keep knocking at the dashboard.
# libmicrohttpd then retries accept without pause and says so each time
# (850,000 lines in a minute before): its messages are limited to 10 lines
# a minute plus a summary, and its listener pauses 100 ms a try, so the log
# grows by less than 1 MB and the listener does not spin; once the attack
# ends the dashboard answers a logged-in user again. That user polls
# throughout: during the attack the hub has no descriptor to accept the
# user's connections with (its figures are printed, not bounded); after it,
# the user is answered in under 2 s (p95).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ulimit -Sn 256
sec_hub_init
hub_conf_try sync.max_connections 4000
hub_conf_try sync.max_handshaking 4000
sec_web_on
sec_hub_start
log0=$(log_bytes)
nofile=$(hub_nofile)
echo "hub pid $HUB_PID: descriptor limit $nofile, $(hub_fds) open"
poll_start
"$ATTACK" idle "$PORT" 400 20 >"$T/idle.sync" &
PIDS+=("$!")
A=$!
sleep 3
# Clock ticks the hub's threads used, but libzmq's I/O threads (their own
# listener retries accept as fast on EMFILE: the sync port's caps keep them
# from it unless they are set past the limit, as here).
cpu() {
  local t sum=0 comm ticks
  for t in /proc/"$HUB_PID"/task/*; do
    comm=$(cat "$t/comm" 2>/dev/null) || continue # a thread that just ended
    case $comm in ZMQbg*) continue ;; esac
    ticks=$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null) || continue
    sum=$((sum + ${ticks:-0}))
  done
  echo "$sum"
}
cpu0=$(cpu)
knocks=0
fds=0
start=$SECONDS
while [ $((SECONDS - start)) -lt 14 ]; do
  curl -s -o /dev/null --max-time 1 "$URL/login" || true
  knocks=$((knocks + 1))
  f=$(hub_fds)
  [ "$f" -gt "$fds" ] && fds=$f
done
cpu1=$(cpu)
wait "$A"
echo -n "during the attack: "
poll_stop report
sleep 2
poll_start
sleep 4
echo -n "after the attack: "
poll_stop
kill -0 "$HUB_PID" || fail "the hub died"
hub_stop # its last line counts the messages not logged
log1=$(log_bytes)
echo "attack: $(cat "$T/idle.sync")"
busy=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
echo "$knocks tries at the dashboard in 14 s while the hub had up to $fds of $nofile descriptors open (CPU of the hub's threads but libzmq's: ${busy} s); log grew $((log1 - log0)) bytes, $(grep -c ' http: ' "$T/hub/hub.log" || true) lines of libmicrohttpd"
grep ' http: ' "$T/hub/hub.log" | sed -n '1p;$p'
unlogged=$(grep -o 'http: [0-9]* more messages' "$T/hub/hub.log" | awk '{ s += $2 } END { print s + 0 }')
echo "messages of libmicrohttpd: $(grep -c ' http: [A-Z]' "$T/hub/hub.log" || true) logged, $unlogged not logged"
le "$busy" 4 || fail "the hub's own threads used ${busy} s of CPU in 14 s (libmicrohttpd's listener spinning?)"
[ $((log1 - log0)) -lt 1000000 ] || fail "the log grew by $((log1 - log0)) bytes"
[ "$(grep -c ' http: ' "$T/hub/hub.log" || true)" -le 13 ] || fail "too many lines of libmicrohttpd"
