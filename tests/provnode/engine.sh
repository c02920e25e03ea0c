#!/usr/bin/env bash
# The provincial gap engine over PostgreSQL gives the counties' alerts: two
# real county hubs evaluate their cases at a frozen time; their stores and
# hub logs are forwarded into a throw-away PostgreSQL 15 (ft_pgfill); two
# provincial nodes step at once against it, at the same time, then both
# again later (deadlines pass). Each time the province's alerts (id, rule,
# article, case, state) equal the counties' alerts that name a case, each
# alert event is written once, and the cases' work is shared under advisory
# locks. County ca: coverage with the clips on another device than the
# records (one clip's officer from a recorder checkout on a third device);
# county cb: deadlines, fields, preceded-by, one record on two devices (a
# witness) and one id with two contents (a conflict, Art. 24(2)). Then two
# nodes run as daemons (`run --store`) while county cb forwards a new case:
# both pick it up between them, the province equals the counties again, and
# both stop cleanly on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MEDIA=$FT_BUILD/tests/gaps/ft_media
[ -x "$MEDIA" ] || fail "$MEDIA is not built"

NOW1=2026-06-01T00:00:00+08:00
NOW2=2026-07-15T00:00:00+08:00
D=2026-05-20T
Z=+08:00
UA='"unit":"南大港产业园区自然资源所"'
UB='"unit":"黄骅市自然资源局执法大队"'
pg_start
schema_apply
county_new ca
county_new cb
county_edge ca v1 "南大港产业园区自然资源所"
county_edge ca v2 "南大港产业园区自然资源所"
county_edge ca v3 "南大港产业园区自然资源所"
county_edge cb v1 "黄骅市自然资源局执法大队"
county_edge cb v2 "黄骅市自然资源局执法大队"

import() {
  local out
  out=$("$EDGE" import "$2" --state "$T/$1" 2>&1) || fail "import into $1 failed: $out"
  grepq ' 0 rejected' <<<"$out" || fail "import into $1 rejected lines: $out"
}
cat >"$T/ca-v1.jsonl" <<JSON
{"type":"site_inspection","id":"cov1r","case":"COV1-RAISE",$UA,"start":"${D}09:00:00$Z","end":"${D}10:00:00$Z","officers":["o1"],"fields":{"record_no":"勘1"}}
{"type":"hearing","id":"cov1o","case":"COV1-OK",$UA,"start":"${D}09:00:00$Z","end":"${D}10:00:00$Z","officers":["o2"],"fields":{"record_no":"听1"}}
{"type":"sampling","id":"cov1g","case":"COV1-GAP",$UA,"start":"${D}11:00:00$Z","end":"${D}12:00:00$Z","officers":["o1"],"fields":{"record_no":"样1"}}
{"type":"service_public_notice","id":"cov2r","case":"COV2-RAISE",$UA,"start":"${D}14:00:00$Z","end":"${D}14:10:00$Z","officers":["o6"],"fields":{"document":"决定书","failed_methods":"直接送达","medium":"公告栏"}}
{"type":"service_public_notice","id":"cov2o","case":"COV2-OK",$UA,"start":"${D}15:00:00$Z","end":"${D}15:10:00$Z","officers":["o6"],"media":["000000000000000000000000000000a5"],"fields":{"document":"决定书","failed_methods":"直接送达","medium":"公告栏"}}
{"type":"inquiry","id":"cov3r","case":"COV3-RAISE",$UA,"start":"${D}14:00:00$Z","end":"${D}15:00:00$Z","officers":["o4"],"fields":{"subject":"张某","transcript_no":"询1"}}
{"type":"inquiry","id":"cov3c","case":"COV3-CHECKOUT",$UA,"start":"${D}16:00:00$Z","end":"${D}17:00:00$Z","officers":["o5"],"fields":{"subject":"李某","transcript_no":"询2"}}
JSON
cat >"$T/ca-v3.jsonl" <<JSON
{"type":"recorder_checkout","id":"co-r5",$UA,"time":"${D}07:00:00$Z","fields":{"recorder":"r5","officer":"o5","battery_pct":90,"free_mb":9000}}
JSON
import ca-v1 "$T/ca-v1.jsonl"
import ca-v3 "$T/ca-v3.jsonl"
m() { "$MEDIA" "$T/ca-v2" "$@" >/dev/null || fail "ft_media $*"; }
m 000000000000000000000000000000a1 r1 o1 - "${D}09:00:00$Z" "${D}09:40:00$Z"
m 000000000000000000000000000000a2 r2 o2 - "${D}08:59:00$Z" "${D}10:01:00$Z"
m 000000000000000000000000000000a3 r1 o1 - "${D}11:00:00$Z" "${D}11:29:00$Z"
m 000000000000000000000000000000a4 r1 o1 - "${D}11:31:00$Z" "${D}12:00:00$Z"
m 000000000000000000000000000000a5 r7 - - "${D}15:05:00$Z" "${D}15:05:00$Z" photo
m 000000000000000000000000000000a6 r4 o4 - "${D}14:00:00$Z" "${D}14:30:00$Z"
m 000000000000000000000000000000a7 r5 - - "${D}16:00:00$Z" "${D}17:00:00$Z"
m 000000000000000000000000000000a9 r8 - COV1-OK "${D}20:00:00$Z" "${D}20:05:00$Z"

NOCAM='"media_unsuitable":"scenario: no camera needed"'
DEC='"fields":{"decision_no":"黄自然罚〔2026〕1号","reasons":"违法占地"}'
LA='"fields":{"opinion":"同意","signer":"李局长"}'
cat >"$T/cb-v1.jsonl" <<JSON
{"type":"evidence_registration","id":"f-raise","case":"F-RAISE",$UB,"time":"2026-04-20T10:00:00+08:00","fields":{"items":"照片3张","officer_signature":"王","provider_signature":"","date":"2026-04-20"}}
{"type":"complaint_registered","id":"c5r-1","case":"C5-RAISE",$UB,"time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
{"type":"complaint_registered","id":"c5n-1","case":"C5-LATER",$UB,"time":"2026-05-30T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
{"type":"complaint_decision","id":"c5o-2","case":"C5-OK",$UB,"time":"2026-05-13T09:00:00+08:00","fields":{"accepted":true,"reason":"受理"}}
{"type":"decision","id":"c9r-1","case":"C9-RAISE",$UB,"time":"2026-04-20T09:00:00+08:00",$DEC}
{"type":"leader_approval","id":"w-0","case":"W",$UB,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"leader_approval","id":"x-0","case":"X",$UB,"time":"2026-04-19T09:00:00+08:00",$LA}
JSON
cat >"$T/cb-v2.jsonl" <<JSON
{"type":"complaint_registered","id":"c5o-1","case":"C5-OK",$UB,"time":"2026-05-10T09:00:00+08:00","fields":{"complainant":"王某","summary":"占地"}}
{"type":"leader_approval","id":"c9r-0","case":"C9-RAISE",$UB,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"leader_approval","id":"w-0","case":"W",$UB,"time":"2026-04-19T09:00:00+08:00",$LA}
{"type":"leader_approval","id":"x-0","case":"X",$UB,"time":"2026-04-19T09:00:00+08:00","fields":{"opinion":"不同意","signer":"李局长"}}
{"type":"service_direct","id":"s-1","case":"X",$UB,"start":"2026-04-21T09:00:00+08:00","end":"2026-04-21T09:20:00+08:00",$NOCAM,"fields":{"document":"决定书","server_signature":"王","recipient_signature":"张","date":"2026-04-21"}}
JSON
import cb-v1 "$T/cb-v1.jsonl"
import cb-v2 "$T/cb-v2.jsonl"

county_sync ca --now "$NOW1"
county_sync cb --now "$NOW1"
for c in ca cb; do
  "$HUB" evaluate --state "$T/$c" --now "$NOW1" >/dev/null || fail "county $c evaluate failed"
  county_forward "$c"
done

# county_alerts FILE: the counties' raised alerts that name a case, as
# id|rule|article|county|case|state.
county_alerts() {
  for c in ca cb; do
    "$HUB" alerts --state "$T/$c" --json | python3 -c '
import json, sys
for l in sys.stdin:
    a = json.loads(l)
    if a.get("case") and a["state"] != "resolved":
        print("|".join([a["id"], a["rule"], a["article"], sys.argv[1], a["case"], a["state"]]))
' "$c"
  done | LC_ALL=C sort >"$1"
}
prov_alerts() {
  "$HUB" alerts --store "$PG_URL" --json | python3 -c '
import json, sys
for l in sys.stdin:
    a = json.loads(l)
    if a["state"] != "resolved":
        print("|".join([a["id"], a["rule"], a["article"], a["county"], a["case"], a["state"]]))
' | LC_ALL=C sort >"$1"
}
# two_nodes TIME: provincial nodes n1 and n2 step at TIME at once.
two_nodes() {
  "$HUB" evaluate --store "$PG_URL" --now "$1" --node n1 --json >"$T/n1.json" 2>"$T/n1.err" &
  local p1=$!
  "$HUB" evaluate --store "$PG_URL" --now "$1" --node n2 --json >"$T/n2.json" 2>"$T/n2.err" &
  local p2=$!
  wait "$p1" || fail "node n1 failed: $(cat "$T/n1.err")"
  wait "$p2" || fail "node n2 failed: $(cat "$T/n2.err")"
  cat "$T/n1.json" "$T/n2.json"
}
compare() {
  county_alerts "$T/county.$1"
  prov_alerts "$T/prov.$1"
  [ -s "$T/county.$1" ] || fail "the counties raised no case alert at $1"
  if ! diff -u "$T/county.$1" "$T/prov.$1" >"$T/diff.$1"; then
    cat "$T/diff.$1" >&2
    fail "the province's alerts differ from the counties' at $1 (- counties, + province)"
  fi
  echo "province = counties at $1: $(wc -l <"$T/prov.$1") alerts"
  local dups
  dups=$(psql_q "SELECT county || ' ' || alert_id || ' ' || state || ' x' || count(*) FROM ft.prov_alert_events GROUP BY county, alert_id, state, at HAVING count(*) > 1")
  [ -z "$dups" ] || fail "alert events written more than once: $dups"
}

two_nodes "$NOW1"
compare NOW1
# Every case was evaluated, by one node or the other, once.
evaluated=$(psql_q "SELECT count(*) FROM ft.prov_case_state WHERE evaluated = changes")
cases=$(psql_q "SELECT count(*) FROM ft.prov_case_state")
[ "$evaluated" = "$cases" ] || fail "$evaluated of $cases cases evaluated"
grep -c '"conflict"\|integrity' "$T/prov.NOW1" >/dev/null || true

# Later: deadlines pass in both tiers.
for c in ca cb; do
  "$HUB" evaluate --state "$T/$c" --now "$NOW2" >/dev/null || fail "county $c evaluate failed"
done
two_nodes "$NOW2"
compare NOW2
# A third step at the same time changes nothing.
before=$(psql_q "SELECT count(*) FROM ft.prov_alert_events")
"$HUB" evaluate --store "$PG_URL" --now "$NOW2" --node n3 >/dev/null || fail "a third step failed"
after=$(psql_q "SELECT count(*) FROM ft.prov_alert_events")
[ "$before" = "$after" ] || fail "a repeated step wrote $((after - before)) more events"
# Append-only: an alert event cannot be changed.
if psql_q "UPDATE ft.prov_alert_events SET state = 'resolved'" 2>"$T/upd.err"; then
  fail "an UPDATE of alert events was not refused"
fi
grepq "append-only" "$T/upd.err" || fail "the refusal does not say why: $(cat "$T/upd.err")"

# Two nodes as daemons while cb forwards a new case that raises an alert.
printf 'store = %s\nalerts.interval_ms = 100\n' "$PG_URL" >"$T/prov.conf"
for n in r1 r2; do
  bg "" "$T/$n.log" "$HUB" run --config "$T/prov.conf" --now "$NOW2" --node "$n" --http off
  eval "PID_$n=\$BG_PID"
done
cat >"$T/cb-new.jsonl" <<JSON
{"type":"evidence_registration","id":"f-new","case":"F-NEW",$UB,"time":"2026-07-01T10:00:00+08:00","fields":{"items":"照片1张","officer_signature":"王","provider_signature":"","date":"2026-07-01"}}
JSON
import cb-v1 "$T/cb-new.jsonl"
county_sync cb --now "$NOW2"
"$HUB" evaluate --state "$T/cb" --now "$NOW2" >/dev/null || fail "county cb evaluate failed"
county_forward cb
wait_until 30 "the running nodes raising F-NEW" bash -c \
  "'$HUB' alerts --store '$PG_URL' --case F-NEW --json | grep -q '\"state\":\"open\"'"
compare NOW2-run
for n in r1 r2; do
  pid=$(eval "echo \$PID_$n")
  kill -0 "$pid" 2>/dev/null || fail "node $n exited: $(tail -n 5 "$T/$n.log")"
  stop_pid "$pid"
  grepq "provincial node $n: stopped" "$T/$n.log" || fail "node $n did not stop cleanly: $(tail -n 5 "$T/$n.log")"
  if grep -E "Sanitizer|runtime error" "$T/$n.log" >&2; then
    fail "node $n: the sanitizers reported the above"
  fi
done
