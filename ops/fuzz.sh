#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, in build-fuzz/) and runs
# each for a bounded time on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>/), printing the executions of each and the total.
#
# Usage: ops/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  per target (default 60), random libFuzzer seed
#   FT_FUZZ_RUNS=N instead: N executions per target from seed 1, reproducible
#            (the test command runs 30000)
#   TARGET   fuzz_record fuzz_entry fuzz_wire fuzz_mediawire fuzz_manifest
#            fuzz_rules fuzz_http (default: all)
#   FT_FUZZ_BUILD=DIR  the fuzz build tree (default build-fuzz/)
# A crash stops the run: its input and the fuzzer's log are kept and named.
# Reproduce one with: build-fuzz/tests/fuzz/TARGET CRASH_FILE
# Needs clang and libclang-rt-14-dev (ops/install-deps.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_record fuzz_entry fuzz_wire fuzz_mediawire fuzz_manifest fuzz_rules fuzz_http)
fi
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: SKIPPED: clang is not installed (ops/install-deps.sh installs it)" >&2
  exit 77
fi
build=${FT_FUZZ_BUILD:-$root/build-fuzz}
CC=clang cmake -S "$root" -B "$build" -DFT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target ft_fuzz_all -j 2 >"$build/fuzz-build.log" 2>&1 || {
  tail -30 "$build/fuzz-build.log" >&2
  echo "fuzz: FAIL: the fuzz targets did not build (log: $build/fuzz-build.log)" >&2
  exit 1
}
export FT_TEST_TMP=${FT_TEST_TMP:-$build/test-tmp}
# The committed seeds must be what the encoders write today: a seed of an
# older format starts the fuzzer from messages no peer sends any more.
# (fuzz_http's seeds are written by hand and not generated.)
cmake --build "$build" --target ft_fuzz_seeds -j 2 >>"$build/fuzz-build.log" 2>&1 || {
  tail -30 "$build/fuzz-build.log" >&2
  echo "fuzz: FAIL: ft_fuzz_seeds did not build (log: $build/fuzz-build.log)" >&2
  exit 1
}
fresh=$(mktemp -d "${TMPDIR:-/tmp}/ft-seeds.XXXXXX")
trap 'rm -rf "$fresh"' EXIT
"$build/tests/ft_fuzz_seeds" "$fresh" "$root/ops/sample-records.jsonl" \
  "$root/hub/gaps/rulepack/default.rules" >/dev/null
stale=$(for d in "$fresh"/*/; do
  t=$(basename "$d")
  diff -rq "$d" "$root/tests/fuzz/corpus/$t" 2>&1 | grep -v '^Only in /' || true
done; for d in "$fresh"/*/; do
  t=$(basename "$d")
  for f in "$d"*; do [ -e "$root/tests/fuzz/corpus/$t/$(basename "$f")" ] ||
    echo "missing tests/fuzz/corpus/$t/$(basename "$f")"; done
done)
if [ -n "$stale" ]; then
  echo "$stale" | sed 's/^/  /' >&2
  echo "fuzz: FAIL: the committed seeds (tests/fuzz/corpus/) are out of date with the encoders;" >&2
  echo "  write them again: $build/tests/ft_fuzz_seeds tests/fuzz/corpus ops/sample-records.jsonl hub/gaps/rulepack/default.rules" >&2
  exit 1
fi
total=0
for t in "${targets[@]}"; do
  line=$(bash "$root/tests/fuzz/run_one.sh" "$build/tests/fuzz/$t" "$root/tests/fuzz/corpus/$t" \
    "$secs")
  echo "$line"
  n=$(sed -n 's/^fuzz [^:]*: \([0-9]*\) execs.*/\1/p' <<<"$line")
  total=$((total + ${n:-0}))
done
if [ -n "${FT_FUZZ_RUNS:-}" ]; then
  echo "fuzz: ${#targets[@]} targets, $total executions in total ($FT_FUZZ_RUNS each from seed 1), no crash"
else
  echo "fuzz: ${#targets[@]} targets, $total executions in total, ${secs} s each, no crash"
fi
