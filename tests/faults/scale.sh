#!/usr/bin/env bash
# Scale, bounded for CI: ops/bench-scale.sh with FT_SCALE_EDGES (default 100)
# simulated edges of FT_SCALE_RECORDS (default 30) records each against one
# hub; every edge must converge (a verified receipt for its head) and the
# hub's store must verify. The 1,000-edge figures come from the same script
# (docs/benchmarks.md).
set -euo pipefail
: "${FT_BUILD:?run through ctest}" "${FT_SRC:?run through ctest}"
if grep -q '^FT_SANITIZE:BOOL=ON' "$FT_BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "SKIP: scale: a benchmark; it runs in the normal build, not under ASan"
  exit 77
fi
out=$(bash "$FT_SRC/ops/bench-scale.sh" "${FT_SCALE_EDGES:-100}" "${FT_SCALE_RECORDS:-30}" \
  "$FT_BUILD" 2>&1) || { echo "$out"; echo "FAIL: scale run failed"; exit 1; }
echo "$out" | grep -E '^(scale|converge|hub verify|hub:)'
grep -q '^converge: OK' <<<"$out" || { echo "FAIL: not every edge converged"; exit 1; }
grep -q '^hub verify: {"ok":true' <<<"$out" || { echo "FAIL: the hub's store does not verify"; exit 1; }
echo "PASS: scale"
