#!/usr/bin/env bash
# The hub and an edge's sync daemon under valgrind (memcheck): a short sync
# of records and a media file, then a clean shutdown (SIGTERM). Fails on any
# memcheck error or definite leak (--error-exitcode) in either daemon.
# Third-party noise that is not ours is suppressed in tests/faults/valgrind.supp
# (each entry says why).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || skip "valgrind is not installed"
if grep -q '^FT_SANITIZE:BOOL=ON' "$FT_BUILD/CMakeCache.txt" 2>/dev/null; then
  skip "valgrind does not run sanitizer builds; this test runs in the normal build"
fi
FT_SLOW=10
VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
  --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no
  --suppressions="$FT_SRC/tests/faults/valgrind.supp" --num-callers=30)

hub_init
edge_new car1
# valgrind cannot reserve the edge's default 64 GiB LMDB map (mdb_env_open
# then fails with EIO): a small map is plenty for this sync.
echo "map_size_mb = 512" >>"$T/car1/edge.conf"
edge_records car1 300
edge_media car1 600 1
HUB_WRAP="${VG[*]} --log-file=$T/vg-hub.%p.log" hub_start
EDGE_WRAP="${VG[*]} --log-file=$T/vg-edge.%p.log" edge_start car1 --heartbeat-ms 500
wait_until 60 "logs at the hub" logs_synced car1
wait_until 60 "media complete at the hub" media_complete 1
"$SIM" gen car1 20 300 | "$EDGE" import - --state "$T/car1" >/dev/null
wait_until 30 "new records at the hub" logs_synced car1

# Clean shutdown: TERM, then the exit status (valgrind's 99 = errors or leaks).
stop_wait() { # PID NAME
  local pid=$1 i rc=0
  kill -TERM "$pid"
  for i in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  wait "$pid" || rc=$?
  echo "$2 under valgrind exited $rc after SIGTERM"
  if [ "$rc" != 0 ]; then
    cat "$T"/vg-"$2".*.log >&2
    fail "$2: valgrind found errors or leaks (exit $rc)"
  fi
  grep -h 'ERROR SUMMARY\|definitely lost' "$T"/vg-"$2".*.log | sed "s/^==[0-9]*== /$2: /"
}
stop_wait "${EDGE_PID[car1]}" edge
EDGE_PID[car1]=""
stop_wait "$HUB_PID" hub
HUB_PID=""
converge car1
