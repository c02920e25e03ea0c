#!/usr/bin/env bash
# The dashboard's own limits against a real hub (docs/api.md "Connections
# and their limits"):
#   - the request deadline: 10 connections that trickle a header line every
#     2 s are each closed about 10 s (http.request_timeout_s) after they
#     opened, however they trickle;
#   - event streams: 4 per session (http.streams_per_session); the fifth
#     gets 429 too_many_streams, a page closed frees its place, another
#     session has places of its own;
#   - Range: a good range 206, an unsatisfiable one 416, a malformed or
#     backwards one is ignored (200, the whole file);
#   - path segments are decoded once: a media ID escaped once is found, the
#     same escaped twice is not;
#   - a limit that is not a whole number in range stops `run` at start,
#     naming the key;
# and a logged-in dashboard user polling throughout is answered in under 2 s
# (p95).
set -euo pipefail
source "$FT_SRC/tests/web/lib.sh"
# shellcheck source=poller.sh
source "$FT_SRC/tests/security/poller.sh"
ATTACK=$FT_BUILD/tests/security/ft_attack
[ -x "$ATTACK" ] || fail "$ATTACK is not built"
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
web_fixture
HTTP_PORT=${URL##*:}
sec_web_on
poll_start
# A media file the hub holds, for the ranges.
head -c 300000 /dev/urandom >"$T/clip.mp4"
"$EDGE" ingest "$T/clip.mp4" --recorder DSJ-0031 --state "$T/car1" >/dev/null 2>&1 ||
  fail "ingest failed"
edge_start car1
wait_until 60 "the hub to hold the clip" \
  bash -c "'$HUB' media list --state '$T/hub' | grep -q complete"
MEDIA_ID=$("$HUB" media list --state "$T/hub" --json | jget file_id)
login staff "$PW_STAFF"
login sup "$PW_SUP"

# ---- the request deadline ----
t0=$(date +%s.%N)
"$ATTACK" slowhttp "$HTTP_PORT" 10 16 2 >"$T/slow.txt"
echo "trickling: $(cat "$T/slow.txt")"
closed=$(sed -n 's/.* \([0-9]*\) closed by the hub.*/\1/p' "$T/slow.txt")
longest=$(sed -n 's/.*the longest held \([0-9.]*\) s.*/\1/p' "$T/slow.txt")
[ "$closed" -ge 10 ] || fail "only $closed trickling connections were closed"
le 9.5 "$longest" && le "$longest" 11.5 || fail "a trickling connection was held ${longest} s (deadline 10 s)"

# ---- event streams ----
stream() { # WHO N: a stream in the background, its output in $T/sse.WHO.N
  curl -s -N -b "$T/jar.$1" --max-time 60 "$URL/api/events" >"$T/sse.$1.$2" 2>/dev/null &
  SSE[$1.$2]=$!
  PIDS+=("$!")
}
declare -A SSE
for i in 1 2 3 4; do
  stream staff "$i"
done
for i in 1 2 3 4; do
  wait_until 10 "stream $i opens" grep -q "event: hello" "$T/sse.staff.$i"
done
call staff GET /api/events
expect 429 "a fifth stream of the session"
grepq too_many_streams <<<"$BODY" || fail "no too_many_streams: $BODY"
echo "fifth stream: $CODE $BODY"
# Another session has its own.
stream sup 1
wait_until 10 "a stream of another session" grep -q "event: hello" "$T/sse.sup.1"
# A page closed: its stream's place goes to the next one.
kill "${SSE[staff.2]}"
wait "${SSE[staff.2]}" 2>/dev/null || true
sleep 0.5
code=$(curl -s -N -b "$T/jar.staff" --max-time 2 -o "$T/sse.staff.5" -w '%{http_code}' \
  "$URL/api/events" || true)
[ "$code" = 200 ] && grep -q "event: hello" "$T/sse.staff.5" ||
  fail "no stream after a page was closed: $code $(cat "$T/sse.staff.5")"
echo "after a page closed: a new stream $code"
for k in "${!SSE[@]}"; do
  kill "${SSE[$k]}" 2>/dev/null || true
  wait "${SSE[$k]}" 2>/dev/null || true
done

# ---- Range ----
size=$(stat -c %s "$T/clip.mp4")
range() { # RANGE: sets RCODE and RBYTES
  RCODE=$(curl -s -b "$T/jar.staff" -H "Range: $1" -o "$T/part" -w '%{http_code}' \
    "$URL/api/media/$MEDIA_ID/content")
  RBYTES=$(stat -c %s "$T/part")
}
range "bytes=100-199"
[ "$RCODE" = 206 ] && [ "$RBYTES" = 100 ] || fail "bytes=100-199 gave $RCODE, $RBYTES bytes"
cmp -s "$T/part" <(head -c 200 "$T/clip.mp4" | tail -c 100) || fail "the range's bytes differ"
range "bytes=$size-"
[ "$RCODE" = 416 ] || fail "a range past the end gave $RCODE"
for bad in "bytes=abc" "bytes=5-3" "items=0-9" "bytes=0-1,5-9" "bytes=--3"; do
  range "$bad"
  [ "$RCODE" = 200 ] && [ "$RBYTES" = "$size" ] ||
    fail "a malformed Range ($bad) gave $RCODE with $RBYTES bytes, not 200 with the whole file"
done
echo "Range: 206 for bytes=100-199, 416 past the end, 200 with all $size bytes for 5 malformed ones"

# ---- path segments decoded once ----
first=${MEDIA_ID:0:1}
hexc=$(printf '%%%02X' "'$first")
call staff GET "/api/media/${hexc}${MEDIA_ID:1}"
expect 200 "a media ID with one escaped character"
call staff GET "/api/media/%25${hexc:1}${MEDIA_ID:1}"
expect 404 "a media ID escaped twice"
echo "path: escaped once 200, twice 404"
poll_stop
edge_stop car1
hub_stop_clean

# ---- a limit that is not a whole number in range stops the start ----
cp "$T/hub/hub.conf" "$T/hub.conf.good"
for bad in "http.max_per_address = 0" "http.request_timeout_s = 10s" "http.streams_per_session = 65"; do
  cp "$T/hub.conf.good" "$T/hub/hub.conf"
  echo "$bad" >>"$T/hub/hub.conf"
  rc_of timeout 60 "$HUB" run --state "$T/hub" --http 127.0.0.1:0 --publish off 2>"$T/bad.err" </dev/null
  [ "$RC" = 1 ] || fail "run with \"$bad\" exited $RC, not 1"
  grepq -F "${bad%% =*} must be a whole number from" "$T/bad.err" ||
    fail "run with \"$bad\" does not name the key: $(cat "$T/bad.err")"
done
cp "$T/hub.conf.good" "$T/hub/hub.conf"
echo "malformed limits: run stops at start (exit 1), naming the key"
