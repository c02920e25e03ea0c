#!/usr/bin/env bash
# schema.sh: hub/province/schema.sql applies twice without error (what a
# hundred county hubs starting at once do, serialised by its advisory
# lock: here two at once), a retransmitted row conflicts (ON CONFLICT DO
# NOTHING keeps one), and the append-only triggers refuse UPDATE, DELETE and
# TRUNCATE, on the parent and on a month partition, with a message that
# names the table and the rule.
set -euo pipefail
. "$FT_SRC/tests/province/lib.sh"

pg_start
SCHEMA=$FT_SRC/hub/province/schema.sql
psql_admin fieldtrail -f "$SCHEMA" >"$T/apply1.log" 2>&1 &
a=$!
psql_admin fieldtrail -f "$SCHEMA" >"$T/apply2.log" 2>&1 || { cat "$T/apply2.log" >&2; fail "second concurrent apply failed"; }
wait "$a" || { cat "$T/apply1.log" >&2; fail "first concurrent apply failed"; }
psql_admin fieldtrail -f "$SCHEMA" >"$T/apply3.log" 2>&1 || { cat "$T/apply3.log" >&2; fail "re-apply failed"; }
[ ! -s "$T/apply3.log" ] || { cat "$T/apply3.log" >&2; fail "re-applying the schema printed something"; }
[ "$(psql_q "SELECT value FROM ft.meta WHERE name = 'schema_version'")" = 1 ] || fail "no schema_version"

part=$(psql_q "SELECT ft.ensure_month('entries', '2026-03-31 23:59:59.999+00')")
[ "$part" = entries_202603 ] || fail "ensure_month gave $part"
[ "$(psql_q "SELECT ft.ensure_month('entries', '2026-03-01 00:00:00+00')")" = entries_202603 ] ||
  fail "ensure_month does not give the same month back"
row="('\\x00010203040506070809'::bytea, -5, 1, '2026-03-31 23:59:59.999+00', 1, 'a', 1, 'record', '\\x0a00'::bytea)"
ins="INSERT INTO ft.entries (device, epoch, seq, at, hlc, county, arrival, kind, raw) VALUES $row ON CONFLICT DO NOTHING"
psql_q "$ins" >/dev/null
psql_q "$ins" >/dev/null
[ "$(psql_q "SELECT count(*) FROM ft.entries")" = 1 ] || fail "a retransmitted row was stored twice"
[ "$(psql_q "SELECT ft.u64(epoch) FROM ft.entries")" = 18446744073709551611 ] || fail "ft.u64 is wrong"
[ "$(psql_q "SELECT count(*) FROM ft.entries_202603")" = 1 ] || fail "the row is not in its month's partition"
# A time in a month without a partition is refused, not put elsewhere.
if psql_q "INSERT INTO ft.entries (device, epoch, seq, at, hlc, county, arrival, kind, raw) VALUES ('\\x01', 1, 1, '2027-01-05+00', 1, 'a', 2, 'record', '\\x0a')" 2>"$T/nopart.err"; then
  fail "a row with no partition for its month was accepted"
fi
grepq 'no partition' <"$T/nopart.err" || { cat "$T/nopart.err" >&2; fail "unexpected error for a missing partition"; }

for sql in "UPDATE ft.entries SET seq = 2" "DELETE FROM ft.entries" "TRUNCATE ft.entries" \
  "UPDATE ft.entries_202603 SET raw = '\\x00'" "DELETE FROM ft.entries_202603" "TRUNCATE ft.entries_202603"; do
  if psql_q "$sql" 2>"$T/refused.err"; then
    fail "'$sql' was not refused"
  fi
  grepq 'refused: forwarded rows are append-only' <"$T/refused.err" || {
    cat "$T/refused.err" >&2
    fail "'$sql' failed, but not by the append-only trigger"
  }
done
[ "$(psql_q "SELECT count(*) FROM ft.entries")" = 1 ] || fail "a refused change changed something"
# The other data tables have the same triggers (row triggers fire on rows:
# the tables are empty here, so look them up).
for t in counties hub_entries enrolments media_files file_keys; do
  [ "$(psql_q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ft.$t'::regclass AND tgname IN ('${t}_append_only', '${t}_no_truncate')")" = 2 ] ||
    fail "ft.$t lacks its append-only triggers"
done
# The checkpoint is the one table that changes in place.
psql_q "INSERT INTO ft.checkpoints (county, stream, position) VALUES ('a', 'entries', 1)" >/dev/null
psql_q "UPDATE ft.checkpoints SET position = 2" >/dev/null
