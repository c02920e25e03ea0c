#!/usr/bin/env bash
# The province raises its own integrity alert (docs/province.md "Gap
# engine"): county ca's two edges sync real records and the county forwards
# them; then, as a superuser could, one byte of entry 3 of v1 is altered in
# PostgreSQL. The provincial engine refuses the entry, which blocks v1's log
# there, and raises the integrity rule (rule 15, kind integrity) once,
# naming county ca, v1's device, its epoch and seq 3 and the reason, in v1's
# unit; it stays open at later evaluations (an integrity alert is never
# resolved), and v2 raises none.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pg_start
schema_apply
county_new ca
county_edge ca v1 unit-ca-1
county_edge ca v2 unit-ca-2
for e in ca-v1 ca-v2; do
  "$SIM" gen "$e" 12 0 | "$EDGE" import - --state "$T/$e" >/dev/null || fail "import into $e failed"
done
county_sync ca
county_forward ca
declare -A UNIT_OF
for e in ca-v1 ca-v2; do
  UNIT_OF[$("$EDGE" status --state "$T/$e" --json | jget device_id)]=unit-ca-${e#ca-v}
done
hex=$(psql_q "SELECT encode(device, 'hex') FROM ft.entries WHERE county = 'ca' AND seq = 3 AND position('\\x5a462d'::bytea in raw) > 0 ORDER BY device LIMIT 1")
[ -n "$hex" ] || fail "no entry 3 with an officer's number to alter"
pg_as_superuser "UPDATE ft.entries SET raw = overlay(raw placing '\\x59'::bytea from position('\\x5a462d'::bytea in raw) for 1) WHERE county = 'ca' AND device = '\\x$hex'::bytea AND seq = 3" >/dev/null
# the altered row's device, as verify names it
"$HUB" verify --store "$PG_URL" --json >"$T/bad.json" 2>/dev/null && fail "verify passed an altered entry"
dev=$(python3 -c 'import json,sys; print([d["device_id"] for d in json.load(open(sys.argv[1]))["damaged"] if d.get("seq") == 3][0])' "$T/bad.json")
unit=${UNIT_OF[$dev]:?verify named a device of neither edge: $dev}
epoch=$(psql_q "SELECT ft.u64(epoch) FROM ft.entries WHERE county = 'ca' AND device = '\\x$hex'::bytea AND seq = 3")

for now in 2026-06-01T00:00:00+08:00 2026-06-20T00:00:00+08:00; do
  "$HUB" evaluate --store "$PG_URL" --now "$now" --node p1 >"$T/eval.out" 2>&1 ||
    fail "provincial evaluate failed: $(cat "$T/eval.out")"
  "$HUB" alerts --store "$PG_URL" --json | grep '"kind":"integrity"' >"$T/integrity.jsonl" || true
  [ "$(wc -l <"$T/integrity.jsonl")" = 1 ] ||
    fail "at $now the province should hold one integrity alert: $("$HUB" alerts --store "$PG_URL" --json)"
  a=$(cat "$T/integrity.jsonl")
  if [ "$(jget rule <<<"$a")" != 15 ] || [ "$(jget county <<<"$a")" != ca ] ||
    [ "$(jget state <<<"$a")" != open ]; then
    fail "not rule 15 of county ca, open: $a"
  fi
  [ "$(jget subject <<<"$a")" = "$dev/$epoch/3#bad_signature" ] ||
    fail "the alert does not name device $dev, epoch $epoch, seq 3 and the reason: $a"
  [ "$(jget unit <<<"$a")" = "$unit" ] || fail "the alert is not in $unit: $a"
done
[ "$(psql_q "SELECT count(*) FROM ft.prov_alert_events WHERE kind = 'integrity'")" = 1 ] ||
  fail "the integrity alert was written more than once"
echo "the province raised its integrity alert once: $(jget detail <<<"$a")"
