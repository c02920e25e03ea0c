# lib.sh: helpers shared by the gap-engine scenario tests (sourced, not a test).
#
# Each scenario runs real processes on 127.0.0.1: a hub (`fieldtrail-hub
# run`, every service on a free port or off) and edges that import JSON-lines
# records (plus media manifests appended by ft_media) and sync with
# `fieldtrail-edge run --until-synced`. The hub's evaluation clock is frozen
# with --now; `fieldtrail-hub evaluate --now` re-checks after the hub stops;
# `fieldtrail-hub alerts --brief` gives rule|article|case|state|what lines,
# compared exactly (sorted) with tests/gaps/expected/<scenario>.
#
# Clock offsets: an edge started with edge_sync_skewed NAME SECONDS runs under
# libfaketime (Debian's faketime package, ops/install-deps.sh) with its clock
# SECONDS behind, so the hub measures +SECONDS at its Hello; its records and
# media carry times as that wrong clock read them (the scenario writes them
# shifted), and the hub must correct them (docs/alerts.md).
#
# The scratch directory $T is removed when the test passes and kept when it
# fails; exactly the processes the test started are stopped (by PID).

# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# shellcheck disable=SC2034
{
  HUB=$FT_BUILD/hub/fieldtrail-hub
  EDGE=$FT_BUILD/edge/fieldtrail-edge
  MEDIA=$FT_BUILD/tests/gaps/ft_media
  HOOKD=$FT_BUILD/tests/gaps/ft_hookd
  SUB=$FT_BUILD/tests/gaps/ft_sub
  FORGE=$FT_BUILD/tests/sync/ft_forge
  EXPECTED=$FT_SRC/tests/gaps/expected
}
TEST_NAME=$(basename "$0" .sh)
for bin in "$HUB" "$EDGE" "$MEDIA"; do
  [ -x "$bin" ] || { echo "FAIL: $bin is not built" >&2; exit 1; }
done
SLOW=1
if grep -q '^FT_SANITIZE:BOOL=ON' "$FT_BUILD/CMakeCache.txt" 2>/dev/null; then
  SLOW=3
fi
WAIT_SLOW=$SLOW
mkdir -p "$FT_TEST_TMP"
T=$(mktemp -d "$FT_TEST_TMP/gaps.$TEST_NAME.XXXXXX")
PIDS=()
HUB_PID=""

on_exit() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do
    stop_pid "$pid"
  done
  if [ "$rc" -eq 0 ]; then
    rm -rf "$T"
    echo "PASS: $TEST_NAME"
  else
    echo "scratch directory kept for inspection: $T" >&2
  fi
}
trap on_exit EXIT

# hub_init: a hub in $T/hub on free ports: sync $PORT, alerts PUB $PUB_PORT,
# media and its chunk data path each on a free port (left unset, the data
# path would take the media port + 1, which free_port may have handed to
# another test), no dashboard.
hub_init() {
  PORT=$(free_port)
  PUB_PORT=$(free_port)
  "$HUB" init --state "$T/hub" --listen "tcp://127.0.0.1:$PORT" --advertise 127.0.0.1 --json \
    >"$T/hub.init.json" || fail "hub init failed"
  HUB_KEY=$(jget hub_key <"$T/hub.init.json")
  HUB_EP="tcp://127.0.0.1:$PORT"
  printf '\nhttp = off\n[media]\nlisten = tcp://127.0.0.1:%s\ndata_listen = tcp://127.0.0.1:%s\n[alerts]\npublish = tcp://127.0.0.1:%s\n' \
    "$(free_port)" "$(free_port)" "$PUB_PORT" >>"$T/hub/hub.conf"
}

# edge_new NAME UNIT: an edge in $T/NAME, enrolled for UNIT.
edge_new() {
  "$EDGE" init --state "$T/$1" --unit "$2" --vehicle "car-$1" --hub "$HUB_EP" \
    --hub-key "$HUB_KEY" >/dev/null || fail "edge init $1 failed"
  "$HUB" enroll "$T/$1/device.pub" --unit "$2" --vehicle "car-$1" --state "$T/hub" \
    >/dev/null || fail "enroll $1 failed"
}

# edge_import NAME FILE: imports a JSON-lines file; every line must be accepted.
edge_import() {
  local out
  out=$("$EDGE" import "$2" --state "$T/$1" 2>&1) || fail "import into $1 failed: $out"
  grep -q ' 0 rejected' <<<"$out" || fail "import into $1 rejected lines: $out"
}

# media NAME FILE_ID RECORDER OFFICER CASE START END [KIND]: a manifest in NAME's log.
media() {
  local name=$1
  shift
  "$MEDIA" "$T/$name" "$@" >/dev/null || fail "ft_media $name $*"
}

# edge_sync NAME: runs the edge until the hub acknowledged everything.
edge_sync() {
  "$EDGE" run --state "$T/$1" --until-synced --timeout $((60 * SLOW)) 2>>"$T/$1/run.log" ||
    fail "edge $1 did not sync"
}

# edge_sync_skewed NAME SECONDS: edge_sync with the edge's clock SECONDS behind.
edge_sync_skewed() {
  local lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
  [ -f "$lib" ] || lib=$(find /usr/lib -name 'libfaketime.so.1' 2>/dev/null | sed -n 1p)
  [ -n "$lib" ] && [ -f "$lib" ] || fail "libfaketime is not installed (ops/install-deps.sh installs faketime)"
  LD_PRELOAD=$lib FAKETIME="-$2" DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$EDGE" run --state "$T/$1" --until-synced --timeout $((60 * SLOW)) 2>>"$T/$1/run.log" ||
    fail "edge $1 (clock $2 s behind) did not sync"
}

# evaluate_at TIME: `fieldtrail-hub evaluate --now TIME`.
evaluate_at() {
  "$HUB" evaluate --state "$T/hub" --now "$1" >>"$T/evaluate.log" 2>&1 ||
    fail "evaluate failed: $(tail -n 3 "$T/evaluate.log")"
}

# wait_indexed N: waits until the running hub's engine logged N indexed entries in total.
wait_indexed() {
  local want=$1 start=$SECONDS got
  while :; do
    got=$(awk '/gap engine: [0-9]+ entries indexed/ { for (i = 1; i <= NF; i++) if ($i == "entries") s += $(i - 1) } END { print s + 0 }' "$T/hub/hub.log")
    [ "$got" -ge "$want" ] && return 0
    [ $((SECONDS - start)) -lt $((30 * SLOW)) ] || fail "the running hub indexed $got entries, expected $want"
    sleep 0.2
  done
}

# check_alerts SCENARIO [ALERTS ARGS...]: the alert set (alerts --brief, sorted)
# equals tests/gaps/expected/SCENARIO exactly.
check_alerts() {
  local name=$1
  shift
  "$HUB" alerts --state "$T/hub" --brief "$@" | LC_ALL=C sort >"$T/$name.got" ||
    fail "alerts failed"
  grep -v '^#' "$EXPECTED/$name" | sed '/^$/d' | LC_ALL=C sort >"$T/$name.want"
  if ! diff -u "$T/$name.want" "$T/$name.got" >"$T/$name.diff"; then
    cat "$T/$name.diff" >&2
    fail "alert set differs from expected/$name (- expected, + got)"
  fi
  echo "alerts as expected: $name ($(wc -l <"$T/$name.got") alerts)"
}
