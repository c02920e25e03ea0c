#!/usr/bin/env bash
# The provincial dashboard across counties, with unit scoping: two real
# county hubs (each with an edge of its own unit) forward into a throw-away
# PostgreSQL 15; two provincial nodes run as daemons (`run --store`) with
# HTTP on 127.0.0.1 against it. Users are added with `user add --store`
# (bad unit lists and missing units refused in plain words). With curl: a
# login made on node 1 is valid on node 2; a user of unit A sees A's alerts,
# case and county and nothing of B's (the filter for B's unit gives nothing,
# B's case is refused 404 in plain words); an all-units user sees both; a
# bad password is refused; a logout on node 2 ends the session on node 1;
# with PostgreSQL stopped the dashboard answers 503 in plain words (pages,
# API and login) and the nodes keep running; when it is back the same
# session works again. Both nodes stop cleanly on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "curl is not installed"

NOW=2026-07-15T00:00:00+08:00
UA="南大港产业园区自然资源所"
UB="黄骅市自然资源局执法大队"
pg_start
schema_apply
county_new ca
county_new cb
county_edge ca v1 "$UA"
county_edge cb v1 "$UB"
rec() { # CASE UNIT: an evidence registration without the provider's signature (raises)
  printf '{"type":"evidence_registration","id":"%s-r","case":"%s","unit":"%s","time":"2026-07-01T10:00:00+08:00","fields":{"items":"照片1张","officer_signature":"王","provider_signature":"","date":"2026-07-01"}}\n' \
    "$1" "$1" "$2"
}
rec CA-1 "$UA" >"$T/ca.jsonl"
rec CB-1 "$UB" >"$T/cb.jsonl"
for c in ca cb; do
  out=$("$EDGE" import "$T/$c.jsonl" --state "$T/$c-v1" 2>&1) || fail "import into $c failed: $out"
  county_sync "$c" --now "$NOW"
  county_forward "$c"
done

# ---- users, by the command ----
adduser() { # NAME ARGS...
  local n=$1
  shift
  echo "pw-of-$n-123" | "$HUB" user add --store "$PG_URL" "$n" "$@" >>"$T/user.log" 2>&1
}
adduser ua --role staff --unit "$UA" || fail "user add ua failed: $(tail -n 3 "$T/user.log")"
adduser ub --role staff --unit " $UB " || fail "user add ub failed: $(tail -n 3 "$T/user.log")"
adduser all --role supervisor --all-units || fail "user add all failed: $(tail -n 3 "$T/user.log")"
if adduser bad1 --role staff --unit "A,,B" 2>/dev/null; then fail "a unit list with an empty unit was taken"; fi
grepq "a unit is empty" <"$T/user.log" || fail "the empty unit is not said plainly: $(tail -n 2 "$T/user.log")"
if adduser bad2 --role staff; then fail "a user without units was taken"; fi
grepq "give the units user bad2 sees" <"$T/user.log" || fail "missing units not said plainly"
if adduser ua --role staff --unit X; then fail "a second ua was taken"; fi
grepq "user ua exists" <"$T/user.log" || fail "an existing user not said plainly"
list=$("$HUB" user list --store "$PG_URL" --json) || fail "user list failed"
[ "$(grep -c '"name"' <<<"$list")" = 3 ] || fail "user list shows not 3 users: $list"
grepq "\"all_units\":true" <<<"$list" || fail "all-units user not listed as such: $list"
"$HUB" user list --store "$PG_URL" | grepq "units: $UB" || fail "user list does not show ub's unit"
# the password hash is Argon2id, as the county hub's
psql_q "SELECT pwhash FROM ft.web_users WHERE name = 'ua'" | grepq '^\$argon2id\$' ||
  fail "the password is not stored as an Argon2id hash"

# ---- two provincial nodes with their dashboards ----
printf 'store = %s\nalerts.interval_ms = 100\n' "$PG_URL" >"$T/prov.conf"
P1=$(free_port)
P2=$(free_port)
bg "" "$T/n1.log" "$HUB" run --config "$T/prov.conf" --now "$NOW" --node n1 --http "127.0.0.1:$P1"
N1=$BG_PID
bg "" "$T/n2.log" "$HUB" run --config "$T/prov.conf" --now "$NOW" --node n2 --http "127.0.0.1:$P2"
N2=$BG_PID
for p in "$P1" "$P2"; do
  wait_until 30 "the dashboard on port $p" bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null
done
grepq "web dashboard on http://127.0.0.1:$P1" <"$T/n1.log" || fail "node 1 does not say where its dashboard is"
for c in CA-1 CB-1; do
  wait_until 30 "the province raising $c" bash -c \
    "'$HUB' alerts --store '$PG_URL' --case $c --json | grep -q '\"state\":\"open\"'"
done

# req NAME PORT METHOD PATH [BODY]: the status into $T/NAME.code, the body
# into $T/NAME.json; cookie from $T/cookie.USER when COOKIE_USER is set.
req() {
  local name=$1 port=$2 method=$3 path=$4 body=${5:-} args=()
  if [ -n "${COOKIE_USER:-}" ]; then
    args+=(-H "Cookie: ft_session=$(cat "$T/cookie.$COOKIE_USER")")
    [ "$method" = GET ] || args+=(-H "X-CSRF-Token: $(cat "$T/csrf.$COOKIE_USER")")
  fi
  [ -z "$body" ] || args+=(-H "Content-Type: application/json" --data-binary "$body")
  curl -sS -o "$T/$name.json" -w '%{http_code}' -X "$method" "${args[@]}" \
    -D "$T/$name.head" "http://127.0.0.1:$port$path" >"$T/$name.code" ||
    fail "curl $method $path on port $port failed"
}
code() { cat "$T/$1.code"; }
login() { # USER PORT
  req "login-$1" "$2" POST /api/login "{\"user\":\"$1\",\"password\":\"pw-of-$1-123\"}"
  [ "$(code "login-$1")" = 200 ] || fail "login of $1 on port $2: $(code "login-$1") $(cat "$T/login-$1.json")"
  sed -n 's/^Set-Cookie: ft_session=\([^;]*\);.*/\1/ip' "$T/login-$1.head" | tr -d '\r' >"$T/cookie.$1"
  [ -s "$T/cookie.$1" ] || fail "no session cookie for $1"
  jget csrf <"$T/login-$1.json" >"$T/csrf.$1"
}
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# A login on node 1 is valid on node 2.
login ua "$P1"
COOKIE_USER=ua req me2 "$P2" GET /api/me
[ "$(code me2)" = 200 ] || fail "ua's session from node 1 is refused on node 2: $(code me2) $(cat "$T/me2.json")"
grepq '"user":"ua"' <"$T/me2.json" || fail "node 2 does not know ua: $(cat "$T/me2.json")"
grepq "\"units\":\[\"$UA\"\]" <"$T/me2.json" || fail "ua's units not in /api/me: $(cat "$T/me2.json")"
# The page is the provincial one.
COOKIE_USER=ua req page "$P2" GET /
[ "$(code page)" = 200 ] && grepq "province.js" <"$T/page.json" || fail "/ is not the provincial page: $(code page)"
grepq "Content-Security-Policy" <"$T/page.head" || fail "the page lacks the security headers"

# Unit A sees A's alerts, case and county, nothing of B.
COOKIE_USER=ua req a-alerts "$P2" GET /api/prov/alerts
[ "$(code a-alerts)" = 200 ] || fail "alerts for ua: $(code a-alerts) $(cat "$T/a-alerts.json")"
grepq '"case":"CA-1"' <"$T/a-alerts.json" || fail "ua does not see CA-1's alert: $(cat "$T/a-alerts.json")"
grepq '"county":"ca"' <"$T/a-alerts.json" || fail "the alert does not name its county"
grepq '"article":' <"$T/a-alerts.json" && grepq '"rule":' <"$T/a-alerts.json" || fail "the alert lacks rule/article"
if grepq "CB-1\|$UB\|\"county\":\"cb\"" <"$T/a-alerts.json"; then fail "ua sees B's data: $(cat "$T/a-alerts.json")"; fi
COOKIE_USER=ua req a-filter "$P1" GET "/api/prov/alerts?unit=$(urlenc "$UB")"
[ "$(code a-filter)" = 200 ] && grepq '"alerts":\[\]' <"$T/a-filter.json" ||
  fail "ua filtering for B's unit got: $(code a-filter) $(cat "$T/a-filter.json")"
COOKIE_USER=ua req a-county "$P1" GET "/api/prov/alerts?county=cb"
grepq '"alerts":\[\]' <"$T/a-county.json" || fail "ua filtering for county cb got: $(cat "$T/a-county.json")"
COOKIE_USER=ua req a-state "$P1" GET "/api/prov/alerts?state=resolved"
grepq '"alerts":\[\]' <"$T/a-state.json" || fail "the state filter lets open alerts through"
rule=$(jget rule <"$T/a-alerts.json")
article=$(jget article <"$T/a-alerts.json")
COOKIE_USER=ua req a-rule "$P2" GET "/api/prov/alerts?rule=$(urlenc "$rule")&article=$(urlenc "$article")&case=CA-1&county=ca&state=open"
grepq '"case":"CA-1"' <"$T/a-rule.json" || fail "the rule/article filters drop CA-1: $(cat "$T/a-rule.json")"
COOKIE_USER=ua req a-art "$P2" GET "/api/prov/alerts?article=no-such-article"
grepq '"alerts":\[\]' <"$T/a-art.json" || fail "the article filter lets other articles through"
COOKIE_USER=ua req a-case "$P1" GET /api/prov/cases/ca/CA-1
[ "$(code a-case)" = 200 ] || fail "ua's own case: $(code a-case) $(cat "$T/a-case.json")"
grepq '"type":"evidence_registration"' <"$T/a-case.json" || fail "the case lacks its record: $(cat "$T/a-case.json")"
grepq '"alerts":\[{' <"$T/a-case.json" || fail "the case lacks its alert: $(cat "$T/a-case.json")"
COOKIE_USER=ua req a-other "$P1" GET /api/prov/cases/cb/CB-1
[ "$(code a-other)" = 404 ] || fail "B's case for ua: $(code a-other) $(cat "$T/a-other.json")"
grepq "among the cases of your units" <"$T/a-other.json" || fail "the refusal is not plain: $(cat "$T/a-other.json")"
if grepq "$UB\|evidence" <"$T/a-other.json"; then fail "the refusal leaks B's case: $(cat "$T/a-other.json")"; fi
COOKIE_USER=ua req a-none "$P1" GET /api/prov/cases/cb/NO-SUCH
[ "$(jget message <"$T/a-none.json" | sed 's/NO-SUCH/CB-1/')" = "$(jget message <"$T/a-other.json")" ] ||
  fail "a case of another unit is answered unlike a case that does not exist"
COOKIE_USER=ua req a-counties "$P2" GET /api/prov/counties
grepq '"county":"ca"' <"$T/a-counties.json" || fail "ua does not see county ca: $(cat "$T/a-counties.json")"
if grepq '"county":"cb"' <"$T/a-counties.json"; then fail "ua sees county cb: $(cat "$T/a-counties.json")"; fi
grepq '"entries_forwarded":[1-9]' <"$T/a-counties.json" || fail "no forwarding position: $(cat "$T/a-counties.json")"
grepq '"devices_taken_in":1' <"$T/a-counties.json" || fail "the engine's head is not shown: $(cat "$T/a-counties.json")"
grepq '"blocked":\[\]' <"$T/a-counties.json" || fail "blocked devices where none are"

# Unit B: the mirror image.
login ub "$P2"
COOKIE_USER=ub req b-alerts "$P1" GET /api/prov/alerts
grepq '"case":"CB-1"' <"$T/b-alerts.json" || fail "ub does not see CB-1: $(cat "$T/b-alerts.json")"
if grepq 'CA-1' <"$T/b-alerts.json"; then fail "ub sees A's alert"; fi
COOKIE_USER=ub req b-other "$P2" GET /api/prov/cases/ca/CA-1
[ "$(code b-other)" = 404 ] || fail "A's case for ub: $(code b-other)"

# Every unit.
login all "$P2"
COOKIE_USER=all req all-alerts "$P1" GET /api/prov/alerts
grepq '"case":"CA-1"' <"$T/all-alerts.json" && grepq '"case":"CB-1"' <"$T/all-alerts.json" ||
  fail "the all-units user does not see both: $(cat "$T/all-alerts.json")"
COOKIE_USER=all req all-counties "$P1" GET /api/prov/counties
grepq '"county":"ca"' <"$T/all-counties.json" && grepq '"county":"cb"' <"$T/all-counties.json" ||
  fail "the all-units user does not see both counties"
COOKIE_USER=all req all-case "$P2" GET /api/prov/cases/cb/CB-1
[ "$(code all-case)" = 200 ] || fail "the all-units user is refused B's case"
COOKIE_USER=all req all-users "$P2" GET /api/users
[ "$(code all-users)" = 403 ] || [ "$(code all-users)" = 404 ] || fail "GET /api/users on a provincial node: $(code all-users)"

# The pages' own script needs a login; the login page's does not.
req anon-js "$P1" GET /assets/province.js
[ "$(code anon-js)" = 401 ] || fail "the dashboard's script without a login: $(code anon-js)"
req anon-login "$P1" GET /assets/login.js
[ "$(code anon-login)" = 200 ] || fail "the login page's script: $(code anon-login)"

# A bad password; no session at all.
req badpw "$P1" POST /api/login '{"user":"ua","password":"wrong-password"}'
[ "$(code badpw)" = 401 ] && grepq '"bad_login"' <"$T/badpw.json" || fail "a bad password: $(code badpw) $(cat "$T/badpw.json")"
req anon "$P1" GET /api/prov/alerts
[ "$(code anon)" = 401 ] || fail "alerts without a login: $(code anon)"

# A logout on node 2 ends the session on node 1.
COOKIE_USER=ua req logout "$P2" POST /api/logout
[ "$(code logout)" = 200 ] || fail "logout on node 2: $(code logout) $(cat "$T/logout.json")"
COOKIE_USER=ua req after "$P1" GET /api/prov/alerts
[ "$(code after)" = 401 ] || fail "ua's session still works on node 1 after logout on node 2: $(code after)"
[ "$(psql_q "SELECT count(*) FROM ft.web_audit WHERE action = 'login' AND node IN ('n1', 'n2')")" -ge 3 ] ||
  fail "the logins are not in ft.web_audit"

# The database goes away: 503 in plain words, the nodes keep running.
pg_stop
COOKIE_USER=all req down1 "$P1" GET /api/prov/alerts
[ "$(code down1)" = 503 ] || fail "with the database down: $(code down1) $(cat "$T/down1.json")"
grepq "provincial database cannot be reached" <"$T/down1.json" || fail "the 503 is not plain: $(cat "$T/down1.json")"
COOKIE_USER=all req down2 "$P2" GET /
[ "$(code down2)" = 503 ] || fail "the page with the database down: $(code down2)"
req down3 "$P2" POST /api/login '{"user":"ua","password":"pw-of-ua-123"}'
[ "$(code down3)" = 503 ] || fail "a login with the database down: $(code down3) $(cat "$T/down3.json")"
req down4 "$P2" GET /login
[ "$(code down4)" = 200 ] || fail "the login page with the database down: $(code down4)"
kill -0 "$N1" 2>/dev/null && kill -0 "$N2" 2>/dev/null || fail "a node exited with the database down"
pg_up
wait_until 30 "the dashboard back with the database" bash -c \
  "curl -s -o /dev/null -w '%{http_code}' -H 'Cookie: ft_session=$(cat "$T/cookie.all")' http://127.0.0.1:$P1/api/prov/alerts | grep -qx 200"
COOKIE_USER=all req back "$P2" GET /api/prov/alerts
[ "$(code back)" = 200 ] && grepq '"case":"CB-1"' <"$T/back.json" || fail "node 2 after the database came back: $(code back)"

# User removal ends the sessions on every node.
login ub "$P1"
"$HUB" user remove --store "$PG_URL" ub >>"$T/user.log" 2>&1 || fail "user remove failed"
COOKIE_USER=ub req removed "$P2" GET /api/me
[ "$(code removed)" = 401 ] || fail "a removed user's session still works: $(code removed)"

for n in 1 2; do
  pid=$(eval "echo \$N$n")
  kill -0 "$pid" 2>/dev/null || fail "node n$n exited: $(tail -n 5 "$T/n$n.log")"
  stop_pid "$pid"
  grepq "provincial node n$n: stopped" <"$T/n$n.log" || fail "node n$n did not stop cleanly: $(tail -n 5 "$T/n$n.log")"
  if grep -E "Sanitizer|runtime error" "$T/n$n.log" >&2; then
    fail "node n$n: the sanitizers reported the above"
  fi
done
echo "provincial dashboard: scoped by unit, shared sessions across two nodes, 503 while the database is down"
