#!/usr/bin/env bash
# A supervisor's justification entered through the dashboard reaches the gap
# engine: a real hub, an edge that synced the sample case, and the engine's
# own open alert for it. A staff user is refused (403) and changes nothing;
# the supervisor's justification (POST /api/alerts/ID/justify, a signed
# record in the hub's own log) shows in `fieldtrail-hub alerts` as justified,
# with the reason and the user, in the listing, --json and --history; it
# still does after the hub restarts (once, not twice), and after the case
# index is deleted and rebuilt from the store and the hub log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

REASON='现场突降暴雨，记录仪进水无法录像，已书面说明'

web_fixture

# alerts_cli ARGS...: `fieldtrail-hub alerts` of this hub.
alerts_cli() {
  "$HUB" alerts --state "$T/hub" "$@"
}
# listed_as STATE: the alert $ID is listed with STATE by `alerts --json`
# (the listing is read whole first: grep -q in a pipe would end the CLI
# with SIGPIPE, which pipefail counts as a failure).
listed_as() {
  local out
  out=$(alerts_cli --state-filter "$1" --json) || fail "alerts --state-filter $1 failed"
  grep -q "\"id\":\"$ID\"" <<<"$out"
}

# ---- the engine's open alert for the sample case (Art. 13, rule 1) ----
open_alert() {
  alerts_cli --state-filter open --case NDG-2026-031 --article 13 --json >"$T/open.jsonl" &&
    [ -s "$T/open.jsonl" ]
}
wait_until 20 "an open Art. 13 alert for NDG-2026-031 in the CLI" open_alert
ID=$(head -n1 "$T/open.jsonl" | jget id)
[[ "$ID" =~ ^[0-9a-f]{16}$ ]] || fail "not an alert ID: $ID ($(head -n1 "$T/open.jsonl"))"
echo "alert $ID: $(head -n1 "$T/open.jsonl" | jget detail)"
# The dashboard's view has it too (from the AlertEvents in the hub log).
login staff "$PW_STAFF"
login sup "$PW_SUP"
wait_until 5 "the alert in the dashboard" bash -c \
  "curl -s -o /dev/null -w '%{http_code}' -b '$T/jar.staff' '$URL/api/alerts/$ID' | grep -q 200"

# ---- a staff user may not justify ----
call staff POST "/api/alerts/$ID/justify" "{\"reason\":\"staff should not be able to do this\"}"
expect 403 "staff justifies"
grep -q '"error":"role_required"' <<<"$BODY" || fail "staff refusal is not role_required: $BODY"
call sup GET "/api/audit?action=justify_alert"
grep -q "\"target\":\"$ID\"" <<<"$BODY" && fail "a refused justification was audited: $BODY"
sleep 1 # two engine passes: nothing may have changed
listed_as open || fail "the alert is no longer open after staff's refused attempt"

# ---- the supervisor justifies ----
call sup POST "/api/alerts/$ID/justify" "{\"reason\":\"$REASON\"}"
expect 200 "supervisor justifies"
SEQ=$(jget hublog_seq <<<"$BODY")
wait_until 10 "the CLI to show $ID justified" listed_as justified

# check_justified WHEN: the CLI shows the alert justified by sup with the reason.
check_justified() {
  local when=$1 line text hist n
  line=$(alerts_cli --state-filter justified --json)
  line=$(grep "\"id\":\"$ID\"" <<<"$line") || fail "$when: $ID is not justified in alerts --json"
  [ "$(jget state <<<"$line")" = justified ] || fail "$when: state: $line"
  grep -q '"justification":{' <<<"$line" || fail "$when: no justification in $line"
  grep -q '"by":"sup"' <<<"$line" || fail "$when: the justification does not name sup: $line"
  grep -qF "\"reason\":\"$REASON\"" <<<"$line" || fail "$when: the reason is missing: $line"
  grep -qF "\"ref\":\"hub log entry $SEQ\"" <<<"$line" ||
    fail "$when: the justification does not cite hub log entry $SEQ: $line"
  listed_as open && fail "$when: $ID is still listed as open"
  # The text listing (what an operator reads).
  text=$(alerts_cli --case NDG-2026-031)
  text=$(grep -A8 "^$ID " <<<"$text") || fail "$when: the listing lacks $ID"
  grep -q "^$ID  justified " <<<"$text" || fail "$when: the listing does not show $ID justified: $text"
  grep -qF "justified by sup at " <<<"$text" || fail "$when: the listing does not name sup: $text"
  grep -qF "$REASON" <<<"$text" || fail "$when: the listing lacks the reason: $text"
  # The history: exactly one justified event, by sup with the reason.
  hist=$(alerts_cli --history --json)
  hist=$(grep "\"alert_id\":\"$ID\"" <<<"$hist" | grep '"state":"justified"' || true)
  n=$(grep -c . <<<"$hist" || true)
  [ "$n" = 1 ] || fail "$when: $n justified events for $ID in the history: $hist"
  grep -qF "\"why\":\"justified by sup (hub log entry $SEQ): $REASON\"" <<<"$hist" ||
    fail "$when: the history event does not say who and why: $hist"
}
check_justified "after the justification"
call staff GET "/api/alerts/$ID"
grep -q '"state":"justified"' <<<"$BODY" || fail "the dashboard does not show it justified: $BODY"
grep -q '"by":"sup"' <<<"$BODY" || fail "the dashboard does not name sup: $BODY"

# ---- after a restart ----
hub_stop_clean
web_hub_start
passes() {
  curl -s -H "Authorization: Bearer $METRICS_TOKEN" "$URL/metrics" |
    awk '$1 == "fieldtrail_rule_evaluation_seconds_count" { print $2 }'
}
passes_at_least() {
  [ "$(passes)" -ge "$1" ]
}
wait_until 10 "three evaluation passes after the restart" passes_at_least 3
echo "restarted; $(passes) evaluation passes since"
check_justified "after a restart"
wait_until 5 "the dashboard to rebuild its alert view" bash -c \
  "curl -s -H 'Authorization: Bearer $METRICS_TOKEN' '$URL/metrics' | grep -q '^fieldtrail_dashboard_polls_total [1-9]'"
login staff "$PW_STAFF"
call staff GET "/api/alerts/$ID"
grep -q '"state":"justified"' <<<"$BODY" || fail "after a restart the dashboard shows: $BODY"
call sup POST "/api/alerts/$ID/justify" '{"reason":"and once more"}'
expect 409 "justifying again after a restart"

# ---- after the case index is deleted and rebuilt ----
hub_stop_clean
mv "$T/hub/index" "$T/index.old"
"$HUB" evaluate --state "$T/hub" >"$T/evaluate.out" || fail "evaluate failed: $(cat "$T/evaluate.out")"
check_justified "after the index was rebuilt"
echo "alert $ID justified by sup through the dashboard; the CLI shows it, also after a restart and a rebuilt index"
