#!/usr/bin/env bash
# The sync page judges a device's clock and its recorders by the rule pack
# the hub runs, as the gap engine does (hub/gaps/rules.h: rule_clock_off,
# rule_battery_low, rule_storage_low), never by numbers of its own.
#
# car1 syncs the sample case (recorders DSJ-0031 at 100 % and 52877 MB free,
# DSJ-0032 at 91 % and 40960 MB, DSJ-0033 at 87 % and 61440 MB) with its
# clock 60 s behind (libfaketime). Under the default pack (battery >= 30 %,
# free >= 2048 MB, clock within 120 s) the page flags none of it. Under an
# office's pack with other numbers (battery >= 95 %, free >= 60000 MB, clock
# within 30 s) it flags clock, battery and storage, the recorders below the
# numbers are not ok, and the gap engine raises the same rules (16, 13).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

hub_init
printf 'alerts.publish = off\n' >>"$T/hub/hub.conf"
printf '%s\n' "$PW_STAFF" | "$HUB" user add staff --role staff --state "$T/hub" >/dev/null
edge_new car1
"$EDGE" import "$FT_SRC/ops/sample-records.jsonl" --state "$T/car1" >/dev/null
CAR1=$(edge_id car1)

# The office's pack: the default one with other numbers.
sed -e 's/^min battery: 30$/min battery: 95/' -e 's/^min free mb: 2048$/min free mb: 60000/' \
  -e 's/^max offset: 120s$/max offset: 30s/' "$FT_SRC/hub/gaps/rulepack/default.rules" \
  >"$T/office.rules"
for n in 'min battery: 95' 'min free mb: 60000' 'max offset: 30s'; do
  grep -qx "$n" "$T/office.rules" || fail "the office pack lacks \"$n\" (did default.rules change?)"
done
"$HUB" rules check "$T/office.rules" >/dev/null || fail "the office pack does not check"

# car1_row: car1's row of GET /api/sync in ROW.
car1_row() {
  call staff GET /api/sync
  expect 200 "sync"
  ROW=$(sed 's/},{"device_id"/}\n{"device_id"/g' <<<"$BODY" | grep "\"device_id\":\"$CAR1\"") ||
    fail "no row for car1: ${BODY:0:300}"
}
# has_problem NAME: car1's row lists the problem NAME.
has_problem() {
  grep -o '"problems":\[[^]]*\]' <<<"$ROW" | grepq "\"$1\""
}
# recorder_ok NAME: true/false as the row says for recorder NAME.
recorder_ok() {
  grep -o "{[^{}]*\"recorder\":\"$1\"[^{}]*}" <<<"$ROW" | jget ok
}

# ---- the office's pack ----
web_hub_start --rules "$T/office.rules"
lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$lib" ] || lib=$(find /usr/lib -name 'libfaketime.so.1' 2>/dev/null | sed -n 1p)
[ -n "$lib" ] && [ -f "$lib" ] || fail "libfaketime is not installed (ops/install-deps.sh installs faketime)"
LD_PRELOAD=$lib FAKETIME="-60" DONT_FAKE_MONOTONIC=1 \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  "$EDGE" run --state "$T/car1" --until-synced --timeout $((30 * FT_SYNC_SLOW)) \
  2>>"$T/car1/run.log" || fail "edge car1 (clock 60 s behind) did not sync"
login staff "$PW_STAFF"
recorders_known() {
  car1_row
  grep -q '"recorder":"DSJ-0033"' <<<"$ROW"
}
wait_until 10 "car1's recorders on the sync page" recorders_known
offset=$(jget clock_offset_ms <<<"$ROW")
[[ "$offset" =~ ^[0-9]+$ ]] && [ "$offset" -gt 30000 ] && [ "$offset" -le 120000 ] ||
  fail "car1's clock offset should be about 60 s: $offset"
for p in clock battery storage; do
  has_problem "$p" || fail "the office pack: car1 should be flagged $p: $ROW"
done
[ "$(recorder_ok DSJ-0031)" = false ] || fail "DSJ-0031 (52877 MB free < 60000) should not be ok: $ROW"
[ "$(recorder_ok DSJ-0032)" = false ] || fail "DSJ-0032 (91 %, 40960 MB) should not be ok: $ROW"
[ "$(recorder_ok DSJ-0033)" = false ] || fail "DSJ-0033 (87 % < 95) should not be ok: $ROW"
# The gap engine, on the same pack, raises the same rules for car1.
engine_agrees() {
  local out
  out=$("$HUB" alerts --state "$T/hub" --brief) || return 1
  grep -q '^16|' <<<"$out" && grep -q '^13|' <<<"$out"
}
wait_until 20 "the gap engine's clock (16) and readiness (13) alerts" engine_agrees
hub_stop_clean

# ---- the default pack: the same device, nothing flagged ----
web_hub_start
login staff "$PW_STAFF"
wait_until 10 "car1's recorders on the sync page" recorders_known
for p in clock battery storage; do
  has_problem "$p" && fail "the default pack: car1 should not be flagged $p: $ROW"
done
for r in DSJ-0031 DSJ-0032 DSJ-0033; do
  [ "$(recorder_ok "$r")" = true ] || fail "the default pack: $r should be ok: $ROW"
done
hub_stop_clean
echo "PASS: the sync page flags by the pack the hub runs (office pack: clock, battery, storage; default: none)"
