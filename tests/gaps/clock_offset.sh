#!/usr/bin/env bash
# Multi-device cases with clock offsets: the office workstation's clock is
# right; vehicle car2's clock is 5 minutes behind (run under libfaketime, so
# the hub measures +300 s at its Hello) and vehicle car3's 1 minute behind.
# Their media (tied to their cases) carry times as their wrong clocks read them. The hub corrects
# them: an inspection covered once corrected raises nothing, one covered only
# before correction raises rule 1; car2's offset raises the clock rule (16),
# car3's (under 120 s) does not. The timeline shows corrected times.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NOW=2026-06-01T00:00:00+08:00
D=2026-05-20T
Z=+08:00
U='"unit":"南大港产业园区自然资源所"'
hub_init
edge_new office "南大港产业园区自然资源所"
edge_new car2 "unit-car2"
edge_new car3 "unit-car3"

cat >"$T/office.jsonl" <<JSON
{"type":"site_inspection","id":"md1","case":"MD1-OK",$U,"start":"${D}10:00:00$Z","end":"${D}10:30:00$Z","officers":["o7"],"fields":{"record_no":"勘1"}}
{"type":"site_inspection","id":"md2","case":"MD2-RAISE",$U,"start":"${D}16:00:00$Z","end":"${D}16:30:00$Z","officers":["o8"],"fields":{"record_no":"勘2"}}
{"type":"hearing","id":"md3","case":"MD3-OK",$U,"start":"${D}11:00:00$Z","end":"${D}11:30:00$Z","officers":["o9"],"fields":{"record_no":"听1"}}
JSON
edge_import office "$T/office.jsonl"
# car2 (clock 300 s behind): 09:55-10:25 on its clock is 10:00-10:30.
media car2 000000000000000000000000000000b1 r21 o7 MD1-OK "${D}09:55:00$Z" "${D}10:25:00$Z"
# 16:00-16:30 on its clock is 16:05-16:35: only 25 of 30 minutes covered.
media car2 000000000000000000000000000000b2 r21 o8 MD2-RAISE "${D}16:00:00$Z" "${D}16:30:00$Z"
# car3 (60 s behind): 10:59-11:29 is 11:00-11:30.
media car3 000000000000000000000000000000b3 r31 o9 MD3-OK "${D}10:59:00$Z" "${D}11:29:00$Z"

hub_start --now "$NOW"
# Media first, so that no inspection is ever seen uncovered (the alert
# would open and then resolve: the lifecycle scenario checks that).
edge_sync_skewed car2 300
edge_sync_skewed car3 60
edge_sync office
wait_indexed 6
hub_stop
off2=$("$HUB" devices --state "$T/hub" --json | grep '"vehicle":"car-car2"' | jget clock_offset_ms)
# The hub measures its clock at the Hello minus the edge's stamp in it: 300 s
# plus the Hello's way through the hub's queue, which a loaded machine (ASan:
# x3) stretches.
[ "${off2:-0}" -ge 299000 ] && [ "${off2:-0}" -le $((300000 + 2000 * SLOW)) ] ||
  fail "the hub should measure car2's clock about 300 s behind, measured ${off2} ms"
check_alerts clock_offset
"$HUB" timeline MD1-OK --state "$T/hub" --json >"$T/tl.json" || fail "timeline failed"
grep '"kind":"media"' "$T/tl.json" | grepq '"start":"2026-05-20T02:00:00' ||
  fail "timeline: car2's video should start at 10:00 corrected: $(cat "$T/tl.json")"
grep '"kind":"media"' "$T/tl.json" | grepq '"offset_ms":30' ||
  fail "timeline: the offset applied should show: $(cat "$T/tl.json")"
grep '"type":"site_inspection"' "$T/tl.json" | grepq -E '"covered":(1|0\.99)' ||
  fail "timeline: MD1's inspection should be fully covered once corrected"
