#!/usr/bin/env bash
# Builds fieldtrail in Release mode (build-release/) and runs ft-bench-log:
# Ed25519 signatures per second, signed device-log entries appended per
# second (one durable transaction per entry, and batched), each as a ratio of
# the sign rate, and the verify rate. The temporary log goes in
# build-release/ (the project's disk, not tmpfs) and is removed afterwards.
# Usage: ops/bench-log.sh [--seconds N] [--dir DIR]   (options go to ft-bench-log)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/ops/install-deps.sh" >&2

cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-release" -j "$(nproc 2>/dev/null || echo 2)" --target ft-bench-log >&2
exec "$root/build-release/bench/ft-bench-log" --dir "$root/build-release" "$@"
