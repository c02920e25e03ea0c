#!/usr/bin/env bash
# Supervisors' justifications reach the province (docs/province.md "Gap
# engine", docs/alerts.md "States"). County ca raises rule 1 for three
# inspections without media and rule 3 for a caseless patrol without media.
# Then a justification record logged on a device names J-DEV's alert, and a
# supervisor justifies J-HUB's and the patrol's alerts at the county's
# dashboard (POST /api/alerts/ID/justify: a justification record signed into
# the county hub's log). The province, which saw the three open, takes the
# justifications from what it verified: the same three alerts are justified
# at both tiers, J-OPEN's stays open at both, and every alert's last state
# is equal across the tiers. J-LATE's alert and its device justification
# reach the province together: justified as it opens, as at the county.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "curl is not installed"

NOW=2026-06-01T00:00:00+08:00
D=2026-05-20T
Z=+08:00
U='"unit":"黄骅市自然资源局执法大队"'
PW='supervisor-pass-1'
pg_start
schema_apply
county_new ca
county_edge ca desk "黄骅市自然资源局执法大队"
printf '%s\n' "$PW" | "$HUB" user add sup --role supervisor --state "$T/ca" >/dev/null ||
  fail "user add failed"

cat >"$T/desk.jsonl" <<JSON
{"type":"site_inspection","id":"i-dev","case":"J-DEV",$U,"start":"${D}09:00:00$Z","end":"${D}09:30:00$Z","officers":["o1"],"fields":{"record_no":"勘1"}}
{"type":"site_inspection","id":"i-hub","case":"J-HUB",$U,"start":"${D}10:00:00$Z","end":"${D}10:30:00$Z","officers":["o2"],"fields":{"record_no":"勘2"}}
{"type":"site_inspection","id":"i-open","case":"J-OPEN",$U,"start":"${D}11:00:00$Z","end":"${D}11:30:00$Z","officers":["o3"],"fields":{"record_no":"勘3"}}
{"type":"patrol","id":"p-hub",$U,"start":"${D}14:00:00$Z","end":"${D}15:00:00$Z","officers":["o4"]}
JSON
out=$("$EDGE" import "$T/desk.jsonl" --state "$T/ca-desk" 2>&1) || fail "import failed: $out"
county_sync ca --now "$NOW"
"$HUB" evaluate --state "$T/ca" --now "$NOW" >/dev/null || fail "county evaluate failed"
county_forward ca
"$HUB" evaluate --store "$PG_URL" --now "$NOW" --node p1 >"$T/p1.out" 2>&1 ||
  fail "provincial evaluate failed: $(cat "$T/p1.out")"

# id RULE CASE: the county's alert of RULE for CASE ('' for none)
id_of() {
  "$HUB" alerts --state "$T/ca" --json | python3 -c '
import json, sys
for l in sys.stdin:
    a = json.loads(l)
    if a["rule"] == sys.argv[1] and (a.get("case") or "") == sys.argv[2]:
        print(a["id"])' "$1" "$2" | sed -n 1p
}
DEV=$(id_of 1 J-DEV)
JHUB=$(id_of 1 J-HUB)
OPEN=$(id_of 1 J-OPEN)
PATROL=$(id_of 3 '')
for v in DEV JHUB OPEN PATROL; do
  [[ "${!v}" =~ ^[0-9a-f]{16}$ ]] || fail "the county raised no alert for $v: $("$HUB" alerts --state "$T/ca")"
done
alerts_prov "$T/prov.before"
for id in "$DEV" "$JHUB" "$OPEN" "$PATROL"; do
  grepq "^$id|.*|open\$" "$T/prov.before" || fail "the province should hold $id open: $(cat "$T/prov.before")"
done

# J-LATE: a fourth inspection the province has not seen yet (below, its
# alert's justification reaches the province with it: held until it opens).
printf '%s\n' "{\"type\":\"site_inspection\",\"id\":\"i-late\",\"case\":\"J-LATE\",$U,\"start\":\"${D}16:00:00$Z\",\"end\":\"${D}16:30:00$Z\",\"officers\":[\"o5\"],\"fields\":{\"record_no\":\"勘4\"}}" \
  >"$T/late.jsonl"
out=$("$EDGE" import "$T/late.jsonl" --state "$T/ca-desk" 2>&1) || fail "import failed: $out"

# A justification record on the device, in J-DEV.
printf '%s\n' "{\"type\":\"justification\",\"id\":\"j-dev\",\"case\":\"J-DEV\",$U,\"time\":\"2026-05-31T09:00:00$Z\",\"officers\":[\"o9\"],\"fields\":{\"alert\":\"$DEV\",\"reason\":\"现场停电，已书面说明\"}}" \
  >"$T/just.jsonl"
out=$("$EDGE" import "$T/just.jsonl" --state "$T/ca-desk" 2>&1) || fail "import failed: $out"

# The county hub with its dashboard: the device syncs, the supervisor justifies two alerts.
rm -f "$T/ca/web/url"
bg "" "$T/ca/hub.log" "$HUB" run --state "$T/ca" --http 127.0.0.1:0 --publish off --now "$NOW"
HUB_PID=$BG_PID
wait_until 30 "the county's dashboard URL" test -s "$T/ca/web/url"
URL=$(head -n1 "$T/ca/web/url")
URL=${URL%/}
"$EDGE" run --state "$T/ca-desk" --until-synced --timeout $((60 * FT_SLOW)) 2>>"$T/ca-desk/run.log" ||
  fail "edge desk did not sync"
late_raised() {
  LATE=$(id_of 1 J-LATE)
  [ -n "$LATE" ]
}
wait_until 30 "the county's alert for J-LATE" late_raised
printf '%s\n' "{\"type\":\"justification\",\"id\":\"j-late\",\"case\":\"J-LATE\",$U,\"time\":\"2026-05-31T10:00:00$Z\",\"officers\":[\"o9\"],\"fields\":{\"alert\":\"$LATE\",\"reason\":\"设备送修\"}}" \
  >"$T/just2.jsonl"
out=$("$EDGE" import "$T/just2.jsonl" --state "$T/ca-desk" 2>&1) || fail "import failed: $out"
"$EDGE" run --state "$T/ca-desk" --until-synced --timeout $((60 * FT_SLOW)) 2>>"$T/ca-desk/run.log" ||
  fail "edge desk did not sync (2)"
code=$(curl -s -o "$T/login.json" -w '%{http_code}' -c "$T/jar" -H 'Content-Type: application/json' \
  --data "{\"user\":\"sup\",\"password\":\"$PW\"}" "$URL/api/login")
[ "$code" = 200 ] || fail "login gave $code: $(cat "$T/login.json")"
CSRF=$(jget csrf <"$T/login.json")
for id in "$JHUB" "$PATROL"; do
  code=$(curl -s -o "$T/justify.json" -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' --data '{"reason":"记录仪故障，已报备"}' \
    "$URL/api/alerts/$id/justify")
  [ "$code" = 200 ] || fail "justify $id gave $code: $(cat "$T/justify.json")"
done
justified_at_county() {
  local out
  out=$("$HUB" alerts --state "$T/ca" --state-filter justified --json) || return 1
  [ "$(grep -c -e "\"id\":\"$DEV\"" -e "\"id\":\"$JHUB\"" -e "\"id\":\"$PATROL\"" \
    -e "\"id\":\"$LATE\"" <<<"$out")" = 4 ]
}
wait_until 30 "four alerts justified at the county" justified_at_county
stop_pid "$HUB_PID"
"$HUB" evaluate --state "$T/ca" --now "$NOW" >/dev/null || fail "county evaluate (2) failed"
county_forward ca
"$HUB" evaluate --store "$PG_URL" --now "$NOW" --node p1 >"$T/p2.out" 2>&1 ||
  fail "provincial evaluate (2) failed: $(cat "$T/p2.out")"

alerts_prov "$T/prov.after"
for id in "$DEV" "$JHUB" "$PATROL" "$LATE"; do
  grepq "^$id|.*|justified\$" "$T/prov.after" || fail "the province should hold $id justified: $(cat "$T/prov.after")"
done
grepq "^$OPEN|.*|open\$" "$T/prov.after" || fail "the province should hold $OPEN open: $(cat "$T/prov.after")"
[ "$(psql_q "SELECT count(*) FROM ft.prov_justifications WHERE county = 'ca' AND source LIKE 'hub log %'")" = 2 ] ||
  fail "the province should hold the two justifications of the county's hub log"
psql_q "SELECT detail FROM ft.prov_alert_events WHERE alert_id = '$JHUB' AND state = 'justified'" |
  grepq 'justified by sup (hub log .*记录仪故障' || fail "the justified event names no supervisor and reason"
grep -q "^$LATE|" "$T/prov.before" && fail "the province saw J-LATE before its justification"
echo "justified at both tiers: device record ($DEV; $LATE held until it opened), dashboard ($JHUB, caseless $PATROL); $OPEN open at both"
prov_converge ca
