#!/usr/bin/env bash
# The long slow-link scenario: a vehicle with a day's records and a 2 GiB
# media backlog comes back on a 1 Mbit/s, 300 ms round-trip, 2 % loss link
# (network namespaces, tbf, nftables, ft_proxy). Prints how long the day's
# records and their alerts take to reach the hub after link-up, how long
# records made during the media transfer take, and (unless
# FT_SLOW_WAIT_MEDIA=0) when the backlog is complete: at 1 Mbit/s 2 GiB is
# about 5 hours. CI runs the same scenario with a 3 MiB backlog.
#
# Usage: ops/slow-link.sh [MEDIA_MIB] [RECORDS] [BUILD_DIR]
#   MEDIA_MIB default 2048, RECORDS default 300, BUILD_DIR default build-rel.
# Needs root (namespaces, tc, nft); FT_FAULT_SEED=N repeats a run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${3:-$root/build-rel}
if [ ! -x "$build/tests/faults/ft_proxy" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j 2
fi
export FT_BUILD=$build FT_SRC=$root FT_TEST_TMP=$build/test-tmp
export FT_SLOW_MEDIA_MB=${1:-2048} FT_SLOW_RECORDS=${2:-300}
exec bash "$root/tests/faults/net_slow_link.sh"
