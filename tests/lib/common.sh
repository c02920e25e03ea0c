# common.sh: what the scenario test libraries share (sourced by
# tests/sync/lib.sh and tests/gaps/lib.sh, not a test): the ctest
# environment, stopping exactly the processes a test started (by PID), the
# failure report, free ports, reading compact JSON and starting the hub.
#
# The sourcing library sets, before it calls these: T (the scratch
# directory), TEST_NAME, HUB (the fieldtrail-hub binary), PIDS (the array of
# every background process the test started), WAIT_SLOW (the factor for
# waits: 3 under the ASan build); hub_start needs PORT and sets HUB_PID.

: "${FT_BUILD:?FT_BUILD is not set: run this test through ctest}"
: "${FT_SRC:?FT_SRC is not set: run this test through ctest}"
: "${FT_TEST_TMP:?FT_TEST_TMP is not set: run this test through ctest}"

# grepq ARGS...: `grep -q ARGS` on standard input, read to its end first.
# The tests run with pipefail, and in `producer | grep -q` grep stops at its
# first match: a producer still writing (output over one pipe write, 4 KiB)
# then dies of SIGPIPE and the pipeline fails, or passes when negated, at
# random. `| head` has the same trap (use `sed -n 1p`). tests/lint_pipes.sh
# keeps both out of the test scripts.
grepq() {
  local in
  in=$(cat) || return 2
  grep -q "$@" <<<"$in"
}

# stop_pid PID: TERM, wait up to 5 s, then KILL. Only PIDs we started.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# fail MESSAGE: names the test and the reason, shows the end of the hub's and
# every edge's log, and ends the test (exit 1).
fail() {
  echo "FAIL: $TEST_NAME: $1" >&2
  local f
  for f in "$T"/hub/hub.log "$T"/*/run.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

# jget KEY: the first "KEY":value in the first line of stdin (compact JSON as
# jansson writes it), strings without quotes. Enough for flat status objects
# and JSON lines. It reads its input to the end (no early `exit`): it sits at
# the end of pipelines (`media list --json | jget ...`), where an early exit
# would kill a producer of many lines with SIGPIPE (see grepq).
jget() {
  awk -v k="\"$1\":" 'done { next } {
    done = 1
    i = index($0, k); if (i == 0) { print "null"; next }
    s = substr($0, i + length(k))
    if (substr(s, 1, 1) == "\"") { s = substr(s, 2); sub(/".*/, "", s) } else { sub(/[,}\]].*/, "", s) }
    print s }'
}

# port_claim PORT...: reserves the ports for this test (the script's PID,
# $$, which command substitutions share) in $FT_TEST_TMP/ports, shared by
# every test of the tree; fails if another live test holds one of them. A
# port picked is only bound later (the hub starts after its edges are set
# up, a killed hub is restarted on the same port), so "nobody listens" alone
# let two free_port calls - of one test (PORT and PUB_PORT) or of two tests
# running in parallel - return the same port, and one process then failed to
# bind. Claims of tests that have ended (their PID is gone) are taken over.
port_claim() {
  local dir=$FT_TEST_TMP/ports p owner got=()
  mkdir -p "$dir"
  for p in "$@"; do
    if ! mkdir "$dir/$p" 2>/dev/null; then
      owner=$(cat "$dir/$p/owner" 2>/dev/null || true)
      # A claim being written (no owner yet) or of a live test is kept.
      if [ -z "$owner" ] || [ "$owner" = $$ ] || kill -0 "$owner" 2>/dev/null; then
        rm -rf "${got[@]}"
        return 1
      fi
      rm -rf "$dir/$p"
      mkdir "$dir/$p" 2>/dev/null || { rm -rf "${got[@]}"; return 1; }
    fi
    echo $$ >"$dir/$p/owner"
    got+=("$dir/$p")
  done
}

# port_listened PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_listened() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port: a TCP port on 127.0.0.1 nobody listens on (random, checked) and
# no other free_port of this or a parallel test handed out (port_claim).
free_port() {
  local p
  while :; do
    p=$((20000 + SRANDOM % 12000)) # below the ephemeral range; SRANDOM ignores test seeds
    port_listened "$p" && continue
    port_claim "$p" || continue
    echo "$p"
    return
  done
}

# hub_start [ARGS...]: starts `fieldtrail-hub run` in the background (log in
# $T/hub/hub.log, appended) and waits until it listens on $PORT.
hub_start() {
  "$HUB" run --state "$T/hub" "$@" 2>>"$T/hub/hub.log" &
  HUB_PID=$!
  PIDS+=("$HUB_PID")
  local i
  for i in $(seq $((100 * WAIT_SLOW))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      return 0
    fi
    kill -0 "$HUB_PID" 2>/dev/null || fail "the hub exited at start-up"
    sleep 0.1
  done
  fail "the hub did not start listening on $PORT"
}

hub_stop() {
  stop_pid "$HUB_PID"
}
