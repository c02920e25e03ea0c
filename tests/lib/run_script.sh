#!/usr/bin/env bash
# run_script.sh SCRIPT [ARGS...]: how CTest runs every test script
# (ft_add_script_test, tests/CMakeLists.txt). The script runs in a process
# group of its own; when it ends, whether by itself, by a signal, or because
# CTest's timeout killed this wrapper with SIGKILL, every process the script
# left behind in that group (a hub, edges, a PostgreSQL, a proxy) is ended
# too, so that one timed-out test does not leave daemons holding ports, CPU
# and disk for the tests after it. Only that group is ever signalled: the
# processes this test started, never others by name.
#
# The exit status is the script's (77 stays "skipped").
set -u
script=$1
shift

# The test, as the leader of a new session (and so of a new process group
# whose ID is its PID).
setsid bash "$script" "$@" &
child=$!
me=$$

# A watchdog outside the group: once this wrapper is gone (killed by the
# timeout, which no trap sees), it ends the group. Its output goes nowhere,
# so CTest does not wait for it to close the test's output pipe.
(
  while kill -0 "$me" 2>/dev/null; do sleep 1; done
  kill -KILL -- "-$child" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
watchdog=$!

end_group() { # signal: TERM first, KILL what is left after 5 s
  kill -TERM -- "-$child" 2>/dev/null || return 0
  local i
  for i in $(seq 50); do
    kill -0 -- "-$child" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$child" 2>/dev/null || true
}
trap 'end_group; kill "$watchdog" 2>/dev/null; exit 143' TERM INT HUP

wait "$child"
rc=$?
# The script has ended: anything of its group still running was left behind.
if kill -0 -- "-$child" 2>/dev/null; then
  echo "run_script: $(basename "$script") left processes running; ending them" >&2
  end_group
fi
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
exit "$rc"
