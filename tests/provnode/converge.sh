#!/usr/bin/env bash
# Cross-tier convergence (prov_converge, tests/provnode/lib.sh): two county
# hubs, each with two edges (one vehicle of cb with its clock 2 min behind),
# simulated cases (ops/simulate.sh), each county evaluated at a frozen time
# and forwarded by its own forwarder; one provincial node takes everything
# in and evaluates. Then every entry the counties hold is at the province
# exactly once, byte for byte; provincial `verify` passes; and the
# province's alerts (every alert's last state) equal the counties'.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
NOW=2026-12-01T00:00:00+08:00
pg_start
schema_apply
for c in ca cb; do
  county_new "$c"
  for v in v1 v2; do
    county_edge "$c" "$v" "unit-$c"
    "$FT_SRC/ops/simulate.sh" gen "$c$v" 200 0 >"$T/$c-$v.jsonl"
    out=$("$EDGE" import "$T/$c-$v.jsonl" --state "$T/$c-$v" 2>&1) || fail "import failed: $out"
  done
done
EDGE_SKEW[cb-v2]=120
for c in ca cb; do
  county_sync "$c" --now "$NOW"
  "$HUB" evaluate --state "$T/$c" --now "$NOW" >/dev/null || fail "county $c evaluate failed"
  county_forward "$c"
done
"$HUB" evaluate --store "$PG_URL" --now "$NOW" --node p1 >"$T/p1.out" 2>&1 ||
  fail "provincial evaluate failed: $(cat "$T/p1.out")"
[ "$(psql_q "SELECT count(*) FROM ft.prov_clock WHERE county = 'cb'")" -ge 1 ] ||
  fail "the province holds no clock offset of county cb"
prov_converge ca cb
# The check fails when the tiers differ: one alert event of the province
# made to say otherwise (as a superuser past the append-only trigger).
pg_as_superuser "INSERT INTO ft.prov_alert_events (at, county, case_id, unit, alert_id, rule, kind,
  article, severity, subject, detail, state, due_at_ms, node) SELECT at, county, case_id, unit,
  alert_id, rule, kind, article, severity, subject, detail, 'resolved', due_at_ms, 'forger' FROM
  ft.prov_alert_events WHERE state = 'open' LIMIT 1" >/dev/null
if (prov_converge ca cb) >"$T/neg.out" 2>&1; then
  fail "prov_converge passed with an alert the province changed"
fi
grepq "alerts differ" "$T/neg.out" || fail "prov_converge failed for another reason: $(tail -n 3 "$T/neg.out")"
echo "prov_converge names a province that differs"
