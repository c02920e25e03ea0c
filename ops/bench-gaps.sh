#!/usr/bin/env bash
# Builds fieldtrail in Release mode and runs ft-bench-gaps: a hub store loaded
# with 100 000 cases / 2 000 000 records (written straight into the store, the
# way sync commits them), then the time to index them, a first evaluation, a
# full re-evaluation, and the latency of one new record (median, p99); each
# row with its goal, its wall and CPU time and a ratio to references measured
# in the same run (reading every stored entry back and decoding it; one
# durable LMDB commit), since the machines are shared (docs/benchmarks.md).
# The temporary store, index and hub log (several GB) go in the build
# directory (the project's disk, not tmpfs) and are removed afterwards.
# Usage: ops/bench-gaps.sh [--cases N] [--records N] [--samples N]
# Build directory: $FT_BENCH_BUILD (default build-release).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/ops/install-deps.sh" >&2
build=${FT_BENCH_BUILD:-build-release}
cmake -S "$root" -B "$root/$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/$build" -j "$(nproc 2>/dev/null || echo 2)" --target ft-bench-gaps >&2
exec "$root/$build/bench/ft-bench-gaps" --dir "$root/$build" "$@"
