#!/usr/bin/env bash
# Runs fieldtrail on embedded defaults. Installs missing packages, builds,
# then creates a vehicle unit in var/demo/edge, imports the sample records of
# a complete land-enforcement case, verifies the signed log and lists it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/ops/install-deps.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"

edge="$root/build/edge/fieldtrail-edge"
state="$root/var/demo/edge"
if [ ! -f "$state/device.key" ]; then
  "$edge" init --state "$state" --unit "南大港产业园区自然资源所" --vehicle "冀J-ZF031"
fi
"$edge" import "$root/ops/sample-records.jsonl" --state "$state"
"$edge" verify --state "$state"
"$edge" log --state "$state"
"$edge" status --state "$state"
