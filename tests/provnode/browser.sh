#!/usr/bin/env bash
# The provincial dashboard in headless Chromium (Debian's chromium driven by
# playwright-core, tests/lib/playwright.sh), and the blocked-devices path.
# Two real county hubs forward into a throw-away PostgreSQL 15: county ca
# has edges of unit A (two) and of unit C, county cb one of unit B. One
# entry of ca's second A device (case CA-2) is altered in PostgreSQL before
# the provincial node starts, so its engine blocks that device there
# (docs/province.md "Gap engine", blocked_seq). With curl: the counties of
# a user of unit A name the blocked device (county, device, seq); a user of
# unit C (same county) and a user of unit B do not. Then browser.mjs, in
# Chromium, with the page's language switch in both languages: logins
# through the login page (a bad password refused in words) as a unit-A user
# and as an all-units user; the alerts list with its county, state and rule
# filters; the counties page with the forwarding lag and the blocked
# device; a case page with its records and alerts; another unit's case
# refused in plain words; every page at 390 px wide; logout; PostgreSQL
# stopped under an open page (the page, a reload and a login say so in
# words) and the page working again once it is back. Any console error or
# uncaught page error fails the test (the HTTP errors a step expects
# aside). Screenshots go to $T/shots (the test's scratch directory).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$FT_SRC/tests/lib/playwright.sh"
command -v curl >/dev/null || skip "curl is not installed"
playwright_ready

NOW=2026-07-15T00:00:00+08:00
UA="南大港产业园区自然资源所"
UB="黄骅市自然资源局执法大队"
UC="沧州市自然资源局渤海新区分局"
pg_start
schema_apply
county_new ca
county_new cb
county_edge ca v1 "$UA"
county_edge ca v2 "$UA"
county_edge ca v3 "$UC"
county_edge cb v1 "$UB"
rec() { # CASE UNIT: an evidence registration without the provider's signature (raises)
  printf '{"type":"evidence_registration","id":"%s-r","case":"%s","unit":"%s","time":"2026-07-01T10:00:00+08:00","fields":{"items":"照片1张","officer_signature":"王","provider_signature":"","date":"2026-07-01"}}\n' \
    "$1" "$1" "$2"
}
imp() { # EDGE CASE UNIT
  rec "$2" "$3" >"$T/$1.jsonl"
  out=$("$EDGE" import "$T/$1.jsonl" --state "$T/$1" 2>&1) || fail "import into $1 failed: $out"
}
imp ca-v1 CA-1 "$UA"
imp ca-v2 CA-2 "$UA"
imp ca-v3 CC-1 "$UC"
imp cb-v1 CB-1 "$UB"
for c in ca cb; do
  county_sync "$c" --now "$NOW"
  county_forward "$c"
done

# One byte of case CA-2's record, altered in place (as a hand on the
# database could): ca-v2's log stops there at the province.
BLK_DEV=$("$EDGE" status --state "$T/ca-v2" --json | jget device_id)
BLK_HEX=$(psql_q "SELECT encode(device, 'hex') FROM ft.entries WHERE county = 'ca' AND position('CA-2'::bytea in raw) > 0")
[ "$(wc -l <<<"$BLK_HEX")" = 1 ] && [ -n "$BLK_HEX" ] || fail "not one device holds CA-2: $BLK_HEX"
BLK_SEQ=$(psql_q "SELECT seq FROM ft.entries WHERE county = 'ca' AND device = '\\x$BLK_HEX'::bytea AND position('CA-2'::bytea in raw) > 0")
BLK_EPOCH=$(psql_q "SELECT epoch FROM ft.entries WHERE county = 'ca' AND device = '\\x$BLK_HEX'::bytea AND seq = $BLK_SEQ")
pg_as_superuser "UPDATE ft.entries SET raw = overlay(raw placing '3'::bytea from position('CA-2'::bytea in raw) + 3 for 1) WHERE county = 'ca' AND device = '\\x$BLK_HEX'::bytea AND seq = $BLK_SEQ" >/dev/null
psql_q "SELECT count(*) FROM ft.entries WHERE position('CA-3'::bytea in raw) > 0" | grepq '^1$' ||
  fail "the entry was not altered"

adduser() { # NAME ARGS...
  local n=$1
  shift
  echo "pw-of-$n-123" | "$HUB" user add --store "$PG_URL" "$n" "$@" >>"$T/user.log" 2>&1 ||
    fail "user add $n failed: $(tail -n 3 "$T/user.log")"
}
adduser ua --role staff --unit "$UA"
adduser ub --role staff --unit "$UB"
adduser uc --role staff --unit "$UC"
adduser all --role supervisor --all-units

printf 'store = %s\nalerts.interval_ms = 100\n' "$PG_URL" >"$T/prov.conf"
PORT=$(free_port)
bg "" "$T/n1.log" "$HUB" run --config "$T/prov.conf" --now "$NOW" --node n1 --http "127.0.0.1:$PORT"
N1=$BG_PID
URL=http://127.0.0.1:$PORT
wait_until 30 "the dashboard" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
for c in CA-1 CB-1 CC-1; do
  wait_until 30 "the province raising $c" bash -c \
    "'$HUB' alerts --store '$PG_URL' --case $c --json | grep -q '\"state\":\"open\"'"
done
blocked_now() {
  [ "$(psql_q "SELECT blocked_seq FROM ft.prov_heads WHERE county = 'ca' AND device = '\\x$BLK_HEX'::bytea")" = "$BLK_SEQ" ]
}
wait_until 30 "the engine blocking ca-v2" blocked_now
grepq "county ca, device $BLK_DEV, epoch $BLK_EPOCH, seq $BLK_SEQ:" <"$T/n1.log" ||
  fail "the node does not log the blocked entry: $(grep "provincial engine" "$T/n1.log" | tail -n 3)"
if "$HUB" alerts --store "$PG_URL" --case CA-2 --json | grepq '"case":"CA-2"'; then
  fail "the province evaluated the altered entry's case"
fi

# ---- the blocked device in /api/prov/counties, by unit ----
counties_of() { # USER: GET /api/prov/counties as USER into $T/counties.USER
  curl -sS -c "$T/jar.$1" -o /dev/null -H 'Content-Type: application/json' \
    --data-binary "{\"user\":\"$1\",\"password\":\"pw-of-$1-123\"}" "$URL/api/login" || fail "login of $1"
  curl -sS -b "$T/jar.$1" -o "$T/counties.$1" -w '%{http_code}' "$URL/api/prov/counties" | grepq '^200$' ||
    fail "counties for $1: $(cat "$T/counties.$1")"
}
blocked_of() { # USER COUNTY: "device epoch seq" lines of COUNTY's blocked devices
  python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["counties"]:
    if c["county"] == sys.argv[2]:
        for b in c["blocked"]:
            print(b["device"], b["epoch"], b["blocked_seq"])' "$T/counties.$1" "$2"
}
for u in ua ub uc all; do counties_of "$u"; done
[ "$(blocked_of ua ca)" = "$BLK_DEV $BLK_EPOCH $BLK_SEQ" ] ||
  fail "unit A's counties do not name the blocked device $BLK_DEV at $BLK_SEQ: $(cat "$T/counties.ua")"
[ "$(blocked_of all ca)" = "$BLK_DEV $BLK_EPOCH $BLK_SEQ" ] || fail "the all-units user is not shown the blocked device"
grepq '"county":"ca"' <"$T/counties.uc" || fail "unit C does not see its county ca: $(cat "$T/counties.uc")"
[ -z "$(blocked_of uc ca)" ] || fail "unit C is shown unit A's blocked device: $(cat "$T/counties.uc")"
if grepq "$BLK_DEV" <"$T/counties.uc" || grepq "$BLK_DEV" <"$T/counties.ub"; then
  fail "another unit's user is shown the blocked device"
fi
if grepq '"county":"ca"' <"$T/counties.ub"; then fail "unit B sees county ca: $(cat "$T/counties.ub")"; fi

# ---- the pages in Chromium ----
# browser.mjs asks for PostgreSQL to stop and start by writing $T/ask
# (pg_stop | pg_up); the answer is $T/ask.done.
SHOTS=$T/shots
mkdir -p "$SHOTS"
export URL SHOTS T CHROMIUM BLK_DEV BLK_SEQ UA UB UC FT_SLOW
node "$FT_SRC/tests/provnode/browser.mjs" >"$T/browser.log" 2>&1 &
BR=$!
while kill -0 "$BR" 2>/dev/null; do
  if [ -f "$T/ask" ]; then
    what=$(cat "$T/ask")
    rm -f "$T/ask"
    case $what in
    pg_stop) pg_stop ;;
    pg_up) pg_up ;;
    *) fail "browser.mjs asked for '$what'" ;;
    esac
    touch "$T/ask.done"
  fi
  sleep 0.1
done
rc=0
wait "$BR" || rc=$?
cat "$T/browser.log"
[ "$rc" = 0 ] || fail "the browser check failed (exit $rc); screenshots in $SHOTS"
ls "$SHOTS"/*.png >/dev/null 2>&1 || fail "no screenshots in $SHOTS"

kill -0 "$N1" 2>/dev/null || fail "the node exited: $(tail -n 5 "$T/n1.log")"
stop_pid "$N1"
grepq "provincial node n1: stopped" <"$T/n1.log" || fail "the node did not stop cleanly: $(tail -n 5 "$T/n1.log")"
if grep -E "Sanitizer|runtime error" "$T/n1.log" >&2; then
  fail "the node: the sanitizers reported the above"
fi
echo "provincial dashboard in Chromium: both languages, units, filters, blocked device $BLK_DEV at $BLK_SEQ for unit A only, 390 px, logout, database down and back"
