#!/usr/bin/env bash
# Record rules of the default pack (fields 4, followed-by 5 6 9 10 12,
# preceded-by 7 8 11): for each, a case that must raise it and a case that
# must not, in one history imported by two edges (the office workstation and
# a vehicle) and synced to a real hub; the alert set is compared exactly
# (expected/record_rules). Includes the 10-day minimum before a court
# application (exactly 10 days passes, 9 days raises).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NOW=2026-06-01T00:00:00+08:00
U='"unit":"南大港产业园区自然资源所"'
NOCAM='"media_unsuitable":"scenario: no camera needed"'
LA='"fields":{"opinion":"同意","signer":"李所长"}'
DEC='"fields":{"decision_no":"南自然罚〔2026〕1号","reasons":"违法占地"}'
SRV='"fields":{"document":"决定书","server_signature":"王","recipient_signature":"张","date":"2026-04-21"}'
PERF='"fields":{"performed":true,"details":"已缴纳罚款"}'
DNS='"fields":{"notice_no":"催〔2026〕1号","recipient_signature":"张","date":"2026-04-01"}'
COURT='"fields":{"court":"南大港法院","application_no":"执申1号"}'

hub_init
edge_new office "南大港产业园区自然资源所"
edge_new car1 "南大港产业园区自然资源所"

cat >"$T/office.jsonl" <<JSON
{"type":"evidence_registration","id":"f-raise","case":"F-RAISE",$U,"time":"2026-04-20T10:00:00+08:00","fields":{"items":"照片3张","officer_signature":"王","provider_signature":"","date":"2026-04-20"}}
{"type":"evidence_registration","id":"f-ok","case":"F-OK",$U,"time":"2026-04-20T10:00:00+08:00","fields":{"items":"照片3张","officer_signature":"王","provider_signature":"张","date":"2026-04-20"}}
{"type":"complaint_registered","id":"c5r-1","case":"C5-RAISE",$U,"time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
{"type":"complaint_registered","id":"c5o-1","case":"C5-OK",$U,"time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
{"type":"complaint_decision","id":"c5o-2","case":"C5-OK",$U,"time":"2026-05-13T09:00:00+08:00","fields":{"accepted":true,"reason":"受理"}}
{"type":"complaint_registered","id":"c5n-1","case":"C5-NOTYET",$U,"time":"2026-05-20T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
{"type":"initiation_urgent","id":"c6r-1","case":"C6-RAISE",$U,"time":"2026-05-20T09:00:00+08:00","fields":{"reason":"正在施工"}}
{"type":"initiation_urgent","id":"c6o-1","case":"C6-OK",$U,"time":"2026-05-20T09:00:00+08:00","fields":{"reason":"正在施工"}}
{"type":"initiation_approval","id":"c6o-2","case":"C6-OK",$U,"time":"2026-05-21T09:00:00+08:00","fields":{"approver":"李所长"}}
{"type":"decision","id":"c7r-1","case":"C7-RAISE",$U,"time":"2026-04-20T09:00:00+08:00",$DEC}
{"type":"service_direct","id":"c7r-2","case":"C7-RAISE",$U,"start":"2026-04-21T09:00:00+08:00","end":"2026-04-21T09:20:00+08:00",$NOCAM,$SRV}
{"type":"performance_record","id":"c7r-3","case":"C7-RAISE",$U,"time":"2026-05-01T09:00:00+08:00",$PERF}
{"type":"leader_approval","id":"c7o-0","case":"C7-OK",$U,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"decision","id":"c7o-1","case":"C7-OK",$U,"time":"2026-04-20T09:00:00+08:00",$DEC}
{"type":"service_direct","id":"c7o-2","case":"C7-OK",$U,"start":"2026-04-21T09:00:00+08:00","end":"2026-04-21T09:20:00+08:00",$NOCAM,$SRV}
{"type":"performance_record","id":"c7o-3","case":"C7-OK",$U,"time":"2026-05-01T09:00:00+08:00",$PERF}
{"type":"leader_approval","id":"c8r-0","case":"C8-RAISE",$U,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"statement_defense","id":"c8r-1","case":"C8-RAISE",$U,"time":"2026-04-18T09:00:00+08:00","fields":{"facts":"非耕地","reasons":"有批文"}}
{"type":"decision","id":"c8r-2","case":"C8-RAISE",$U,"time":"2026-04-20T09:00:00+08:00",$DEC}
{"type":"service_direct","id":"c8r-3","case":"C8-RAISE",$U,"start":"2026-04-21T09:00:00+08:00","end":"2026-04-21T09:20:00+08:00",$NOCAM,$SRV}
{"type":"performance_record","id":"c8r-4","case":"C8-RAISE",$U,"time":"2026-05-01T09:00:00+08:00",$PERF}
{"type":"leader_approval","id":"c8o-0","case":"C8-OK",$U,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"statement_defense","id":"c8o-1","case":"C8-OK",$U,"time":"2026-04-18T09:00:00+08:00","fields":{"facts":"非耕地","reasons":"有批文"}}
{"type":"statement_review","id":"c8o-2","case":"C8-OK",$U,"time":"2026-04-19T10:00:00+08:00","fields":{"opinion":"申辩不成立"}}
{"type":"decision","id":"c8o-3","case":"C8-OK",$U,"time":"2026-04-20T09:00:00+08:00",$DEC}
{"type":"service_direct","id":"c8o-4","case":"C8-OK",$U,"start":"2026-04-21T09:00:00+08:00","end":"2026-04-21T09:20:00+08:00",$NOCAM,$SRV}
{"type":"performance_record","id":"c8o-5","case":"C8-OK",$U,"time":"2026-05-01T09:00:00+08:00",$PERF}
{"type":"leader_approval","id":"c9r-0","case":"C9-RAISE",$U,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"decision","id":"c9r-1","case":"C9-RAISE",$U,"time":"2026-04-20T09:00:00+08:00",$DEC}
{"type":"performance_record","id":"c9r-2","case":"C9-RAISE",$U,"time":"2026-05-01T09:00:00+08:00",$PERF}
{"type":"leader_approval","id":"c10r-0","case":"C10-RAISE",$U,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"decision","id":"c10r-1","case":"C10-RAISE",$U,"time":"2026-04-20T09:00:00+08:00",$DEC}
{"type":"service_direct","id":"c10r-2","case":"C10-RAISE",$U,"start":"2026-04-21T09:00:00+08:00","end":"2026-04-21T09:20:00+08:00",$NOCAM,$SRV}
{"type":"court_application","id":"c11r-1","case":"C11-9D",$U,"time":"2026-05-10T09:00:00+08:00",$COURT}
{"type":"court_application","id":"c11o-1","case":"C11-10D",$U,"time":"2026-05-10T09:00:00+08:00",$COURT}
{"type":"court_application","id":"c11x-1","case":"C11-NONE",$U,"time":"2026-05-10T09:00:00+08:00",$COURT}
{"type":"demand_notice_service","id":"c12r-1","case":"C12-RAISE",$U,"start":"2025-10-01T09:00:00+08:00","end":"2025-10-01T09:10:00+08:00",$NOCAM,$DNS}
{"type":"court_application","id":"c12r-2","case":"C12-RAISE",$U,"time":"2025-10-20T09:00:00+08:00",$COURT}
{"type":"demand_notice_service","id":"c12o-1","case":"C12-OK",$U,"start":"2025-10-01T09:00:00+08:00","end":"2025-10-01T09:10:00+08:00",$NOCAM,$DNS}
{"type":"court_application","id":"c12o-2","case":"C12-OK",$U,"time":"2025-10-20T09:00:00+08:00",$COURT}
{"type":"court_result","id":"c12o-3","case":"C12-OK",$U,"time":"2026-02-01T09:00:00+08:00","fields":{"result":"准予执行"}}
JSON
# The vehicle served the demand notices (9 days and exactly 10 days before).
cat >"$T/car1.jsonl" <<JSON
{"type":"demand_notice_service","id":"c11r-0","case":"C11-9D",$U,"start":"2026-05-01T09:00:00+08:00","end":"2026-05-01T09:10:00+08:00",$NOCAM,$DNS}
{"type":"demand_notice_service","id":"c11o-0","case":"C11-10D",$U,"start":"2026-04-30T09:00:00+08:00","end":"2026-04-30T09:00:00+08:00",$NOCAM,$DNS}
JSON
edge_import office "$T/office.jsonl"
edge_import car1 "$T/car1.jsonl"

hub_start --now "$NOW"
# The vehicle first: were the court applications evaluated before the
# notices served arrived, C11-10D would open and then resolve (correct, but
# this scenario compares final states only).
edge_sync car1
edge_sync office
wait_indexed "$(cat "$T/office.jsonl" "$T/car1.jsonl" | wc -l)"
hub_stop
check_alerts record_rules
# A re-check at the same time changes nothing; a full re-evaluation neither.
evaluate_at "$NOW"
"$HUB" evaluate --state "$T/hub" --now "$NOW" --full --json >"$T/full.json" || fail "evaluate --full failed"
[ "$(jget events <"$T/full.json")" = 0 ] || fail "a full re-evaluation changed alerts: $(cat "$T/full.json")"
check_alerts record_rules
# Filters: by article and severity.
[ "$("$HUB" alerts --state "$T/hub" --brief --article 21 | wc -l)" = 4 ] || fail "--article 21 should list 4 alerts"
[ "$("$HUB" alerts --state "$T/hub" --brief --severity high --case C9-RAISE | wc -l)" = 1 ] || fail "--severity/--case filter"
