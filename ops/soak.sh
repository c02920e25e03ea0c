#!/usr/bin/env bash
# Soak run: kill -9 of the hub and the edges' sync daemons at seeded random
# points while three vehicles keep recording and ingesting media, for
# DURATION (seconds, or with a suffix m/h: 90m, 8h), then the convergence
# checker (tests/faults/soak.sh; CI runs it for 60 s).
#
# Usage: ops/soak.sh DURATION [BUILD_DIR]
#   BUILD_DIR  a built tree (default build-rel; built if missing)
#   FT_FAULT_SEED=N repeats a run (the seed is printed at the start).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dur=${1:?usage: ops/soak.sh DURATION [BUILD_DIR]}
build=${2:-$root/build-rel}
case $dur in
  *h) secs=$((${dur%h} * 3600)) ;;
  *m) secs=$((${dur%m} * 60)) ;;
  *s) secs=${dur%s} ;;
  *) secs=$dur ;;
esac
if [ ! -x "$build/tests/tools/ft_converge" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j 2
fi
export FT_BUILD=$build FT_SRC=$root FT_TEST_TMP=$build/test-tmp FT_SOAK_SECONDS=$secs
exec bash "$root/tests/faults/soak.sh"
