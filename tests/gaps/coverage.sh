#!/usr/bin/env bash
# Coverage (rules 1, 2, 3), readiness (13) and unlinked media (14), with media
# manifests in the vehicle's log (ft_media): for each rule a history that must
# raise it and one that must not -- including "media_unsuitable given", an
# uncovered stretch longer than 60 s despite 96% coverage, a photo linked
# only by its ID, media linked through the officer who checked the recorder
# out, media tied to a case, and media still within its 24 h grace.
# Compared exactly with expected/coverage; the timeline shows the coverage.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NOW=2026-06-01T00:00:00+08:00
D=2026-05-20T
Z=+08:00
U='"unit":"南大港产业园区自然资源所"'
hub_init
edge_new car1 "南大港产业园区自然资源所"

cat >"$T/car1.jsonl" <<JSON
{"type":"recorder_checkout","id":"co-r5",$U,"time":"${D}07:00:00$Z","fields":{"recorder":"r5","officer":"o5","battery_pct":90,"free_mb":9000}}
{"type":"recorder_checkout","id":"co-r9",$U,"time":"${D}07:05:00$Z","fields":{"recorder":"r9","officer":"o9","battery_pct":20,"free_mb":9000}}
{"type":"recorder_status","id":"st-r5",$U,"time":"${D}12:00:00$Z","fields":{"recorder":"r5","battery_pct":95,"free_mb":1000}}
{"type":"site_inspection","id":"cov1r","case":"COV1-RAISE",$U,"start":"${D}09:00:00$Z","end":"${D}10:00:00$Z","officers":["o1"],"fields":{"record_no":"勘1"}}
{"type":"hearing","id":"cov1o","case":"COV1-OK",$U,"start":"${D}09:00:00$Z","end":"${D}10:00:00$Z","officers":["o2"],"fields":{"record_no":"听1"}}
{"type":"survey","id":"cov1u","case":"COV1-UNSUIT",$U,"start":"${D}09:00:00$Z","end":"${D}10:00:00$Z","officers":["o3"],"media_unsuitable":"现场危险，不宜录像","fields":{"record_no":"勘2"}}
{"type":"sampling","id":"cov1g","case":"COV1-GAP",$U,"start":"${D}11:00:00$Z","end":"${D}12:00:00$Z","officers":["o1"],"fields":{"record_no":"样1"}}
{"type":"service_public_notice","id":"cov2r","case":"COV2-RAISE",$U,"start":"${D}14:00:00$Z","end":"${D}14:10:00$Z","officers":["o6"],"fields":{"document":"决定书","failed_methods":"直接送达","medium":"公告栏"}}
{"type":"service_public_notice","id":"cov2o","case":"COV2-OK",$U,"start":"${D}15:00:00$Z","end":"${D}15:10:00$Z","officers":["o6"],"media":["000000000000000000000000000000a5"],"fields":{"document":"决定书","failed_methods":"直接送达","medium":"公告栏"}}
{"type":"inquiry","id":"cov3r","case":"COV3-RAISE",$U,"start":"${D}14:00:00$Z","end":"${D}15:00:00$Z","officers":["o4"],"fields":{"subject":"张某","transcript_no":"询1"}}
{"type":"inquiry","id":"cov3c","case":"COV3-CHECKOUT",$U,"start":"${D}16:00:00$Z","end":"${D}17:00:00$Z","officers":["o5"],"fields":{"subject":"李某","transcript_no":"询2"}}
JSON
edge_import car1 "$T/car1.jsonl"
#     edge file-id                         recorder officer case  start            end
media car1 000000000000000000000000000000a1 r1 o1 - "${D}09:00:00$Z" "${D}09:40:00$Z"
media car1 000000000000000000000000000000a2 r2 o2 - "${D}08:59:00$Z" "${D}10:01:00$Z"
media car1 000000000000000000000000000000a3 r1 o1 - "${D}11:00:00$Z" "${D}11:29:00$Z"
media car1 000000000000000000000000000000a4 r1 o1 - "${D}11:31:00$Z" "${D}12:00:00$Z"
media car1 000000000000000000000000000000a5 r7 - - "${D}15:05:00$Z" "${D}15:05:00$Z" photo
media car1 000000000000000000000000000000a6 r4 o4 - "${D}14:00:00$Z" "${D}14:30:00$Z"
media car1 000000000000000000000000000000a7 r5 - - "${D}16:00:00$Z" "${D}17:00:00$Z"
media car1 000000000000000000000000000000a8 r9 - - "${D}18:00:00$Z" "${D}18:10:00$Z"
media car1 000000000000000000000000000000a9 r8 - COV1-OK "${D}20:00:00$Z" "${D}20:05:00$Z"
media car1 000000000000000000000000000000aa r8 - - 2026-05-31T20:00:00$Z 2026-05-31T20:10:00$Z

hub_start --now "$NOW"
edge_sync car1
wait_indexed "$(($(wc -l <"$T/car1.jsonl") + 10))"
hub_stop
check_alerts coverage

# The timeline: the video of recorder r5 has o5 from the checkout and covers
# the inquiry fully; the photo is linked to the notice by its ID.
"$HUB" timeline COV3-CHECKOUT --state "$T/hub" --json >"$T/tl.json" || fail "timeline failed"
grep '"kind":"media"' "$T/tl.json" | grepq '"officer":"o5","officer_source":"checkout"' ||
  grep '"kind":"media"' "$T/tl.json" | grep '"officer_source":"checkout"' | grepq '"officer":"o5"' ||
  fail "timeline: the r5 video should carry officer o5 from the checkout: $(cat "$T/tl.json")"
grep '"type":"inquiry"' "$T/tl.json" | grepq '"covered":1' || fail "timeline: inquiry not fully covered"
"$HUB" timeline COV2-OK --state "$T/hub" >"$T/tl.txt" || fail "timeline (text) failed"
grep -q 'media .* id 000000000000000000000000000000a5' "$T/tl.txt" || fail "timeline: the cited photo is missing: $(cat "$T/tl.txt")"
grep -q 'by 1 media item' "$T/tl.txt" || fail "timeline: the notice's coverage: $(cat "$T/tl.txt")"
# A day later the last video is past its grace and tied to nothing.
evaluate_at 2026-06-02T00:00:00+08:00
"$HUB" alerts --state "$T/hub" --brief --article '24(4)' | grepq 'media:000000000000000000000000000000aa' ||
  fail "the unlinked video was not flagged after its grace"
