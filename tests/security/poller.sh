# poller.sh: one logged-in dashboard user polling the hub while a test
# attacks it (sourced, not a test). Every script of tests/security keeps
# such a user polling, to show that a user who logged in is answered
# throughout: each request's status and time, and at the end how many,
# how many not answered 200, the 95th percentile and the slowest.
#
# Works with the helpers of tests/sync/lib.sh, tests/web/lib.sh and
# tests/faults/lib.sh alike: it needs $T, $HUB, PIDS and fail; the hub's
# state in $T/hub; URL from web_url_wait (or web_hub_start). POLL_NS names a
# network namespace to reach the dashboard from (the hub's, when the test
# runs it in one); empty for this one.

WATCH_PW=watch-pass-123
POLL_NS=${POLL_NS:-}

# sec_web_on: before the hub starts: a staff user "watch" for the poller.
sec_web_on() {
  printf '%s\n' "$WATCH_PW" | "$HUB" user add watch --role staff --state "$T/hub" >/dev/null ||
    fail "user add failed"
}

# web_url_wait: after a hub started with --http 127.0.0.1:0 (and
# $T/hub/web/url removed before): waits for the URL it writes; sets URL
# (http://127.0.0.1:PORT) and HTTP_PORT.
web_url_wait() {
  for _ in $(seq $((100 * ${FT_SLOW:-${WAIT_SLOW:-1}}))); do
    [ -s "$T/hub/web/url" ] && break
    sleep 0.1
  done
  [ -s "$T/hub/web/url" ] || fail "the hub wrote no dashboard URL"
  URL=$(head -n1 "$T/hub/web/url")
  URL=${URL%/}
  # shellcheck disable=SC2034 # used by the scripts
  HTTP_PORT=${URL##*:}
}

# poll_curl ARGS...: curl, in $POLL_NS if set.
poll_curl() {
  if [ -n "$POLL_NS" ]; then
    ip netns exec "$POLL_NS" curl "$@"
  else
    curl "$@"
  fi
}

# web_login WHO PASSWORD: a session for WHO in $T/jar.WHO (fails unless 200).
web_login() {
  local code
  code=$(poll_curl -s -o "$T/login.$1.json" -w '%{http_code}' -c "$T/jar.$1" --max-time 20 \
    -H 'Content-Type: application/json' \
    --data "{\"user\":\"$1\",\"password\":\"$2\"}" "$URL/api/login")
  [ "$code" = 200 ] || fail "login of $1 gave $code"
}

# poll_start: logs "watch" in and polls GET /api/sync every 0.5 s in the
# background (at most 15 minutes), one line "CODE SECONDS" per request in
# $T/poll.txt (a request not answered in 10 s counts as 000 10); poll_stop
# ends it.
poll_start() {
  web_login watch "$WATCH_PW"
  rm -f "$T/poll.stop" "$T/poll.txt"
  touch "$T/poll.txt"
  (
    for _ in $(seq 1800); do
      [ -e "$T/poll.stop" ] && break
      poll_curl -s -o /dev/null -b "$T/jar.watch" --max-time 10 -w '%{http_code} %{time_total}\n' \
        "$URL/api/sync" >>"$T/poll.txt" 2>/dev/null || true
      sleep 0.5
    done
  ) &
  POLL_PID=$!
  PIDS+=("$POLL_PID")
}

# poll_stop [report]: ends the poller and prints its figures; fails unless
# it made 5 requests or more (it waits up to 20 s for them), every one was
# answered 200 and the 95th percentile is under 2 s -- with "report", only
# prints them (for a test in which the hub is meant not to answer for a
# while).
poll_stop() {
  for _ in $(seq 100); do # a short test: 5 requests at least
    [ "$(wc -l <"$T/poll.txt")" -ge 5 ] && break
    sleep 0.2
  done
  touch "$T/poll.stop"
  wait "$POLL_PID" 2>/dev/null || true
  local n bad p95 max
  n=$(wc -l <"$T/poll.txt")
  bad=$(awk '$1 != 200' "$T/poll.txt" | wc -l)
  p95=$(awk '{ print $2 }' "$T/poll.txt" | sort -g | awk '{ v[NR] = $1 } END {
    i = int(NR * 0.95 + 0.999); if (i < 1) i = 1; printf "%.3f", v[i] }')
  max=$(awk '{ print $2 }' "$T/poll.txt" | sort -g | tail -n 1 | awk '{ printf "%.3f", $1 }')
  echo "dashboard user: $n requests to /api/sync, $bad not answered 200, p95 ${p95} s, slowest ${max:-0} s"
  [ "${1:-}" = report ] && return 0
  [ "$n" -ge 5 ] || fail "the poller made only $n requests"
  [ "$bad" = 0 ] || fail "$bad dashboard requests were not answered 200: $(awk '$1 != 200' "$T/poll.txt" | sed -n 1,3p | tr '\n' ' ')"
  awk -v a="$p95" 'BEGIN { exit !(a <= 2) }' ||
    fail "the dashboard answered the logged-in user in ${p95} s (p95; bound 2 s)"
}
