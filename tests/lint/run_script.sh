#!/usr/bin/env bash
# The wrapper every test script runs under (tests/lib/run_script.sh): a
# script's exit status passes through; what a script leaves running is ended
# when it exits; and when the wrapper itself is killed with SIGKILL (CTest's
# timeout) or SIGTERM, the script and everything it started are ended too.
set -euo pipefail
: "${FT_SRC:?run through ctest}" "${FT_TEST_TMP:?run through ctest}"
wrap=$FT_SRC/tests/lib/run_script.sh
mkdir -p "$FT_TEST_TMP"
T=$(mktemp -d "$FT_TEST_TMP/run_script.XXXXXX")
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: run_script: $1" >&2; exit 1; }
# wrapper_ready PID: the wrapper has started both the script and its
# watchdog (two children), as it has long before any CTest timeout.
wrapper_ready() {
  local i
  for i in $(seq 100); do
    [ "$(cat /proc/"$1"/task/*/children 2>/dev/null | wc -w)" -ge 2 ] && return 0
    sleep 0.05
  done
  return 1
}
gone_within() { # PIDFILE SECONDS: the PID written in PIDFILE ends within SECONDS
  local pid i
  for i in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
  pid=$(cat "$1")
  for i in $(seq $(($2 * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  return 1
}

# 1. Exit statuses pass through.
printf 'exit 0\n' >"$T/ok.sh"
printf 'exit 77\n' >"$T/skip.sh"
printf 'exit 3\n' >"$T/bad.sh"
bash "$wrap" "$T/ok.sh" || fail "a passing script did not give 0"
rc=0; bash "$wrap" "$T/skip.sh" || rc=$?
[ "$rc" = 77 ] || fail "a skipped script gave $rc, not 77"
rc=0; bash "$wrap" "$T/bad.sh" || rc=$?
[ "$rc" = 3 ] || fail "a failing script gave $rc, not 3"

# 2. A daemon left behind by a script that ended is ended, and said so.
cat >"$T/leaves.sh" <<EOS
sleep 300 &
echo \$! >"$T/left.pid"
exit 0
EOS
bash "$wrap" "$T/leaves.sh" 2>"$T/leaves.err" || fail "the leaving script did not give 0"
gone_within "$T/left.pid" 8 || fail "a process left behind by the script still runs"
grep -q 'left processes running' "$T/leaves.err" || fail "the left-behind process was not reported"

# 3. The wrapper killed with SIGKILL, as by CTest's timeout: the script and
# its child end within a few seconds (the watchdog polls once a second).
cat >"$T/hangs.sh" <<EOS
sleep 300 &
echo \$! >"$T/child.pid"
echo \$\$ >"$T/script.pid"
wait
EOS
bash "$wrap" "$T/hangs.sh" &
w=$!
for i in $(seq 100); do [ -s "$T/child.pid" ] && [ -s "$T/script.pid" ] && break; sleep 0.05; done
wrapper_ready "$w" || fail "the wrapper did not start its script and watchdog"
kill -KILL "$w"
wait "$w" 2>/dev/null || true
gone_within "$T/script.pid" 8 || fail "the script outlived its killed wrapper"
gone_within "$T/child.pid" 8 || fail "the script's child outlived its killed wrapper"

# 4. SIGTERM to the wrapper ends the group at once and gives 143.
rm -f "$T/child.pid" "$T/script.pid"
bash "$wrap" "$T/hangs.sh" &
w=$!
for i in $(seq 100); do [ -s "$T/child.pid" ] && break; sleep 0.05; done
wrapper_ready "$w" || fail "the wrapper did not start its script and watchdog"
kill -TERM "$w"
rc=0; wait "$w" || rc=$?
[ "$rc" = 143 ] || fail "a wrapper ended by SIGTERM gave $rc, not 143"
gone_within "$T/child.pid" 8 || fail "the script's child outlived SIGTERM to its wrapper"
echo "run_script: statuses pass through; left-behind, SIGKILL and SIGTERM cases end the whole group"
