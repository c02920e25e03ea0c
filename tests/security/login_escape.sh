#!/usr/bin/env bash
# A dashboard login whose user name carries '"', a newline, a forged log
# line and an ESC sequence: the hub's log shows it on one line, escaped
# (\x22, \x0A, \x1B), after the true client address, with no forged line and
# no raw ESC; `fieldtrail-hub user add` with that name shows it escaped; the
# failed login is in the signed audit log (an aggregated login_failed entry,
# the name escaped), and so is a 403 (request_refused). A flood of failed
# logins under fresh names gives at most 10 log lines a minute for failures
# and 10 for lockouts (docs/api.md "Failed logins"), and one more audit entry. A logged-in dashboard user polling throughout is answered in
# under 2 s (p95).
set -euo pipefail
source "$FT_SRC/tests/web/lib.sh"
# shellcheck source=poller.sh
source "$FT_SRC/tests/security/poller.sh"
FORGED='2026-01-01T00:00:00Z fieldtrail-hub warn: failed dashboard login from 10.9.9.9 for user "root"'
NAME=$'mallory" from 10.9.9.9\n'"$FORGED"$'\e[31m'
web_fixture
sec_web_on
poll_start
# The name in the body as JSON ('"' and the newline and ESC escaped for JSON).
json_name=$(printf '%s' "$NAME" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk 'BEGIN { ORS = "" } NR > 1 { print "\\n" } { print }' |
  sed 's/\x1b/\\u001b/g')
t_first=$SECONDS # the audit ledger's minutes count from the first refusal
code=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data "{\"user\":\"$json_name\",\"password\":\"wrong-password\"}" "$URL/api/login")
[ "$code" = 401 ] || fail "the forged login got $code: $(cat "$T/body")"
# A 403: a staff user asks for the audit log.
login staff "$PW_STAFF"
call staff GET /api/audit
expect 403 "staff reading the audit log"
sleep 1 # the guard's tick writes the first entries within 250 ms
log=$T/hub/hub.log
line=$(grep -F 'failed dashboard login from 127.0.0.1 for user "mallory' "$log" || true)
echo "log: $line"
[ -n "$line" ] || fail "the failed login is not logged"
# (the log quotes the first 64 bytes of a name)
grepq -F 'warn: failed dashboard login from 127.0.0.1 for user "mallory\x22 from 10.9.9.9\x0A2026-01-01T00:00:00Z fieldtrail-hub warn:"' <<<"$line" ||
  fail "the name is not shown escaped in the log"
[ "$(grep -c $'\e' "$log" || true)" = 0 ] || fail "a raw ESC reached the log"
[ "$(grep -c '^2026-01-01T00:00:00Z' "$log" || true)" = 0 ] || fail "a forged line is in the log"
grep -F 'dashboard: refused GET /api/audit from 127.0.0.1 for user staff: role_required' "$log" >/dev/null ||
  fail "the 403 is not logged"
# The CLI shows such a name escaped too.
rc_of "$HUB" user add "$NAME" --role staff --state "$T/hub" </dev/null 2>"$T/cli.err"
cli=$(cat "$T/cli.err")
echo "cli: $cli"
[ "$RC" != 0 ] || fail "user add took the name"
! grep -q $'\e' <<<"$cli" || fail "a raw ESC reached the CLI"
[ "$(wc -l <<<"$cli")" = 1 ] || fail "the CLI's message has more than one line"
grepq -F 'mallory" from 10.9.9.9\x0A2026-01-01T00:00:00Z' <<<"$cli" || fail "the CLI does not show the name escaped"
# The signed audit log, as a supervisor reads it.
login sup "$PW_SUP"
call sup GET '/api/audit?action=login_failed'
expect 200 "audit login_failed"
echo "audit login_failed: $(grep -o '"detail":"[^}]*' <<<"$BODY" | head -n 1 | cut -c1-300)"
grepq -F '1 failed logins: \"mallory\\x22 from 10.9.9.9\\x0A2026-01-01T00:00:00Z' <<<"$BODY" ||
  fail "the failed login is not in the audit log: $BODY"
grepq -F '(bad_login)' <<<"$BODY" || fail "no reason in the audit entry"
call sup GET '/api/audit?action=request_refused'
expect 200 "audit request_refused"
echo "audit request_refused: $(grep -o '"detail":"[^}]*' <<<"$BODY" | head -n 1 | cut -c1-300)"
grepq -F 'staff from 127.0.0.1: GET /api/audit 1x (role_required)' <<<"$BODY" ||
  fail "the 403 is not in the audit log: $BODY"
# A flood: 300 failed logins under fresh names from one address (most of
# them refused by the lockout): a bounded number of log lines, and all of
# it in at most one more audit entry (written at the minute or at stop).
log0=$(wc -l <"$log")
t_flood=$SECONDS
for i in $(seq 300); do
  curl -s -o /dev/null -H 'Content-Type: application/json' \
    --data "{\"user\":\"flood-$i\",\"password\":\"wrong-password\"}" "$URL/api/login"
done
lines=$(($(wc -l <"$log") - log0))
flood_minutes=$(((SECONDS - t_flood) / 60 + 1))
poll_stop
hub_stop_clean
"$HUB" verify --state "$T/hub" >/dev/null || fail "the hub's log does not verify"
# The hub log's entries one by one (ft_dump: one line per entry, its bytes
# in hex), those whose bytes name the action.
action_hex=$(printf login_failed | od -An -tx1 | tr -d ' \n')
entries=$("$FT_BUILD/tests/tools/ft_dump" hublog "$T/hub" | grep -c "$action_hex" || true)
ledger_minutes=$(((SECONDS - t_first) / 60 + 1))
echo "300 failed logins in $((SECONDS - t_flood)) s: $lines log lines; $entries login_failed audit entries in all"
# At most 10 lines a minute for failures, 10 for lockouts and the summaries
# (a slow machine may take more than a minute over the flood).
[ "$lines" -le $((22 * flood_minutes)) ] || fail "$lines log lines for 300 failed logins"
# Two entries (the first at once, the flood at stop), and one more for each
# minute the ledger was open (its summary written at the minute).
[ "$entries" -ge 2 ] && [ "$entries" -le $((1 + ledger_minutes)) ] ||
  fail "$entries login_failed audit entries in $((SECONDS - t_first)) s"
