#!/usr/bin/env bash
# Faults of a provincial node (docs/province.md "Faults"). County ca holds a
# backlog of simulated cases (ops/simulate.sh: coverage alerts in most), its
# hub evaluated them at a frozen time and forwarded everything.
#   kill9:  a node (`run`) is killed with SIGKILL while cases are partly
#           evaluated (waited for: some evaluated, some not); a node started
#           again finishes: every case evaluated, each alert event once, the
#           province's alerts equal the county's (prov_converge).
#   pgdown: a node runs as a daemon; PostgreSQL is stopped under it and
#           started again: the node logs the outage once, keeps running,
#           resumes (a case forwarded afterwards raises its alert), and no
#           event is written twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MODE=${1:?usage: faults.sh kill9|pgdown}
RECORDS=${FT_PROVNODE_RECORDS:-5000}
NOW=2026-12-01T00:00:00+08:00

pg_start
schema_apply
county_new ca
county_edge ca v1 u1
"$FT_SRC/ops/simulate.sh" gen v1 "$RECORDS" 0 >"$T/sim.jsonl"
out=$("$EDGE" import "$T/sim.jsonl" --state "$T/ca-v1" 2>&1) || fail "import failed: $out"
county_sync ca --now "$NOW"
"$HUB" evaluate --state "$T/ca" --now "$NOW" >/dev/null || fail "county evaluate failed"
county_forward ca
printf 'store = %s\nalerts.interval_ms = 100\n' "$PG_URL" >"$T/prov.conf"

# progress: "evaluated total" of the province's cases.
progress() {
  psql_q "SELECT count(*) FILTER (WHERE evaluated >= changes) || ' ' || count(*) FROM ft.prov_case_state" 2>/dev/null
}
all_evaluated() {
  local p
  p=$(progress) || return 1
  set -- $p
  [ "$2" -gt 0 ] && [ "$1" = "$2" ]
}

case $MODE in
kill9)
  bg "" "$T/n1.log" "$HUB" run --config "$T/prov.conf" --now "$NOW" --node n1 --http off
  n1=$BG_PID
  killed=""
  for _ in $(seq $((3000 * FT_SLOW))); do
    kill -0 "$n1" 2>/dev/null || fail "node n1 exited: $(tail -n 5 "$T/n1.log")"
    p=$(progress || echo "0 0")
    set -- $p
    if [ "$1" -gt 0 ] && [ "$1" -lt "$2" ]; then
      kill -KILL "$n1"
      killed="$1 of $2"
      break
    fi
    [ "$2" -gt 0 ] && [ "$1" = "$2" ] &&
      fail "node n1 evaluated all $2 cases before the kill could land: raise FT_PROVNODE_RECORDS"
    sleep 0.05
  done
  wait "$n1" 2>/dev/null || true
  [ -n "$killed" ] || fail "node n1 never evaluated part of the cases"
  echo "node n1 killed with $killed cases evaluated"
  before=$(psql_q "SELECT count(*) FROM ft.prov_alert_events")
  "$HUB" evaluate --store "$PG_URL" --now "$NOW" --node n2 >"$T/n2.out" 2>&1 ||
    fail "the node started again failed: $(cat "$T/n2.out")"
  after=$(psql_q "SELECT count(*) FROM ft.prov_alert_events")
  [ "$after" -gt "$before" ] || fail "the node started again wrote no events ($before before)"
  all_evaluated || fail "cases left unevaluated: $(progress)"
  prov_converge ca
  ;;
pgdown)
  bg "" "$T/r1.log" "$HUB" run --config "$T/prov.conf" --now "$NOW" --node r1 --http off
  r1=$BG_PID
  wait_until 120 "node r1 evaluating every case" all_evaluated
  pg_stop
  wait_until 30 "node r1 noticing the outage" grep -q "provincial database does not answer" "$T/r1.log"
  # It keeps trying while the database is down: still running, said once.
  for _ in 1 2 3; do
    kill -0 "$r1" 2>/dev/null || fail "node r1 exited during the outage: $(tail -n 5 "$T/r1.log")"
    sleep 0.3
  done
  pg_up
  wait_until 60 "node r1 resuming" grep -q "provincial database answers again" "$T/r1.log"
  n=$(grep -c "step failed" "$T/r1.log")
  [ "$n" = 1 ] || fail "the outage was logged $n times, not once: $(grep 'step failed' "$T/r1.log" | head -n 3)"
  # A case forwarded after the outage is picked up.
  printf '%s\n' '{"type":"site_inspection","id":"late-1","case":"LATE-1","unit":"u1","start":"2026-11-20T09:00:00+08:00","end":"2026-11-20T10:00:00+08:00","officers":["o1"],"fields":{"record_no":"L1"}}' >"$T/late.jsonl"
  out=$("$EDGE" import "$T/late.jsonl" --state "$T/ca-v1" 2>&1) || fail "import failed: $out"
  county_sync ca --now "$NOW"
  "$HUB" evaluate --state "$T/ca" --now "$NOW" >/dev/null || fail "county evaluate failed"
  county_forward ca
  wait_until 60 "node r1 raising LATE-1" bash -c \
    "'$HUB' alerts --store '$PG_URL' --case LATE-1 --json | grep -q '\"state\":\"open\"'"
  wait_until 60 "node r1 evaluating every case" all_evaluated
  kill -0 "$r1" 2>/dev/null || fail "node r1 exited: $(tail -n 5 "$T/r1.log")"
  stop_pid "$r1"
  grepq "provincial node r1: stopped" "$T/r1.log" || fail "node r1 did not stop cleanly"
  prov_converge ca
  ;;
*) fail "unknown mode $MODE" ;;
esac
if grep -E "Sanitizer|runtime error" "$T"/*.log >&2; then
  fail "the sanitizers reported the above"
fi
