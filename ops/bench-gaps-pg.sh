#!/usr/bin/env bash
# The gap engine over PostgreSQL (a provincial node, docs/province.md) beside
# the same cases on LMDB (a county hub): one county hub with 4 edges that
# import RECORDS simulated records (ops/simulate.sh: 10 records a case, with
# officers and recorders, no media, so most activities raise coverage
# alerts) and sync them; then
#   LMDB  the county's index thrown away and rebuilt with a first evaluation
#         (`evaluate --now`), then a full re-evaluation (`evaluate --full`);
#   PG    the county forwards (`province forward --once`), one provincial
#         node takes everything in (verifying each entry) and evaluates every
#         case (`evaluate --store`), then every case is marked changed and
#         evaluated again by one node, and by two nodes at once.
# Each row prints the wall time and the CPU time of the fieldtrail-hub
# process(es) (PostgreSQL's own CPU is not in it), and checks that both tiers
# raise the same alerts for the cases. A throw-away PostgreSQL 15 runs on
# 127.0.0.1 on a free port, its files with the rest in the build directory
# (removed afterwards).
# Usage: ops/bench-gaps-pg.sh [RECORDS] (default 20000). Build directory:
# $FT_BENCH_BUILD (default build; fieldtrail-hub and fieldtrail-edge built).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/${FT_BENCH_BUILD:-build}
HUB=$build/hub/fieldtrail-hub
EDGE=$build/edge/fieldtrail-edge
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
RECORDS=${1:-20000}
NOW=2026-12-01T00:00:00+08:00
for b in "$HUB" "$EDGE" "$PG_BIN/initdb"; do
  [ -x "$b" ] || { echo "bench-gaps-pg: $b is missing (build it; ops/install-deps.sh)" >&2; exit 1; }
done
T=$(mktemp -d "$build/bench-gaps-pg.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid nobody --regid nogroup --clear-groups -- "$@"; else "$@"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# row NAME CMD...: runs CMD, prints NAME, wall and CPU seconds.
row() {
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S" -o "$T/time" "$@" >"$T/out" 2>>"$T/log" ||
    { tail -n 5 "$T/log" >&2; echo "bench-gaps-pg: $name failed" >&2; exit 1; }
  read -r wall user sys <"$T/time"
  printf '%-58s %9.2f s wall %8.2f s CPU\n' "$name" "$wall" "$(echo "$user + $sys" | bc)"
}

# PostgreSQL 15 on 127.0.0.1.
mkdir -p "$T/pg/data" "$T/pg/run"
[ "$(id -u)" -eq 0 ] && { chmod 711 "$T"; chown -R nobody:nogroup "$T/pg"; }
chmod 700 "$T/pg/data"
pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$pw" >"$T/pg/pw" && [ "$(id -u)" -eq 0 ] && chown nobody "$T/pg/pw"
as_pg "$PG_BIN/initdb" -D "$T/pg/data" -U ft --pwfile="$T/pg/pw" --auth-local=trust \
  --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$T/initdb.log" 2>&1
port=$(free_port)
printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" \
  "$port" "$T/pg/run" >>"$T/pg/data/postgresql.conf"
as_pg "$PG_BIN/postgres" -D "$T/pg/data" >"$T/pg.log" 2>&1 &
PIDS+=($!)
until "$PG_BIN/pg_isready" -q -h "$T/pg/run" -p "$port"; do sleep 0.2; done
"$PG_BIN/psql" -X -q -h "$T/pg/run" -p "$port" -U ft -d postgres -c 'CREATE DATABASE fieldtrail'
URL="postgresql://ft:$pw@127.0.0.1:$port/fieldtrail"
psql_q() { "$PG_BIN/psql" -X -q -At -h "$T/pg/run" -p "$port" -U ft -d fieldtrail -c "$1"; }

# The county: a hub, 4 edges, RECORDS records, synced.
hport=$(free_port)
"$HUB" init --state "$T/county" --listen "tcp://127.0.0.1:$hport" --advertise 127.0.0.1 --json \
  >"$T/init.json"
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hub_key"])' "$T/init.json")
printf 'http = off\nmedia.listen = tcp://127.0.0.1:%s\nmedia.data_listen = tcp://127.0.0.1:%s\n[province]\nurl = %s\ncounty = bench\n' \
  "$(free_port)" "$(free_port)" "$URL" >>"$T/county/hub.conf"
per=$((RECORDS / 4))
for v in 1 2 3 4; do
  "$EDGE" init --state "$T/v$v" --unit u --vehicle "car$v" --hub "tcp://127.0.0.1:$hport" \
    --hub-key "$key" >/dev/null
  "$HUB" enroll "$T/v$v/device.pub" --unit u --vehicle "car$v" --state "$T/county" >/dev/null
  "$root/ops/simulate.sh" gen "v$v" "$per" 0 | "$EDGE" import - --state "$T/v$v" >/dev/null
done
"$HUB" run --state "$T/county" --http off --publish off --now "$NOW" 2>"$T/county.log" &
hub_pid=$!
PIDS+=("$hub_pid")
until bash -c "exec 3<>/dev/tcp/127.0.0.1/$hport" 2>/dev/null; do sleep 0.1; done
for v in 1 2 3 4; do
  "$EDGE" run --state "$T/v$v" --until-synced --timeout 600 2>>"$T/edges.log"
done
kill -TERM "$hub_pid"
wait "$hub_pid" || true
echo "bench-gaps-pg: $RECORDS records ($((RECORDS / 10)) cases) from 4 devices, evaluated at $NOW"

rm -rf "$T/county/index"
row "LMDB: index rebuilt + first evaluation" "$HUB" evaluate --state "$T/county" --now "$NOW"
row "LMDB: full re-evaluation" "$HUB" evaluate --state "$T/county" --now "$NOW" --full
row "PG: forward (province forward --once)" "$HUB" province forward --once --state "$T/county"
row "PG: take in (verify each entry) + first evaluation, 1 node" \
  "$HUB" evaluate --store "$URL" --now "$NOW" --node n1
psql_q "UPDATE ft.prov_case_state SET evaluated = 0" >/dev/null
row "PG: full re-evaluation, 1 node" "$HUB" evaluate --store "$URL" --now "$NOW" --node n1
psql_q "UPDATE ft.prov_case_state SET evaluated = 0" >/dev/null
row "PG: full re-evaluation, 2 nodes at once" bash -c \
  "'$HUB' evaluate --store '$URL' --now '$NOW' --node n1 & '$HUB' evaluate --store '$URL' --now '$NOW' --node n2; wait"
county=$("$HUB" alerts --state "$T/county" --json | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin if (a := json.loads(l)).get("case") and a["state"] == "open"))')
prov=$(psql_q "SELECT count(*) FROM (SELECT DISTINCT ON (county, alert_id) state, unit_key FROM ft.prov_alert_events ORDER BY county, alert_id, event_no DESC) a WHERE state = 'open' AND unit_key = ''")
echo "open case alerts: county $county, province $prov"
[ "$county" = "$prov" ] || { echo "bench-gaps-pg: the tiers differ" >&2; exit 1; }
