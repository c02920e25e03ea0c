# lib.sh: helpers shared by the sync integration tests (sourced, not a test).
#
# Each test gets a scratch directory $T under $FT_TEST_TMP (removed when it
# passes, kept and named when it fails), starts real fieldtrail-hub and
# fieldtrail-edge processes on 127.0.0.1 on free ports, and on exit kills
# exactly the processes it started (by PID, TERM then KILL).
#
# FT_SYNC_SLOW is a factor for waits (3 under the ASan build, detected from
# the build tree's cache). FT_SYNC_SCALE divides the record counts of the
# heavy tests under ASan (4; 1 in the normal build, which runs the issue's
# numbers); FT_SYNC_RECORDS overrides a test's count outright.

# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# shellcheck disable=SC2034 # used by the scripts that source this file
{
  HUB=$FT_BUILD/hub/fieldtrail-hub
  EDGE=$FT_BUILD/edge/fieldtrail-edge
  FORGE=$FT_BUILD/tests/sync/ft_forge
  SIM=$FT_SRC/ops/simulate.sh
}
TEST_NAME=$(basename "$0" .sh)
for bin in "$HUB" "$EDGE"; do
  [ -x "$bin" ] || { echo "FAIL: $bin is not built" >&2; exit 1; }
done
if grep -q '^FT_SANITIZE:BOOL=ON' "$FT_BUILD/CMakeCache.txt" 2>/dev/null; then
  : "${FT_SYNC_SLOW:=3}" "${FT_SYNC_SCALE:=4}"
else
  : "${FT_SYNC_SLOW:=1}" "${FT_SYNC_SCALE:=1}"
fi
WAIT_SLOW=$FT_SYNC_SLOW
mkdir -p "$FT_TEST_TMP"
T=$(mktemp -d "$FT_TEST_TMP/sync.$TEST_NAME.XXXXXX")
PIDS=()            # every background process this test started
declare -A EDGE_PID # edge name -> pid of its `run`
declare -A EDGE_ID  # edge name -> device ID
HUB_PID=""

on_exit() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do
    stop_pid "$pid"
  done
  # Daemons stopped cleanly report leaks and undefined behaviour (ASan/UBSan
  # build) in their logs: any report fails the test.
  if grep -rlE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T" --include='*.log' >/dev/null 2>&1; then
    echo "FAIL: $TEST_NAME: sanitizer report in $(grep -rlE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T" --include='*.log' | head -n 3 | tr '\n' ' ')" >&2
    rc=1
  fi
  if [ "$rc" -eq 0 ]; then
    rm -rf "$T"
    echo "PASS: $TEST_NAME"
  else
    echo "scratch directory kept for inspection: $T" >&2
  fi
  exit "$rc"
}
trap on_exit EXIT
# A test stopped from outside (ctest's timeout, Ctrl-C) still stops its processes.
trap 'exit 143' TERM INT HUP
# A command that fails unexpectedly (set -e) names itself before the test ends.
set -E
trap 'fail "unexpected failure (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# rc_of CMD...: runs CMD and sets RC to its exit status (a failure is expected
# here, so it does not end the test).
rc_of() {
  RC=0
  "$@" || RC=$?
}

# hub_init: a hub in $T/hub listening on $PORT; sets HUB_KEY.
hub_init() {
  PORT=${PORT:-$(free_port)}
  "$HUB" init --state "$T/hub" --listen "tcp://127.0.0.1:$PORT" --advertise 127.0.0.1 --json \
    >"$T/hub.init.json" || fail "hub init failed"
  HUB_KEY=$(jget hub_key <"$T/hub.init.json")
  HUB_EP="tcp://127.0.0.1:$PORT"
  hub_services
}

# hub_start [ARGS...] (tests/lib/common.sh) starts `fieldtrail-hub run`.
# Other hub services get their own free ports (or are off), so that tests can
# run in parallel: each setting is added to hub.conf if this build of the hub
# knows it (a config key it does not know makes every command refuse the file).
hub_conf_try() {
  local conf=$T/hub/hub.conf
  cp "$conf" "$conf.bak"
  echo "$1 = $2" >>"$conf"
  if ! "$HUB" devices --state "$T/hub" >/dev/null 2>&1; then
    mv "$conf.bak" "$conf"
  fi
  rm -f "$conf.bak"
}
hub_services() {
  hub_conf_try alerts.publish off
  hub_conf_try media.listen "tcp://127.0.0.1:$(free_port)"
  hub_conf_try media.data_listen "tcp://127.0.0.1:$(free_port)"
  hub_conf_try http off
}
# hub_kill9 (hub_stop is in tests/lib/common.sh): end the running hub.
hub_kill9() {
  kill -KILL "$HUB_PID" 2>/dev/null || true
  wait "$HUB_PID" 2>/dev/null || true
}

# edge_new NAME: an edge in $T/NAME configured for the hub and enrolled.
edge_new() {
  local name=$1
  "$EDGE" init --state "$T/$name" --unit "unit-$name" --vehicle "car-$name" --hub "$HUB_EP" \
    --hub-key "$HUB_KEY" >/dev/null || fail "edge init $name failed"
  "$HUB" enroll "$T/$name/device.pub" --unit "unit-$name" --vehicle "car-$name" \
    --state "$T/hub" >/dev/null || fail "enroll $name failed"
  EDGE_ID[$name]=$("$EDGE" status --state "$T/$name" --json | jget device_id)
}

# edge_id NAME: its device ID.
edge_id() {
  if [ -z "${EDGE_ID[$1]:-}" ]; then
    EDGE_ID[$1]=$("$EDGE" status --state "$T/$1" --json | jget device_id)
  fi
  echo "${EDGE_ID[$1]}"
}

# edge_records NAME COUNT [START]: imports generated records into NAME.
edge_records() {
  "$SIM" gen "$1" "$2" "${3:-0}" | "$EDGE" import - --state "$T/$1" >/dev/null ||
    fail "import into $1 failed"
}

# edge_start NAME [ARGS...]: starts `fieldtrail-edge run` for NAME in the background.
edge_start() {
  local name=$1
  shift
  "$EDGE" run --state "$T/$name" "$@" 2>>"$T/$name/run.log" &
  EDGE_PID[$name]=$!
  PIDS+=("$!")
}

edge_stop() {
  if [ -n "${EDGE_PID[$1]:-}" ]; then
    stop_pid "${EDGE_PID[$1]}"
  fi
  EDGE_PID[$1]=""
}

edge_kill9() {
  [ -n "${EDGE_PID[$1]:-}" ] || return 0
  kill -KILL "${EDGE_PID[$1]}" 2>/dev/null || true
  wait "${EDGE_PID[$1]}" 2>/dev/null || true
  EDGE_PID[$1]=""
}

# edge_head NAME / edge_unacked NAME
edge_head() {
  "$EDGE" status --state "$T/$1" --json | jget head_seq
}
edge_unacked() {
  "$EDGE" status --state "$T/$1" --json | jget unacked
}

# hub_held NAME: entries the hub holds for NAME's device.
hub_held() {
  local id
  id=$(edge_id "$1")
  "$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$id\"" | jget entries
}

# wait_until SECONDS WHAT CMD...: polls CMD every 0.2 s (SECONDS scaled by FT_SYNC_SLOW).
wait_until() {
  local limit=$(($1 * FT_SYNC_SLOW)) what=$2 start=$SECONDS
  shift 2
  until "$@"; do
    [ $((SECONDS - start)) -lt "$limit" ] || fail "timed out after ${limit}s waiting for: $what"
    sleep 0.2
  done
}

# all_synced NAME...: every named edge has all its entries acknowledged and
# the hub holds exactly its head. (One status per edge, one listing at the
# hub: these are processes, and slow under ASan.)
all_synced() {
  local n st devs
  devs=$("$HUB" devices --state "$T/hub" --json)
  for n in "$@"; do
    st=$("$EDGE" status --state "$T/$n" --json)
    [ "$(jget unacked <<<"$st")" = 0 ] || return 1
    [ "$(grep "\"device_id\":\"$(edge_id "$n")\"" <<<"$devs" | jget entries)" = "$(jget head_seq <<<"$st")" ] ||
      return 1
  done
}

# check_converged NAME...: the hub verifies, holds each edge's whole log once,
# every record once, and recorded no integrity event.
check_converged() {
  local out total=0 n h held
  out=$("$HUB" verify --state "$T/hub" --json) || fail "hub verify failed: $out"
  for n in "$@"; do
    "$EDGE" verify --state "$T/$n" >/dev/null || fail "edge $n's own log does not verify"
    h=$(edge_head "$n")
    held=$(hub_held "$n")
    [ "$held" = "$h" ] || fail "hub holds $held entries of $n, edge has $h"
    total=$((total + h))
  done
  [ "$(jget entries <<<"$out")" = "$total" ] || fail "hub verified $(jget entries <<<"$out") entries, expected $total"
  [ "$(jget duplicate_ids <<<"$out")" = 0 ] || fail "duplicate record ids at the hub"
  [ "$(jget records <<<"$out")" = "$total" ] || fail "hub holds $(jget records <<<"$out") records, expected $total"
  local events
  events=$("$HUB" status --state "$T/hub" --json | jget integrity_events)
  [ "$events" = 0 ] || fail "unexpected integrity events: $events ($("$HUB" integrity --state "$T/hub"))"
  echo "converged: $total entries at the hub, each edge's log complete, verified, none twice"
}
