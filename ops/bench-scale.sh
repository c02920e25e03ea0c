#!/usr/bin/env bash
# Scale benchmark: one hub, EDGES simulated edges (default 1000) in one
# driver process (bench/scale.c: a DEALER, keys and a signed log each,
# enrolled in bulk), each syncing a day of RECORDS records (default 60).
# Prints the hub's RSS (now and peak), the convergence time, the rate and
# the fairness ratio (slowest / fastest edge to converge), then checks the
# hub's store (fieldtrail-hub verify), and prints the rows of issue 20 with
# their goals and the convergence time as a ratio to the time one core
# takes to verify every entry's signature, measured in the same run.
#
# Usage: ops/bench-scale.sh [EDGES] [RECORDS] [BUILD_DIR] [DRIVER OPTIONS...]
#   BUILD_DIR default build-rel (built if missing). DRIVER OPTIONS go to
#   `ft-bench-scale run` (e.g. --trace: each edge's TCP connection and
#   handshake times among the phases it prints). The hub's state and the
#   keys go to a scratch directory under BUILD_DIR/test-tmp (removed after).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
edges=${1:-1000}
records=${2:-60}
build=${3:-$root/build-rel}
shift $(($# < 3 ? $# : 3))
if [ ! -x "$build/bench/ft-bench-scale" ] || [ ! -x "$build/bench/ft-bench-sync-verify" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j 2 --target ft-bench-scale ft-bench-sync-verify fieldtrail-hub
fi
HUB=$build/hub/fieldtrail-hub
mkdir -p "$build/test-tmp"
T=$(mktemp -d "$build/test-tmp/bench-scale.XXXXXX")
hub_pid=""
cleanup() {
  if [ -n "$hub_pid" ]; then
    kill -TERM "$hub_pid" 2>/dev/null || true
    wait "$hub_pid" 2>/dev/null || true
  fi
  rm -rf "$T"
}
trap cleanup EXIT
# A free port.
while :; do
  port=$((20000 + RANDOM % 30000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$HUB" init --state "$T/hub" --listen "tcp://127.0.0.1:$port" --json >"$T/init.json"
hub_key=$(sed -n 's/.*"hub_key":"\([0-9a-f]*\)".*/\1/p' "$T/init.json")
echo "media.listen = tcp://127.0.0.1:$((port + 2))" >>"$T/hub/hub.conf"
# A hub for a fleet keeps one connection per vehicle: the sync port's cap
# (256 by default, docs/operations.md) is raised to the fleet, and as many
# may be in their handshake at once when the whole fleet arrives together.
{
  echo "sync.max_connections = $((edges + 64))"
  echo "sync.max_handshaking = $((edges + 64))"
} >>"$T/hub/hub.conf"
"$build/bench/ft-bench-scale" enroll "$T/hub" "$edges" "$T/keys"
"$HUB" run --state "$T/hub" --http off --publish off 2>"$T/hub.log" &
hub_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
echo "hub: RSS at start $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$hub_pid/status")"
"$build/bench/ft-bench-scale" run "tcp://127.0.0.1:$port" "$hub_key" "$edges" "$T/keys" "$records" \
  --hub-pid "$hub_pid" "$@" | tee "$T/run.txt"
"$HUB" verify --state "$T/hub" --json >"$T/verify.json" || true
sed 's/,"devices":\[.*\],"hublog"/,"hublog"/; s/^/hub verify: /' "$T/verify.json"
grep -q '^{"ok":true' "$T/verify.json" && verified=OK || verified=FAILED
# The reference of the same run: this machine's single-core Ed25519 verify
# rate, and the seconds that checking every entry's signature on one core
# alone would take.
ed=$("$build/bench/ft-bench-sync-verify" --seconds 2 | awk '$1 == "ed25519_verify" { print $2 }')
field() { sed -n "s/^scale:.* $1=\([0-9.]*\).*/\1/p" "$T/run.txt"; }
conv=$(field converged_s) fair=$(field fairness)
verify_s=$(awk -v n="$((edges * records))" -v r="$ed" 'BEGIN { printf "%.2f", n / r }')
echo
printf '%-34s %10s %12s %22s\n' "row" "figure" "goal" "vs verify-only time"
printf '%-34s %10s %12s %22s\n' "converged ($edges edges x $records)" "${conv} s" "<= 5 s" \
  "$(awk -v a="$conv" -v b="$verify_s" 'BEGIN { printf "%.2f", a / b }')"
printf '%-34s %10s %12s %22s\n' "slowest / fastest edge" "$fair" "<= 2" "-"
printf '%-34s %10s %12s %22s\n' "hub verify" "$verified" "OK" "-"
printf '%-34s %10s %12s %22s\n' "every edge: verified receipt" \
  "$(grep -q '^converge: OK' "$T/run.txt" && echo OK || echo FAILED)" "OK" "-"
echo "reference: $ed Ed25519 verifies/s on one core; $((edges * records)) entries = $verify_s s of verifying"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
