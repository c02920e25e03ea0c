# lib.sh: helpers shared by the web dashboard tests (sourced, not a test).
#
# Builds on tests/sync/lib.sh (scratch directory $T, real processes on
# 127.0.0.1, cleanup of exactly the PIDs started) and adds: a hub with the
# dashboard on a free port, three users (admin, supervisor, staff), an edge
# that synced the sample case, and curl helpers that keep one cookie jar and
# CSRF token per user.

# shellcheck source=../sync/lib.sh
source "$FT_SRC/tests/sync/lib.sh"

HUBALERT=$FT_BUILD/tests/web/ft_hubalert
[ -x "$HUBALERT" ] || fail "$HUBALERT is not built"
command -v curl >/dev/null || fail "curl is needed (ops/install-deps.sh installs it)"

PW_ADMIN=admin-pass-1
PW_SUP=supervisor-pass-1
PW_STAFF=staff-pass-1
METRICS_TOKEN=metrics-token-for-tests

# web_fixture: hub (dashboard on a free port, URL in $URL), users, edge car1
# synced with the sample case, edge car2 enrolled but never connected.
web_fixture() {
  hub_init
  MEDIA_PORT=$(free_port)
  ARCHIVE_KEY=$(awk -F' = ' '$1 == "archive_public" { print $2 }' "$T/hub/hub.pub")
  {
    printf 'http_metrics_token = %s\n' "$METRICS_TOKEN"
    printf 'media.listen = tcp://127.0.0.1:%s\n' "$MEDIA_PORT"
    printf 'alerts.publish = off\n'
  } >>"$T/hub/hub.conf"
  printf '%s\n' "$PW_ADMIN" | "$HUB" user add admin --role admin --state "$T/hub" >/dev/null
  printf '%s\n' "$PW_SUP" | "$HUB" user add sup --role supervisor --state "$T/hub" >/dev/null
  printf '%s\n' "$PW_STAFF" | "$HUB" user add staff --role staff --state "$T/hub" >/dev/null
  edge_new car1
  edge_new car2
  for e in car1 car2; do
    printf 'media.hub = tcp://127.0.0.1:%s\narchive_key = %s\n' "$MEDIA_PORT" "$ARCHIVE_KEY" \
      >>"$T/$e/edge.conf"
  done
  "$EDGE" import "$FT_SRC/ops/sample-records.jsonl" --state "$T/car1" >/dev/null
  web_hub_start
  "$EDGE" run --state "$T/car1" --until-synced --timeout $((30 * FT_SYNC_SLOW)) \
    2>>"$T/car1/run.log" || fail "edge car1 did not sync"
  CAR1=$(edge_id car1)
  CAR2=$(edge_id car2)
}

# web_hub_start [ARGS...]: starts the hub with the dashboard on any free
# port and sets URL from STATE/web/url.
web_hub_start() {
  rm -f "$T/hub/web/url"
  hub_start --http 127.0.0.1:0 "$@"
  local i
  for i in $(seq $((100 * FT_SYNC_SLOW))); do
    [ -s "$T/hub/web/url" ] && break
    sleep 0.1
  done
  [ -s "$T/hub/web/url" ] || fail "the hub wrote no dashboard URL"
  URL=$(head -n1 "$T/hub/web/url")
  URL=${URL%/}
}

# login WHO PASSWORD: a session for WHO in $T/jar.WHO, its CSRF token in
# $T/csrf.WHO.
login() {
  local who=$1 pw=$2 code
  code=$(curl -s -o "$T/login.$who.json" -w '%{http_code}' -c "$T/jar.$who" \
    -H 'Content-Type: application/json' \
    --data "{\"user\":\"$who\",\"password\":\"$pw\"}" "$URL/api/login")
  [ "$code" = 200 ] || fail "login of $who gave $code: $(cat "$T/login.$who.json")"
  jget csrf <"$T/login.$who.json" >"$T/csrf.$who"
}

# call WHO METHOD PATH [JSON]: sets CODE and BODY (WHO "-" = no session).
# POSTs carry the session's CSRF token unless NO_CSRF=1.
call() {
  local who=$1 method=$2 path=$3 data=${4:-} args=()
  args=(-s -o "$T/body" -w '%{http_code}' -X "$method")
  if [ "$who" != - ]; then
    args+=(-b "$T/jar.$who")
    if [ "$method" != GET ] && [ -z "${NO_CSRF:-}" ]; then
      args+=(-H "X-CSRF-Token: $(cat "$T/csrf.$who")")
    fi
  fi
  if [ -n "$data" ]; then
    args+=(-H 'Content-Type: application/json' --data "$data")
  fi
  CODE=$(curl "${args[@]}" "$URL$path")
  BODY=$(cat "$T/body")
}

# expect CODE WHAT: the last call answered CODE.
expect() {
  [ "$CODE" = "$1" ] || fail "$2: expected HTTP $1, got $CODE: ${BODY:0:300}"
}

# raise_alert ID [CASE] [ARTICLE] [SEVERITY]: an AlertEvent in the hub log,
# as the gap engine writes one.
raise_alert() {
  "$HUBALERT" "$T/hub" "$1" coverage.site "${5:-open}" "${2:-NDG-2026-031}" "${3:-13}" \
    "${4:-high}" "现场勘验未全程录像" "site inspection not fully recorded" >/dev/null ||
    fail "ft_hubalert failed"
}

# hub_stop_clean: stops the hub and fails if it reported a sanitizer error
# (ASan, LeakSanitizer, UBSan) or did not exit 0.
hub_stop_clean() {
  local rc=0
  kill -TERM "$HUB_PID" 2>/dev/null || true
  wait "$HUB_PID" || rc=$?
  if grep -qE 'Sanitizer|runtime error:' "$T/hub/hub.log"; then
    fail "the hub reported a sanitizer error (see $T/hub/hub.log)"
  fi
  [ "$rc" = 0 ] || fail "the hub exited $rc at SIGTERM"
}
