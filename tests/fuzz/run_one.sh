#!/usr/bin/env bash
# run_one.sh FUZZER SEED_DIR SECONDS: runs one libFuzzer target for SECONDS on
# a scratch copy of its seeds (the repo's corpus is only read), and prints one
# line: "fuzz NAME: N execs in S s (E/s), corpus A -> B, OK" or the crash.
# A crash's input is kept under $FT_TEST_TMP (or /tmp) and named; exit 1.
# With FT_FUZZ_RUNS=N the run is reproducible instead: N executions from
# libFuzzer seed 1 (what the test command does, so CI gives the same verdict
# for the same code); otherwise the seed is random and the time is SECONDS.
set -euo pipefail
fuzzer=$1 seeds=$2 secs=${3:-5}
name=$(basename "$fuzzer")
[ -x "$fuzzer" ] || { echo "fuzz $name: FAIL: $fuzzer is not built" >&2; exit 1; }
tmp=${FT_TEST_TMP:-/tmp}
mkdir -p "$tmp"
work=$(mktemp -d "$tmp/fuzz.$name.XXXXXX")
mkdir -p "$work/corpus" "$work/artifacts"
before=$(find "$seeds" -type f | wc -l)
rc=0
if [ -n "${FT_FUZZ_RUNS:-}" ]; then
  bound=(-runs="$FT_FUZZ_RUNS" -seed=1)
else
  bound=(-max_total_time="$secs")
fi
start=$SECONDS
# -rss_limit_mb: the decoders must stay bounded; -max_len: a little over the
# largest seed family (batches of entries).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$fuzzer" "${bound[@]}" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" \
  >"$work/log" 2>&1 || rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
after=$(find "$work/corpus" -type f | wc -l)
if [ "$rc" -ne 0 ]; then
  echo "fuzz $name: FAIL (exit $rc) after ${execs:-?} execs; input and log kept in $work" >&2
  grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x' "$work/log" | sed -n 1,30p >&2 || tail -30 "$work/log" >&2
  ls "$work/artifacts" >&2
  exit 1
fi
echo "fuzz $name: ${execs:-0} execs in $((SECONDS - start)) s (${speed:-0}/s), seeds $before, new inputs $after, OK"
rm -rf "$work"
