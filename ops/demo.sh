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

# ---- the hub and its web dashboard (hub/http.c, docs/api.md) ----
# A hub in var/demo/hub (started in the background if the steps above did
# not start one), the demo unit enrolled and synced, and a demo login.
hub="$root/build/hub/fieldtrail-hub"
hubstate="$root/var/demo/hub"
if [ ! -f "$hubstate/hub.key" ]; then
  "$hub" init --state "$hubstate" --listen tcp://127.0.0.1:7400 --advertise 127.0.0.1 >/dev/null
fi
if ! { [ -f "$root/var/demo/hub.pid" ] && kill -0 "$(cat "$root/var/demo/hub.pid")" 2>/dev/null; }; then
  "$hub" enroll "$state/device.pub" --unit "南大港产业园区自然资源所" --vehicle "冀J-ZF031" \
    --state "$hubstate" >/dev/null
  nohup "$hub" run --state "$hubstate" >>"$root/var/demo/hub.log" 2>&1 &
  echo $! >"$root/var/demo/hub.pid"
  sleep 1
fi
hubkey=$(awk -F' = ' '$1 == "transport_public" { print $2 }' "$hubstate/hub.pub")
"$edge" run --state "$state" --hub tcp://127.0.0.1:7400 --hub-key "$hubkey" --until-synced \
  --timeout 30 2>>"$root/var/demo/edge-run.log" || echo "demo: the edge did not sync (see var/demo/edge-run.log)"
if ! "$hub" user list --state "$hubstate" --json | grep -q '"name":"demo"'; then
  printf '%s\n' "fieldtrail-demo" | "$hub" user add demo --role admin --state "$hubstate" >/dev/null
fi
url=$(cat "$hubstate/web/url" 2>/dev/null || echo "http://127.0.0.1:7480/")
echo
echo "dashboard: $url   login: demo / fieldtrail-demo   (stop the hub: kill \$(cat var/demo/hub.pid))"
