#!/usr/bin/env bash
# Runs fieldtrail on embedded defaults. Installs missing packages, builds,
# then runs a hub and three simulated patrol vehicles on this machine: each
# vehicle records realistic enforcement steps (ops/simulate.sh) and films most
# of its activities (real MP4 clips made with ffmpeg, dropped into the edge's
# inbox; a handful of activities stay unfilmed: real gaps), keeps them in
# its signed log and syncs them to the hub over CurveZMQ; now and then a
# vehicle drives out of coverage (its link goes down) and comes back with a
# backlog. Prints the dashboard's address and a demo login, then what is
# happening every few seconds; Ctrl-C stops everything it started and prints
# the hub's verdict.
#
# Usage: ops/demo.sh [--seconds N] [--state DIR] [--port PORT] [--no-build]
#   --seconds N   stop by itself after N seconds (default: run until Ctrl-C)
#   --state DIR   where the hub and vehicles keep their state (default var/demo)
#   --port PORT   the hub's sync port on 127.0.0.1 (default 7400)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=0 state="$root/var/demo" port=7400 build=1
while [ $# -gt 0 ]; do
  case $1 in
  --seconds) seconds=$2; shift 2 ;;
  --state) state=$2; shift 2 ;;
  --port) port=$2; shift 2 ;;
  --no-build) build=0; shift ;;
  -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$build" = 1 ]; then
  "$root/ops/install-deps.sh"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
fi

hub="$root/build/hub/fieldtrail-hub"
edge="$root/build/edge/fieldtrail-edge"
sim="$root/ops/simulate.sh"
mkdir -p "$state"
log="$state/logs"
mkdir -p "$log"
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"; }

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "demo: something already listens on 127.0.0.1:$port (another hub?); stop it or pass --port" >&2
  exit 1
fi

# The hub.
if [ ! -f "$state/hub/hub.key" ]; then
  "$hub" init --state "$state/hub" --listen "tcp://127.0.0.1:$port" --advertise 127.0.0.1
fi
hub_key=$(sed -n 's/^transport_public *= *//p' "$state/hub/hub.pub")
archive_key=$(sed -n 's/^archive_public *= *//p' "$state/hub/hub.pub") # media is sealed to it

# Three vehicles of one office, enrolled at the hub.
names=(v1 v2 v3)
plates=("冀J-ZF031" "冀J-ZF032" "冀J-ZF035")
unit="南大港产业园区自然资源所"
for i in 0 1 2; do
  v=${names[$i]}
  if [ ! -f "$state/$v/device.key" ]; then
    "$edge" init --state "$state/$v" --unit "$unit" --vehicle "${plates[$i]}" \
      --hub "tcp://127.0.0.1:$port" --hub-key "$hub_key" --archive-key "$archive_key" >/dev/null
    "$hub" enroll "$state/$v/device.pub" --unit "$unit" --vehicle "${plates[$i]}" \
      --state "$state/hub"
  fi
done
# Vehicle 1 also carries the complete sample case (re-importing is a no-op).
"$edge" import "$root/ops/sample-records.jsonl" --state "$state/v1" >/dev/null

PIDS=()
declare -A RUN
stopping=0
stop_all() {
  [ "$stopping" = 0 ] || exit 0
  stopping=1
  trap - INT TERM HUP PIPE
  echo
  say "stopping: vehicles, their sync daemons and the hub"
  local p
  for p in "${PIDS[@]}" "${RUN[@]}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}" "${RUN[@]}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  echo
  "$hub" status --state "$state/hub" || true
  echo
  "$hub" verify --state "$state/hub" | tail -n 1 || true
  echo
  say "gap alerts (docs/alerts.md): what should have been recorded and was not"
  "$hub" alerts --state "$state/hub" --state-filter open | tail -n 12 || true
  echo
  echo "State kept in $state (logs in $log). Run ops/demo.sh again to continue."
  exit 0
}
# Whatever ends the script (Ctrl-C, a closed terminal or pipe, an error), the
# processes it started are stopped.
trap stop_all INT TERM HUP PIPE EXIT

"$hub" run --state "$state/hub" 2>>"$log/hub.log" &
PIDS+=($!)
sleep 1
kill -0 "${PIDS[0]}" 2>/dev/null || { echo "demo: the hub did not start; see $log/hub.log" >&2; tail -n 5 "$log/hub.log" >&2; exit 1; }
say "hub running on tcp://127.0.0.1:$port (log: $log/hub.log)"
# The web dashboard (hub/web/http.c, docs/api.md): a demo login and its address.
users=$("$hub" user list --state "$state/hub" --json 2>/dev/null || true)
if ! grep -q '"name":"demo"' <<<"$users"; then
  printf '%s\n' "fieldtrail-demo" | "$hub" user add demo --role admin --state "$state/hub" >/dev/null 2>&1 || true
fi
url=$(cat "$state/hub/web/url" 2>/dev/null || echo "http://127.0.0.1:7480/")
say "dashboard: $url   login: demo / fieldtrail-demo"
wp=${url##*:}
wp=${wp%%/*}
say "from another machine: ssh -L $wp:127.0.0.1:$wp $(id -un)@$(hostname), then open http://127.0.0.1:$wp/ there"
say "the hub's view at any time: $hub status --state $state/hub"
command -v ffmpeg >/dev/null ||
  say "no ffmpeg: the vehicles film nothing and every activity is a gap (ops/install-deps.sh installs it)"

link_up() { # vehicle
  "$edge" run --state "$state/$1" 2>>"$log/$1-sync.log" &
  RUN[$1]=$!
}
link_down() {
  kill -TERM "${RUN[$1]}" 2>/dev/null || true
  wait "${RUN[$1]}" 2>/dev/null || true
  RUN[$1]=""
}
for i in 0 1 2; do
  v=${names[$i]}
  # Each vehicle records a few steps every 2-3 seconds.
  "$sim" vehicle "$edge" "$state/$v" "$v" $((2 + i % 2)) $((3 + i)) >>"$log/$v-records.log" 2>&1 &
  PIDS+=($!)
  link_up "$v"
  say "vehicle $v (${plates[$i]}) on patrol, syncing to the hub"
done

show() {
  local i v st head unacked link
  for i in 0 1 2; do
    v=${names[$i]}
    st=$("$edge" status --state "$state/$v" --json 2>/dev/null) || continue
    head=$(sed -n 's/.*"head_seq":\([0-9]*\).*/\1/p' <<<"$st")
    unacked=$(sed -n 's/.*"unacked":\([0-9]*\).*/\1/p' <<<"$st")
    if [ -n "${RUN[$v]}" ]; then link="online "; else link="OFFLINE"; fi
    printf '          %s %s  %s  %6s records, %5s waiting for the hub\n' "$v" "${plates[$i]}" "$link" "$head" "$unacked"
  done
  st=$("$hub" status --state "$state/hub" --json 2>/dev/null) || return 0
  printf '          hub: %s entries held, %s integrity events\n' \
    "$(sed -n 's/.*"hub":{[^}]*"entries":\([0-9]*\).*/\1/p' <<<"$st")" \
    "$(sed -n 's/.*"integrity_events":\([0-9]*\).*/\1/p' <<<"$st")"
}

start=$SECONDS next_event=$((SECONDS + 12)) offline="" back_at=0
while [ "$seconds" = 0 ] || [ $((SECONDS - start)) -lt "$seconds" ]; do
  sleep 5
  if [ -n "$offline" ] && [ "$SECONDS" -ge "$back_at" ]; then
    say "vehicle $offline is back in coverage: its sync daemon sends the backlog"
    link_up "$offline"
    offline=""
    next_event=$((SECONDS + 10 + RANDOM % 10))
  elif [ -z "$offline" ] && [ "$SECONDS" -ge "$next_event" ]; then
    offline=${names[$((RANDOM % 3))]}
    back_at=$((SECONDS + 10 + RANDOM % 10))
    link_down "$offline"
    say "vehicle $offline drives out of coverage: it keeps recording, nothing is lost"
  fi
  say "status"
  show
done
stop_all
