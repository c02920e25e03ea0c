#!/usr/bin/env bash
# Clock offsets reach the province: in county ca, vehicle car2's clock is
# 90 s behind (libfaketime), so the county measures +90 s at its Hello and
# corrects car2's clip times; its gap engine logs the offset it applied in
# its signed hub log (a ClockOffset entry), which the forwarder carries to
# the province. The provincial node takes the offset from the verified hub
# log and corrects the same times: inspection MD1, covered only once car2's
# clip is corrected, raises nothing at either tier; inspection MD2, covered
# by the clip as car2's wrong clock read it but 90 s short once corrected,
# raises rule 1 at both. Without the offset the province would give the
# opposite for both. The province's alerts (every state) equal the county's,
# and the offset the province holds is the county's, to the millisecond.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MEDIA=$FT_BUILD/tests/gaps/ft_media
[ -x "$MEDIA" ] || fail "$MEDIA is not built"

NOW=2026-06-01T00:00:00+08:00
D=2026-05-20T
Z=+08:00
U='"unit":"南大港产业园区自然资源所"'
pg_start
schema_apply
county_new ca
county_edge ca office "南大港产业园区自然资源所"
county_edge ca car2 "南大港产业园区自然资源所"
EDGE_SKEW[ca-car2]=90

cat >"$T/office.jsonl" <<JSON
{"type":"site_inspection","id":"md1","case":"MD1-OK",$U,"start":"${D}10:00:00$Z","end":"${D}10:30:00$Z","officers":["o7"],"fields":{"record_no":"勘1"}}
{"type":"site_inspection","id":"md2","case":"MD2-RAISE",$U,"start":"${D}16:00:00$Z","end":"${D}16:30:00$Z","officers":["o8"],"fields":{"record_no":"勘2"}}
JSON
out=$("$EDGE" import "$T/office.jsonl" --state "$T/ca-office" 2>&1) || fail "import failed: $out"
# car2 (90 s behind): 09:58:30-10:28:30 on its clock is 10:00-10:30.
"$MEDIA" "$T/ca-car2" 000000000000000000000000000000b1 r21 o7 MD1-OK "${D}09:58:30$Z" "${D}10:28:30$Z" >/dev/null ||
  fail "ft_media b1"
# 16:00-16:30 on its clock is 16:01:30-16:31:30: 90 s of MD2 uncovered.
"$MEDIA" "$T/ca-car2" 000000000000000000000000000000b2 r21 o8 MD2-RAISE "${D}16:00:00$Z" "${D}16:30:00$Z" >/dev/null ||
  fail "ft_media b2"

# car2 first (the glob order), then the office: no inspection is ever seen
# uncovered at the county.
county_sync ca --now "$NOW"
"$HUB" evaluate --state "$T/ca" --now "$NOW" >/dev/null || fail "county evaluate failed"
off=$("$HUB" devices --state "$T/ca" --json | grep '"vehicle":"car-car2"' | jget clock_offset_ms)
[ "${off:-0}" -ge 89000 ] || fail "the county should measure car2's clock about 90 s behind, measured $off ms"
county_forward ca

"$HUB" evaluate --store "$PG_URL" --now "$NOW" --node p1 >"$T/p1.out" 2>&1 ||
  fail "provincial evaluate failed: $(cat "$T/p1.out")"
held=$(psql_q "SELECT offset_ms FROM ft.prov_clock WHERE county = 'ca' ORDER BY hub_epoch DESC, hub_seq DESC LIMIT 1")
[ -n "$held" ] || fail "the province holds no clock offset of county ca"
# The county's index applies the offset it measured (index.h: the same one
# for every entry of this one connection).
[ "$held" = "$off" ] || fail "the province holds offset $held ms, the county measured $off ms"

alerts_county "$T/county" ca
alerts_prov "$T/prov"
grepq '|1|13|ca|MD2-RAISE|open' "$T/county" || fail "the county should raise rule 1 for MD2: $(cat "$T/county")"
grep -q 'MD1-OK' "$T/county" && fail "the county should raise nothing for MD1: $(cat "$T/county")"
if ! diff -u "$T/county" "$T/prov" >"$T/diff"; then
  cat "$T/diff" >&2
  fail "the province's alerts differ from the county's (- county, + province)"
fi
echo "province = county with car2 90 s off: $(wc -l <"$T/prov") alerts"
prov_converge ca
