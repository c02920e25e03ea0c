#!/usr/bin/env bash
# Forwarding benchmark (docs/benchmarks.md "Forwarding to the province"): a
# county hub holding ENTRIES entries (default 40000; two edges' imported
# records, synced by real `fieldtrail-edge run` processes) forwards them into
# a throw-away PostgreSQL 15 with `fieldtrail-hub province forward --once`
# (batches of BATCH entries, default 1000: COPY into staging, INSERT ... ON
# CONFLICT DO NOTHING into the month partitions, checkpoint, commit). Then,
# in the same run and on the same server, the same rows are exported and
# loaded again with one plain `COPY ... FROM` into an unpartitioned table
# with no index and no trigger: the floor of what PostgreSQL can take.
# Prints both rates and their ratio, and the rate of re-sending everything
# (all duplicates, absorbed by ON CONFLICT).
#
# Usage: ops/bench-forward.sh [ENTRIES] [BATCH] [BUILD_DIR]
#   BUILD_DIR default build-rel (built if missing). Everything goes to a
#   scratch directory under BUILD_DIR/test-tmp, removed afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
entries=${1:-40000}
batch=${2:-1000}
build=${3:-$root/build-rel}
if [ ! -x "$build/hub/fieldtrail-hub" ] || [ ! -x "$build/edge/fieldtrail-edge" ] ||
  [ ! -x "$build/tests/tools/ft_dump" ] || [ ! -x "$build/tests/tools/ft_converge" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j 2 --target fieldtrail-hub fieldtrail-edge ft_dump ft_converge >&2
fi
# The tests' PostgreSQL and hub helpers (tests/province/lib.sh), in a
# scratch directory of their own.
export FT_BUILD=$build FT_SRC=$root FT_TEST_TMP=$build/test-tmp
# shellcheck source=../tests/province/lib.sh
. "$root/tests/province/lib.sh"

ms() { date +%s%3N; }
per_edge=$((entries / 2))
pg_start
hub_init
edge_new a
edge_new b
echo "importing $entries records into two edges and syncing them to the hub..." >&2
edge_records a "$per_edge"
edge_records b "$per_edge" 1000000
hub_start
edge_start a
edge_start b
wait_until 900 "both logs at the hub" logs_synced a b
edge_stop a
edge_stop b
hub_stop
held=$(county_entries "$T/hub")
prov_conf "$T/hub" bench "batch_entries = $batch"

t0=$(ms)
"$HUB" province forward --once --state "$T/hub" >"$T/forward.out"
t1=$(ms)
[ "$(prov_count entries bench)" = "$held" ] || fail "the province holds $(prov_count entries bench) of $held"
fwd_ms=$((t1 - t0))

# Re-sending all of it: every row a duplicate.
psql_q "UPDATE ft.checkpoints SET position = 0 WHERE county = 'bench' AND stream = 'entries'" >/dev/null
t0=$(ms)
"$HUB" province forward --once --state "$T/hub" >"$T/again.out"
t1=$(ms)
again_ms=$((t1 - t0))
[ "$(prov_count entries bench)" = "$held" ] || fail "re-sending changed the count"

# The floor: the same rows, one plain COPY into a bare table.
export_file=$PG_DIR/rows.copy
psql_q "COPY (SELECT device, epoch, seq, at, hlc, county, arrival, kind, raw FROM ft.entries) TO '$export_file'" >/dev/null
psql_q "CREATE TABLE plain_copy (LIKE ft.entries INCLUDING DEFAULTS)" >/dev/null
t0=$(ms)
psql_q "COPY plain_copy (device, epoch, seq, at, hlc, county, arrival, kind, raw) FROM '$export_file'" >/dev/null
t1=$(ms)
copy_ms=$((t1 - t0))
# The same with the primary key and the two indexes ft.entries has.
psql_q "CREATE TABLE indexed_copy (LIKE ft.entries INCLUDING DEFAULTS);
  ALTER TABLE indexed_copy ADD PRIMARY KEY (device, epoch, seq, at);
  CREATE INDEX ON indexed_copy USING brin (at); CREATE INDEX ON indexed_copy (county, arrival)" >/dev/null
t0=$(ms)
psql_q "COPY indexed_copy (device, epoch, seq, at, hlc, county, arrival, kind, raw) FROM '$export_file'" >/dev/null
t1=$(ms)
icopy_ms=$((t1 - t0))
bytes=$(psql_q "SELECT sum(length(raw)) FROM ft.entries")
hubrows=$(prov_count hub_entries bench)

awk -v n="$held" -v h="$hubrows" -v f="$fwd_ms" -v a="$again_ms" -v c="$copy_ms" -v ic="$icopy_ms" \
  -v b="$bytes" -v bs="$batch" 'BEGIN {
  fr = n / (f / 1000); cr = n / (c / 1000); ar = n / (a / 1000); ir = n / (ic / 1000)
  printf "entries                      %d (%.0f bytes each on average) + %d hub log entries, batches of %d\n", n, b / n, h, bs
  printf "forwarded (province forward) %.0f entries/s (%d ms; %.0f rows/s with the hub log)\n", fr, f, (n + h) / (f / 1000)
  printf "re-sent, all duplicates      %.0f entries/s (%d ms)\n", ar, a
  printf "plain COPY of the same rows  %.0f entries/s (%d ms; bare table)\n", cr, c
  printf "COPY into the same indexes   %.0f entries/s (%d ms; primary key, BRIN, county+arrival)\n", ir, ic
  printf "ratio forward / plain COPY   %.2f\n", fr / cr
}'
