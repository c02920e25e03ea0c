#!/usr/bin/env bash
# Runs the whole fieldtrail test suite on a fresh Debian 12 machine:
# installs missing packages, builds a normal and an ASan+UBSan tree, and runs
# every test (unit and integration) in both through CTest. A Release tree
# (build-release/, -O3) is built too, so that what only an optimised build
# warns about (-Werror) is noticed; its tests are not run.
# Usage: ops/test.sh            (from anywhere; uses build/, build-release/ and build-asan/)
#        FT_TEST_FAST=1 ops/test.sh   (normal tree only; the Release tree is still built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/ops/install-deps.sh"

jobs=$(nproc 2>/dev/null || echo 2)
build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S "$root" -B "$root/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$root/$dir" -j "$jobs"
}

status=0
build build
echo "== build: Release (build only)"
build build-release -DCMAKE_BUILD_TYPE=Release
if [ -z "${FT_TEST_FAST:-}" ]; then
  build build-asan -DFT_SANITIZE=ON
fi

# Each tree's CTest summary is kept so that the very last line of the run
# is one count over both trees ("N passed, M failed").
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
run_ctest() { # dir
  (cd "$1" && ctest --output-on-failure -j "$jobs") 2>&1 | tee -a "$summary"
  return "${PIPESTATUS[0]}"
}
echo "== tests: normal build"
run_ctest build || status=1
if [ -z "${FT_TEST_FAST:-}" ]; then
  echo "== tests: ASan+UBSan build"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_ctest build-asan || status=1
fi
# libFuzzer targets (tests/fuzz): a few seconds each on their seeds, the
# same 30000 executions from seed 1 every time (ops/fuzz.sh SECONDS for long,
# random runs).
echo "== fuzz: each target ${FT_FUZZ_RUNS:-30000} executions (ops/fuzz.sh)"
fuzz_rc=0
FT_FUZZ_RUNS=${FT_FUZZ_RUNS:-30000} "$root/ops/fuzz.sh" 4 || fuzz_rc=$?
[ "$fuzz_rc" = 0 ] || [ "$fuzz_rc" = 77 ] || status=1 # 77: no clang, said so

# "100% tests passed, 0 tests failed out of 61" per tree -> one closing line.
read -r total failed < <(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' \
  "$summary" | awk '{t += $1; f += $2} END {print t + 0, f + 0}')
fuzz_failed=0
[ "$fuzz_rc" = 0 ] || [ "$fuzz_rc" = 77 ] || fuzz_failed=1
[ "$total" -gt 0 ] || status=1
echo "== summary: CTest in every tree, plus the fuzz step"
echo "fieldtrail: $((total - failed)) passed, $((failed + fuzz_failed)) failed"
exit $status
