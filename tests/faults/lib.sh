# lib.sh: helpers shared by the fault tests (sourced, not a test).
#
# Each test gets a scratch directory $T under $FT_TEST_TMP (removed when it
# passes, kept and named when it fails), runs real fieldtrail-hub and
# fieldtrail-edge processes, optionally inside network namespaces it creates
# (netns_pair), and on exit undoes exactly what it did: kills the processes
# it started (by PID), deletes its namespaces, unmounts its mounts.
#
# A test that needs a privilege or kernel feature the machine lacks calls
# skip REASON: it prints "SKIP: REASON" and exits 77, which CTest reports as
# skipped (SKIP_RETURN_CODE), never as passed.
#
# Every test ends with converge (tests/tools/ft_converge), whose one-line
# verdict is in the output.

# The ctest environment and stop_pid come from tests/lib/common.sh; this
# library defines its own fail, free_port and hub start/stop (namespaces);
# jget is common.sh's.
# shellcheck source=../lib/common.sh
. "${FT_SRC:?FT_SRC is not set: run this test through ctest}/tests/lib/common.sh"

# shellcheck disable=SC2034 # used by the scripts that source this file
{
  HUB=$FT_BUILD/hub/fieldtrail-hub
  EDGE=$FT_BUILD/edge/fieldtrail-edge
  CONVERGE=$FT_BUILD/tests/tools/ft_converge
  PROXY=$FT_BUILD/tests/faults/ft_proxy
  SIM=$FT_SRC/ops/simulate.sh
}
TEST_NAME=$(basename "$0" .sh)
for bin in "$HUB" "$EDGE" "$CONVERGE"; do
  [ -x "$bin" ] || { echo "FAIL: $bin is not built" >&2; exit 1; }
done
if [ -z "${FT_SLOW:-}" ]; then
  FT_SLOW=1
  if grep -q '^FT_SANITIZE:BOOL=ON' "$FT_BUILD/CMakeCache.txt" 2>/dev/null; then
    FT_SLOW=3
  fi
fi
mkdir -p "$FT_TEST_TMP"
T=$(mktemp -d "$FT_TEST_TMP/faults.$TEST_NAME.XXXXXX")
PIDS=()      # background processes this test started
NETNS=()     # network namespaces it created
MOUNTS=()    # mount points it mounted
declare -A EDGE_PID # edge name -> pid of its `run`
declare -A EDGE_NS  # edge name -> namespace it runs in ("" = this one)
HUB_PID=""
HUB_NS=""
HUB_ADDR=127.0.0.1

on_exit() {
  local rc=$? pid ns m
  for pid in "${PIDS[@]}"; do
    stop_pid "$pid"
  done
  for m in "${MOUNTS[@]}"; do
    umount -l "$m" 2>/dev/null || true
  done
  for ns in "${NETNS[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ "$rc" -eq 0 ]; then
    rm -rf "$T"
    echo "PASS: $TEST_NAME"
  elif [ "$rc" -eq 77 ]; then
    rm -rf "$T"
  else
    echo "scratch directory kept for inspection: $T" >&2
  fi
}
trap on_exit EXIT
trap 'exit 143' TERM INT HUP # so that on_exit runs on a signal too
set -E
trap 'fail "unexpected failure (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

fail() {
  echo "FAIL: $TEST_NAME: $1" >&2
  local f
  for f in "$T"/hub/hub.log "$T"/*/run.log "$T"/proxy*.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 12 "$f" >&2
  done
  exit 1
}

skip() {
  echo "SKIP: $TEST_NAME: $1"
  exit 77
}

# seed_init: SEED from FT_FAULT_SEED or the clock; printed so a run can be repeated.
seed_init() {
  SEED=${FT_FAULT_SEED:-$(( $(date +%s%N) % 100000 ))}
  RANDOM=$SEED
  echo "seed $SEED (repeat with FT_FAULT_SEED=$SEED)"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on, with port+2 and
# port+3 free too (the hub's media endpoint and chunk data path, and the
# proxies', hub_init and the net_* tests), each claimed for this test
# (port_claim, tests/lib/common.sh) so that no other free_port of this or a
# parallel test hands them out before they are bound.
free_port() {
  local p
  while :; do
    p=$((20000 + SRANDOM % 12000)) # below the ephemeral range; SRANDOM ignores test seeds
    port_listened "$p" || port_listened $((p + 2)) || port_listened $((p + 3)) && continue
    port_claim "$p" $((p + 2)) $((p + 3)) || continue
    echo "$p"
    return
  done
}

# in_ns NS CMD...: CMD in namespace NS ("" = here).
in_ns() {
  local ns=$1
  shift
  if [ -n "$ns" ]; then
    ip netns exec "$ns" "$@"
  else
    "$@"
  fi
}

# bg NS LOG CMD...: CMD in the background in namespace NS ("" = here),
# stderr appended to LOG; BG_PID is its PID (ip netns exec execs, so the PID
# is the program's own and killing it kills the program).
bg() {
  local ns=$1 log=$2
  shift 2
  if [ -n "$ns" ]; then
    ip netns exec "$ns" "$@" 2>>"$log" &
  else
    "$@" 2>>"$log" &
  fi
  BG_PID=$!
  PIDS+=("$BG_PID")
}

# need_netns: skips unless this process may create namespaces, veth pairs and nftables rules.
need_netns() {
  command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
  command -v nft >/dev/null || skip "nftables (nft) is not installed"
  local probe="ftprobe$$"
  ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace (needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
  if ! ip netns exec "$probe" nft add table inet probe 2>/dev/null; then
    ip netns del "$probe"
    skip "nftables is not usable in a network namespace (kernel without nf_tables?)"
  fi
  ip netns del "$probe"
}

# netns_pair: namespaces $NS_HUB and $NS_EDGE joined by a veth pair
# (hub 10.77.0.1/24 on $IF_HUB, edges 10.77.0.2/24 on $IF_EDGE), each with lo up.
# The addresses live only inside these namespaces.
netns_pair() {
  need_netns
  NS_HUB="fth$$"
  NS_EDGE="fte$$"
  IF_HUB="vh$$"
  IF_EDGE="ve$$"
  ip netns add "$NS_HUB"
  NETNS+=("$NS_HUB")
  ip netns add "$NS_EDGE"
  NETNS+=("$NS_EDGE")
  ip link add "$IF_HUB" netns "$NS_HUB" type veth peer name "$IF_EDGE" netns "$NS_EDGE"
  ip -n "$NS_HUB" addr add 10.77.0.1/24 dev "$IF_HUB"
  ip -n "$NS_EDGE" addr add 10.77.0.2/24 dev "$IF_EDGE"
  ip -n "$NS_HUB" link set lo up
  ip -n "$NS_EDGE" link set lo up
  ip -n "$NS_HUB" link set "$IF_HUB" up
  ip -n "$NS_EDGE" link set "$IF_EDGE" up
  # An nftables table in the edges' namespace that the fault functions fill.
  ip netns exec "$NS_EDGE" nft -f - <<NFT
table inet ftfault {
  chain in { type filter hook input priority 0; policy accept; }
  chain out { type filter hook output priority 0; policy accept; }
}
NFT
  HUB_NS=$NS_HUB
  HUB_ADDR=10.77.0.1
  echo "namespaces: hub in $NS_HUB (10.77.0.1), edges in $NS_EDGE (10.77.0.2), veth $IF_EDGE-$IF_HUB"
}

# loss PERCENT: drop PERCENT % of packets both ways on the edges' link (0 = none).
loss() {
  ip netns exec "$NS_EDGE" nft flush chain inet ftfault in
  ip netns exec "$NS_EDGE" nft flush chain inet ftfault out
  if [ "$1" -gt 0 ]; then
    ip netns exec "$NS_EDGE" nft add rule inet ftfault in iifname "$IF_EDGE" numgen random mod 100 \< "$1" drop
    ip netns exec "$NS_EDGE" nft add rule inet ftfault out oifname "$IF_EDGE" numgen random mod 100 \< "$1" drop
  fi
}
# partition on|off: drop everything on the edges' link (both ways).
partition() {
  ip netns exec "$NS_EDGE" nft flush chain inet ftfault in
  ip netns exec "$NS_EDGE" nft flush chain inet ftfault out
  if [ "$1" = on ]; then
    ip netns exec "$NS_EDGE" nft add rule inet ftfault in iifname "$IF_EDGE" drop
    ip netns exec "$NS_EDGE" nft add rule inet ftfault out oifname "$IF_EDGE" drop
  fi
}
# rate KBIT: limit both directions of the link with tbf.
rate() {
  local ns dev
  for ns in "$NS_EDGE:$IF_EDGE" "$NS_HUB:$IF_HUB"; do
    dev=${ns#*:}
    ns=${ns%%:*}
    ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "${1}kbit" burst 16kbit latency 2000ms ||
      skip "tc tbf qdisc is not available in this kernel"
  done
}

# hub_init: a hub in $T/hub on $HUB_ADDR:$PORT (media on $PORT+2, its chunk
# data path on $PORT+3); sets HUB_KEY, HUB_EP, ARCHIVE_PK.
hub_init() {
  PORT=${PORT:-$(free_port)}
  "$HUB" init --state "$T/hub" --listen "tcp://$HUB_ADDR:$PORT" --advertise "$HUB_ADDR" --json \
    >"$T/hub.init.json" || fail "hub init failed"
  HUB_KEY=$(jget hub_key <"$T/hub.init.json")
  HUB_EP="tcp://$HUB_ADDR:$PORT"
  MEDIA_EP="tcp://$HUB_ADDR:$((PORT + 2))"
  echo "media.listen = $MEDIA_EP" >>"$T/hub/hub.conf"
  echo "media.data_listen = tcp://$HUB_ADDR:$((PORT + 3))" >>"$T/hub/hub.conf"
  ARCHIVE_PK=$(sed -n 's/^archive_public = //p' "$T/hub/hub.pub")
}

# hub_listening: the hub accepts TCP connections on its port.
hub_listening() {
  in_ns "$HUB_NS" bash -c "exec 3<>/dev/tcp/$HUB_ADDR/$PORT" 2>/dev/null
}

# hub_start [ARGS...]: `fieldtrail-hub run` in the background (in $HUB_NS),
# log appended to $T/hub/hub.log; waits until it listens.
hub_start() {
  # shellcheck disable=SC2086 # HUB_WRAP is a command prefix (valgrind ...)
  bg "$HUB_NS" "$T/hub/hub.log" ${HUB_WRAP:-} "$HUB" run --state "$T/hub" --http off \
    --publish off "$@"
  HUB_PID=$BG_PID
  local i
  for i in $(seq $((150 * FT_SLOW))); do
    hub_listening && return 0
    kill -0 "$HUB_PID" 2>/dev/null || fail "the hub exited at start-up"
    sleep 0.1
  done
  fail "the hub did not start listening on $HUB_ADDR:$PORT"
}
hub_kill9() {
  kill -KILL "$HUB_PID" 2>/dev/null || true
  wait "$HUB_PID" 2>/dev/null || true
}
hub_stop() {
  stop_pid "$HUB_PID"
}

# edge_new NAME [HUB_ENDPOINT [MEDIA_ENDPOINT]]: an edge in $T/NAME, enrolled,
# with the hub's archive key (for media).
edge_new() {
  local name=$1 ep=${2:-$HUB_EP} mep=${3:-$MEDIA_EP}
  "$EDGE" init --state "$T/$name" --unit "unit-$name" --vehicle "car-$name" --hub "$ep" \
    --hub-key "$HUB_KEY" >/dev/null || fail "edge init $name failed"
  printf 'archive_key = %s\nmedia.hub = %s\n' "$ARCHIVE_PK" "$mep" >>"$T/$name/edge.conf"
  "$HUB" enroll "$T/$name/device.pub" --unit "unit-$name" --vehicle "car-$name" \
    --state "$T/hub" >/dev/null || fail "enroll $name failed"
  EDGE_NS[$name]=${EDGE_NS_DEFAULT:-}
}

edge_records() { # NAME COUNT [START]
  "$SIM" gen "$1" "$2" "${3:-0}" | "$EDGE" import - --state "$T/$1" >/dev/null ||
    fail "import into $1 failed"
}

# edge_media NAME KIB [COUNT]: COUNT (default 1) random files of KIB KiB ingested into NAME.
edge_media() {
  local name=$1 kib=$2 n=${3:-1} i f
  mkdir -p "$T/media-src"
  for i in $(seq "$n"); do
    f="$T/media-src/${name//\//-}-$i.mp4"
    head -c "$((kib * 1024))" /dev/urandom >"$f"
    "$EDGE" ingest "$f" --recorder "DSJ-$name" --state "$T/$name" >/dev/null 2>>"$T/$name/ingest.log" ||
      fail "ingest into $name failed"
  done
}

edge_start() { # NAME [ARGS...]
  local name=$1
  shift
  # shellcheck disable=SC2086 # EDGE_WRAP is a command prefix (valgrind, faketime ...)
  bg "${EDGE_NS[$name]:-}" "$T/$name/run.log" ${EDGE_WRAP:-} "$EDGE" run --state "$T/$name" "$@"
  EDGE_PID[$name]=$BG_PID
}
edge_stop() {
  [ -n "${EDGE_PID[$1]:-}" ] && stop_pid "${EDGE_PID[$1]}"
  EDGE_PID[$1]=""
}
edge_kill9() {
  [ -n "${EDGE_PID[$1]:-}" ] || return 0
  kill -KILL "${EDGE_PID[$1]}" 2>/dev/null || true
  wait "${EDGE_PID[$1]}" 2>/dev/null || true
  EDGE_PID[$1]=""
}

# revive: restarts the hub or an edge that died on its own (as systemd's
# Restart= would), counts it in CRASHES and says what killed it. A crash
# is not data loss - the checker at the end still decides - but it is
# printed loudly and summarised by crash_report.
CRASHES=0
revive() {
  local n log
  if [ -n "$HUB_PID" ] && ! kill -0 "$HUB_PID" 2>/dev/null; then
    wait "$HUB_PID" 2>/dev/null || true
    CRASHES=$((CRASHES + 1))
    crash_log hub "$T/hub/hub.log"
    hub_start "${HUB_ARGS[@]}"
  fi
  for n in "${!EDGE_PID[@]}"; do
    [ -n "${EDGE_PID[$n]}" ] || continue
    if ! kill -0 "${EDGE_PID[$n]}" 2>/dev/null; then
      wait "${EDGE_PID[$n]}" 2>/dev/null || true
      log="$T/$n/run.log"
      CRASHES=$((CRASHES + 1))
      crash_log "edge $n" "$log"
      edge_start "$n" "${EDGE_ARGS[@]}"
    fi
  done
}
HUB_ARGS=()
EDGE_ARGS=()
# crash_log WHO LOG: says what killed WHO: the last line of its log, and the
# sanitizer's report or the last 25 lines when there is more to say.
crash_log() {
  local who=$1 log=$2 what
  what=$(grep -m1 -E 'ERROR: AddressSanitizer|runtime error:|Assertion failed' "$log" || tail -n 1 "$log")
  echo "CRASH: $who died by itself: $what; restarting it" >&2
  echo "crash: $who: $what" >>"$T/crashes"
  if grep -q -E 'ERROR: AddressSanitizer|runtime error:' "$log"; then
    echo "---- sanitizer report of $who" >&2
    sed -n '/ERROR: AddressSanitizer\|runtime error:/,/^SUMMARY/p' "$log" | sed -n 1,40p >&2
  fi
  # The next start appends to the same log: keep this one apart.
  cp "$log" "$log.crash$CRASHES" 2>/dev/null || true
  : >"$log"
}
# crash_report: one line on the crashes revive saw (grouped by message).
crash_report() {
  if [ "$CRASHES" -gt 0 ]; then
    echo "WARNING: $CRASHES process crash(es) during the faults, restarted:"
    sort "$T/crashes" | uniq -c
  else
    echo "no process crashed"
  fi
}
# alive_and CMD...: revive, then CMD (for wait_until).
alive_and() {
  revive
  "$@"
}

edge_id() { "$EDGE" status --state "$T/$1" --json | jget device_id; }
edge_head() { "$EDGE" status --state "$T/$1" --json | jget head_seq; }
hub_held() { # NAME: entries the hub holds of NAME
  local id
  id=$(edge_id "$1")
  "$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$id\"" | jget entries
}
# logs_synced NAME...: the hub holds each edge's whole log (media aside).
logs_synced() {
  local n
  for n in "$@"; do
    [ "$(hub_held "$n")" = "$(edge_head "$n")" ] || return 1
  done
}
# media_complete N: the hub holds N media files, all complete.
media_complete() {
  local out
  out=$("$HUB" media list --state "$T/hub" --json 2>/dev/null) || return 1
  [ "$(grep -o '"state":"complete"' <<<"$out" | wc -l)" -eq "$1" ]
}

wait_until() { # SECONDS WHAT CMD...: polls CMD every 0.2 s (SECONDS scaled by FT_SLOW)
  local limit=$(($1 * FT_SLOW)) what=$2 start=$SECONDS
  shift 2
  until "$@"; do
    [ $((SECONDS - start)) -lt "$limit" ] || fail "timed out after ${limit}s waiting for: $what"
    sleep 0.2
  done
}

# converge [ARGS] NAME...: the convergence checker over the hub and the named
# edges; prints its verdict and fails the test unless it is OK.
converge() {
  local args=() dirs=() n out
  while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do
    args+=("$1")
    shift
  done
  for n in "$@"; do
    dirs+=("$T/$n")
  done
  out=$("$CONVERGE" "${args[@]}" "$T/hub" "${dirs[@]}" 2>&1) || {
    echo "$out" >&2
    fail "not converged"
  }
  echo "$out"
  CONVERGE_LINE=$(tail -1 <<<"$out")
}

# now_ms: wall clock in ms.
now_ms() { date +%s%3N; }

# proxy_start NAME LISTEN_PORT TARGET_PORT [ARGS...]: ft_proxy in the edges'
# namespace from 127.0.0.1:LISTEN_PORT to the hub's TARGET_PORT; its PID in
# PROXY_PID[NAME], its log in $T/proxy-NAME.log.
declare -A PROXY_PID
proxy_start() {
  local name=$1 lp=$2 tp=$3
  shift 3
  [ -x "$PROXY" ] || fail "$PROXY is not built"
  bg "${NS_EDGE:-}" "$T/proxy-$name.log" "$PROXY" --listen "127.0.0.1:$lp" --to "$HUB_ADDR:$tp" \
    --stats "$T/proxy-$name.stats" "$@"
  PROXY_PID[$name]=$BG_PID
  local i
  for i in $(seq 50); do
    in_ns "${NS_EDGE:-}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$lp" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "proxy $name did not start listening on $lp"
}
proxy_stop() {
  stop_pid "${PROXY_PID[$1]}"
  cat "$T/proxy-$1.stats" 2>/dev/null || true
}

# small_fs DIR MIB: a tmpfs of MIB MiB mounted at DIR (unmounted at exit);
# skips visibly without the privilege to mount.
small_fs() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=${2}m,mode=0755" ftfault "$1" 2>/dev/null ||
    skip "cannot mount a tmpfs (needs CAP_SYS_ADMIN): disk-full faults not tested"
  MOUNTS+=("$1")
}
# grow_fs DIR MIB: resizes a small_fs.
grow_fs() {
  mount -o "remount,size=${2}m" "$1"
}
