# lib.sh: helpers of the security tests (sourced, not a test). Builds on
# tests/sync/lib.sh (scratch directory, processes stopped by PID, hub and
# edge helpers): a hub on 127.0.0.1 with the alert PUB socket on, one real
# edge, and the figures the scripts print: the hub's descriptors and memory
# (/proc), the size of its store and of its log, how long a sync takes.

# shellcheck source=../sync/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sync/lib.sh"
# shellcheck disable=SC2034
ATTACK=$FT_BUILD/tests/security/ft_attack
SUB=$FT_BUILD/tests/gaps/ft_sub
[ -x "$ATTACK" ] || fail "$ATTACK is not built"

# sec_hub_init: hub_init (tests/sync/lib.sh) plus the alert PUB socket on
# $PUB_PORT; one edge "car" enrolled and configured.
sec_hub_init() {
  hub_init
  PUB_PORT=$(free_port)
  hub_conf_try alerts.publish "tcp://127.0.0.1:$PUB_PORT"
  edge_new car
}

# hub_fds / hub_rss_kb / hub_nofile: descriptors open, resident memory (KiB),
# soft limit of descriptors of the running hub.
hub_fds() { find "/proc/$HUB_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
hub_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$HUB_PID/status"; }
hub_nofile() { awk '/^Max open files/ { print $4 }' "/proc/$HUB_PID/limits"; }
# store_bytes: bytes of the hub store's files (LMDB never shrinks them).
store_bytes() { du -sb "$T/hub/db" | cut -f1; }
log_bytes() { stat -c %s "$T/hub/hub.log"; }

# sync_time N START: imports N records into car (numbered from START) and
# prints the seconds until the hub holds them all (fails after 60 s).
sync_time() {
  local n=$1 from=$2 t0 t1 want
  want=$(($(edge_head car) + n))
  t0=$(date +%s.%N)
  edge_records car "$n" "$from"
  local start=$SECONDS
  until [ "$(hub_held car)" = "$want" ]; do
    [ $((SECONDS - start)) -lt $((60 * FT_SYNC_SLOW)) ] || fail "the edge did not sync $n records in 60 s"
    sleep 0.1
  done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}

# le A B: true if the decimal A <= B.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# ---- the dashboard and a logged-in user polling it ----
# The scripts that attack a port also keep one dashboard user polling the
# hub, to show that a user who logged in is answered throughout.

WATCH_PW=watch-pass-123

# sec_web_on: before hub_start: a staff user "watch" for the poller.
sec_web_on() {
  printf '%s\n' "$WATCH_PW" | "$HUB" user add watch --role staff --state "$T/hub" >/dev/null ||
    fail "user add failed"
}

# sec_hub_start [ARGS...]: hub_start with the dashboard on a free port;
# sets URL (http://127.0.0.1:PORT) and HTTP_PORT.
sec_hub_start() {
  rm -f "$T/hub/web/url"
  hub_start --http 127.0.0.1:0 "$@"
  local i
  for i in $(seq $((100 * WAIT_SLOW))); do
    [ -s "$T/hub/web/url" ] && break
    sleep 0.1
  done
  [ -s "$T/hub/web/url" ] || fail "the hub wrote no dashboard URL"
  URL=$(head -n1 "$T/hub/web/url")
  URL=${URL%/}
  HTTP_PORT=${URL##*:}
}

# web_login WHO PASSWORD: a session for WHO in $T/jar.WHO (fails unless 200).
web_login() {
  local code
  code=$(curl -s -o "$T/login.$1.json" -w '%{http_code}' -c "$T/jar.$1" --max-time 20 \
    -H 'Content-Type: application/json' \
    --data "{\"user\":\"$1\",\"password\":\"$2\"}" "$URL/api/login")
  [ "$code" = 200 ] || fail "login of $1 gave $code"
}

# poll_start: logs "watch" in and polls GET /api/sync every 0.5 s in the
# background (at most 10 minutes), one line "CODE SECONDS" per request in
# $T/poll.txt; poll_stop ends it.
poll_start() {
  web_login watch "$WATCH_PW"
  rm -f "$T/poll.stop" "$T/poll.txt"
  (
    for _ in $(seq 1200); do
      [ -e "$T/poll.stop" ] && break
      curl -s -o /dev/null -b "$T/jar.watch" --max-time 10 -w '%{http_code} %{time_total}\n' \
        "$URL/api/sync" >>"$T/poll.txt" 2>/dev/null || true
      sleep 0.5
    done
  ) &
  POLL_PID=$!
  PIDS+=("$POLL_PID")
}

# poll_stop: ends the poller; prints its figures and fails unless every
# request was answered 200 and the 95th percentile is under 2 s.
poll_stop() {
  touch "$T/poll.stop"
  wait "$POLL_PID" 2>/dev/null || true
  local n bad p95 max
  n=$(wc -l <"$T/poll.txt")
  bad=$(awk '$1 != 200' "$T/poll.txt" | wc -l)
  p95=$(awk '{ print $2 }' "$T/poll.txt" | sort -g | awk '{ v[NR] = $1 } END {
    i = int(NR * 0.95 + 0.999); if (i < 1) i = 1; printf "%.3f", v[i] }')
  max=$(awk '{ print $2 }' "$T/poll.txt" | sort -g | tail -n 1)
  echo "dashboard user: $n requests to /api/sync, $bad not answered 200, p95 ${p95} s, slowest ${max} s"
  [ "$n" -ge 5 ] || fail "the poller made only $n requests"
  [ "$bad" = 0 ] || fail "$bad dashboard requests were not answered 200: $(awk '$1 != 200' "$T/poll.txt" | head -n 3 | tr '\n' ' ')"
  le "$p95" 2 || fail "the dashboard answered the logged-in user in ${p95} s (p95; bound 2 s)"
}
