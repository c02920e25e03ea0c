#!/usr/bin/env bash
# End-to-end log sync benchmark: records per second created on an edge and
# committed (verified, durably stored, receipt back) at the hub, printed
# beside this machine's Ed25519 verify rate measured in the same run.
#
# Rows:
#   create            `fieldtrail-edge import` of N generated records (the edge alone)
#   sync              an edge already holding N records, hub empty:
#                     `fieldtrail-edge run --until-synced` (receipts for all)
#   end to end        the sync daemon running while N records are imported:
#                     from the start of the import until the hub's receipt
#                     covers the last record
#   ed25519 verify    one signature check (ft-bench-sync-verify)
#   entry check       decode + signature + chain check of one entry, what the
#                     hub does per entry before storing it
# Each row is printed as a ratio to the single-core Ed25519 verify rate of
# the same run (measured before and after the rows, their mean), beside its goal (issue 20: the hub checks a batch's
# signatures on every core, so sync can pass 1 x).
#
# Usage: bench/sync_bench.sh [--records N] [--seconds S] [--build DIR]
#   --records N   records per row (default 30000)
#   --seconds S   duration of each verify row (default 2)
#   --build DIR   use an existing build tree; default: build build-release/
#                 (CMAKE_BUILD_TYPE=Release) like ops/bench-log.sh
# Everything runs on 127.0.0.1; the state goes under the build tree (the
# project's disk: fsync matters) and is removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
N=30000 SECS=2 BUILD=""
while [ $# -gt 0 ]; do
  case $1 in
  --records) N=$2; shift 2 ;;
  --seconds) SECS=$2; shift 2 ;;
  --build) BUILD=$2; shift 2 ;;
  -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "sync_bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$BUILD" ]; then
  BUILD=$root/build-release
  "$root/ops/install-deps.sh" >&2
  cmake -S "$root" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" \
    --target fieldtrail-hub fieldtrail-edge ft-bench-sync-verify >&2
fi
BUILD=$(cd "$BUILD" && pwd)
HUB=$BUILD/hub/fieldtrail-hub EDGE=$BUILD/edge/fieldtrail-edge
VERIFY=$BUILD/bench/ft-bench-sync-verify SIM=$root/ops/simulate.sh
for b in "$HUB" "$EDGE" "$VERIFY"; do
  [ -x "$b" ] || { echo "sync_bench: $b is not built" >&2; exit 1; }
done

W=$(mktemp -d "$BUILD/bench-sync.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$W"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
jget() { # first "KEY":number of compact JSON on stdin
  awk -v k="\"$1\":" '{ i = index($0, k); if (i) { s = substr($0, i + length(k)); sub(/[^0-9].*/, "", s); print s; exit } }'
}

port=$((20000 + RANDOM % 30000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((20000 + RANDOM % 30000)); done
"$HUB" init --state "$W/hub" --listen "tcp://127.0.0.1:$port" --advertise 127.0.0.1 --json >"$W/hub.json"
key=$(sed -n 's/.*"hub_key":"\([0-9a-f]*\)".*/\1/p' "$W/hub.json")
for v in car1 car2; do
  "$EDGE" init --state "$W/$v" --unit bench --vehicle "$v" --hub "tcp://127.0.0.1:$port" \
    --hub-key "$key" >/dev/null
  "$HUB" enroll "$W/$v/device.pub" --unit bench --vehicle "$v" --state "$W/hub" >/dev/null
  "$SIM" gen "$v" "$N" >"$W/$v.jsonl"
done
# The hub's other services (alerts PUB, media, dashboard) on ports of their
# own, or off, where this build knows the setting.
conf_try() {
  cp "$W/hub/hub.conf" "$W/hub.conf.bak"
  echo "$1 = $2" >>"$W/hub/hub.conf"
  "$HUB" devices --state "$W/hub" >/dev/null 2>&1 || mv "$W/hub.conf.bak" "$W/hub/hub.conf"
}
conf_try alerts.publish off
conf_try media.listen "tcp://127.0.0.1:$((port + 2))"
conf_try http off
"$HUB" run --state "$W/hub" --log-level warn 2>"$W/hub.log" &
PIDS+=($!)
sleep 0.5

echo "sync benchmark: $N records per row, $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), $(uname -sr)"

# The reference, measured before the rows and again after them: on a shared
# machine the load moves between the two, and each row is divided by their
# mean.
vr0=$("$VERIFY" --seconds "$SECS")

# create, then sync alone
t0=$(now)
"$EDGE" import "$W/car2.jsonl" --state "$W/car2" >/dev/null
t1=$(now)
"$EDGE" run --state "$W/car2" --until-synced --log-level warn 2>"$W/car2.log"
t2=$(now)
create=$(rate "$N" "$t0" "$t1") sync=$(rate "$N" "$t1" "$t2")
create_s=$(secs "$t0" "$t1") sync_s=$(secs "$t1" "$t2")

# end to end: the daemon runs while the records are created
"$EDGE" run --state "$W/car1" --log-level warn 2>"$W/car1.log" &
PIDS+=($!)
sleep 0.5
t0=$(now)
"$EDGE" import "$W/car1.jsonl" --state "$W/car1" >/dev/null
t1=$(now)
while :; do
  st=$("$EDGE" status --state "$W/car1" --json)
  [ "$(jget unacked <<<"$st")" = 0 ] && [ "$(jget head_seq <<<"$st")" = "$N" ] && break
  sleep 0.1
done
t2=$(now)
e2e=$(rate "$N" "$t0" "$t2") e2e_s=$(secs "$t0" "$t2") import_s=$(secs "$t0" "$t1")
held=$("$HUB" status --state "$W/hub" --json | jget entries)
[ "$held" = $((2 * N)) ] || { echo "sync_bench: hub holds $held entries, expected $((2 * N))" >&2; exit 1; }
"$HUB" verify --state "$W/hub" >/dev/null || { echo "sync_bench: hub store does not verify" >&2; exit 1; }

vr=$("$VERIFY" --seconds "$SECS")
ed0=$(awk '$1 == "ed25519_verify" { print $2 }' <<<"$vr0")
ed1=$(awk '$1 == "ed25519_verify" { print $2 }' <<<"$vr")
ed=$(awk -v a="$ed0" -v b="$ed1" 'BEGIN { printf "%.0f", (a + b) / 2 }')
ec=$(awk '$1 == "entry_check" { print $2 }' <<<"$vr")

printf '\n%-16s %12s %10s %18s %8s\n' "row" "records/s" "seconds" "vs ed25519 verify" "goal"
row() { printf '%-16s %12s %10s %18s %8s\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$ed" 'BEGIN { printf "%.3f", a / b }')" "$4"; }
row create "$create" "$create_s" "-"
row sync "$sync" "$sync_s" ">= 1.5"
row "end to end" "$e2e" "$e2e_s" ">= 0.8"
row "ed25519 verify" "$ed" "-" "-"
row "entry check" "$ec" "-" "-"
echo
echo "end to end: $N records created on an edge and committed at the hub at $e2e records/s"
echo "(the import itself took ${import_s} s of the ${e2e_s} s);"
echo "this machine verifies $ed Ed25519 signatures/s on one core (one per entry) in the same run
(mean of $ed0 before the rows and $ed1 after them)."
