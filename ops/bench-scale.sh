#!/usr/bin/env bash
# Scale benchmark: one hub, EDGES simulated edges (default 1000) in one
# driver process (bench/scale.c: a DEALER, keys and a signed log each,
# enrolled in bulk), each syncing a day of RECORDS records (default 60).
# Prints the hub's RSS (now and peak), the convergence time, the rate and
# the fairness ratio (slowest / fastest edge to converge), then checks the
# hub's store (fieldtrail-hub verify).
#
# Usage: ops/bench-scale.sh [EDGES] [RECORDS] [BUILD_DIR]
#   BUILD_DIR default build-rel (built if missing). The hub's state and the
#   keys go to a scratch directory under BUILD_DIR/test-tmp (removed after).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
edges=${1:-1000}
records=${2:-60}
build=${3:-$root/build-rel}
if [ ! -x "$build/bench/ft-bench-scale" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j 2 --target ft-bench-scale fieldtrail-hub
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
"$build/bench/ft-bench-scale" enroll "$T/hub" "$edges" "$T/keys"
"$HUB" run --state "$T/hub" --http off --publish off 2>"$T/hub.log" &
hub_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
echo "hub: RSS at start $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$hub_pid/status")"
"$build/bench/ft-bench-scale" run "tcp://127.0.0.1:$port" "$hub_key" "$edges" "$T/keys" "$records" \
  --hub-pid "$hub_pid"
"$HUB" verify --state "$T/hub" --json | sed 's/,"devices":\[.*\],"hublog"/,"hublog"/; s/^/hub verify: /'
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
