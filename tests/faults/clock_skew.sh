#!/usr/bin/env bash
# Clock skew of +1 day and -1 day on two edges (libfaketime, from Debian's
# faketime package), the hub on true time. The edges record and sync under
# the wrong clocks; the hub measures each offset (about +-86400 s), the gap
# engine raises the clock rule's alert for both, and everything converges.
# Then the -1 day edge gets its clock corrected (restarted on true time): its
# hybrid logical clock must not run backwards, and it converges again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# libfaketime preloaded through env (which execs, so the PID we hold is the
# daemon's own; the faketime wrapper would fork and hide it).
FT_LIBFAKETIME=${FT_LIBFAKETIME:-$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | sed -n 1p)}
[ -n "$FT_LIBFAKETIME" ] || skip "libfaketime is not installed (Debian package faketime)"
export FAKETIME_DONT_FAKE_MONOTONIC=1
y=$(env LD_PRELOAD="$FT_LIBFAKETIME" FAKETIME=+1d date +%Y%m%d)
[ "$y" = "$(date -d tomorrow +%Y%m%d)" ] || skip "libfaketime does not work here"

hub_init
edge_new ahead
edge_new behind
# (ASan wants its runtime first; with libfaketime preloaded it must be told not to check.)
ASAN_FAKE="ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0"
FAKE_AHEAD=(env "$ASAN_FAKE" LD_PRELOAD="$FT_LIBFAKETIME" FAKETIME=+1d)
FAKE_BEHIND=(env "$ASAN_FAKE" LD_PRELOAD="$FT_LIBFAKETIME" FAKETIME=-1d)
"$SIM" gen ahead 100 | "${FAKE_AHEAD[@]}" "$EDGE" import - --state "$T/ahead" >/dev/null
"$SIM" gen behind 100 | "${FAKE_BEHIND[@]}" "$EDGE" import - --state "$T/behind" >/dev/null
hub_start
EDGE_ARGS=(--heartbeat-ms 500 --reconnect-max-ms 500)
EDGE_WRAP="${FAKE_AHEAD[*]}" edge_start ahead "${EDGE_ARGS[@]}"
EDGE_WRAP="${FAKE_BEHIND[*]}" edge_start behind "${EDGE_ARGS[@]}"
wait_until 60 "logs at the hub" logs_synced ahead behind

offset_s() { # NAME: the clock offset the hub measured, in whole seconds
  local id
  id=$(edge_id "$1")
  "$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$id\"" | jget clock_offset_ms |
    awk '{ printf "%d", $1 / 1000 }'
}
oa=$(offset_s ahead)
ob=$(offset_s behind)
echo "hub measured clock offsets: ahead ${oa} s, behind ${ob} s (hub minus edge)"
[ "$oa" -le -86300 ] && [ "$oa" -ge -86500 ] || fail "offset of the +1 day edge is $oa s"
[ "$ob" -ge 86300 ] && [ "$ob" -le 86500 ] || fail "offset of the -1 day edge is $ob s"
clock_alerts() {
  [ "$("$HUB" alerts --state "$T/hub" --brief 2>/dev/null | grep -c '^16|')" -ge 2 ]
}
wait_until 60 "the clock rule's alerts for both edges" clock_alerts
echo "clock alerts: $("$HUB" alerts --state "$T/hub" --brief | grep -c '^16|') (rule 16)"

# The -1 day edge's clock is corrected: true time from now on.
last_hlc() { "$EDGE" log --state "$T/$1" --json | tail -n 1 | jget hlc; }
h0=$(last_hlc behind)
edge_stop behind
EDGE_WRAP="" edge_start behind "${EDGE_ARGS[@]}"
"$SIM" gen behind 50 100 | "$EDGE" import - --state "$T/behind" >/dev/null
"$SIM" gen ahead 50 100 | "${FAKE_AHEAD[@]}" "$EDGE" import - --state "$T/ahead" >/dev/null
wait_until 60 "logs at the hub after the correction" logs_synced ahead behind
"$EDGE" verify --state "$T/behind" >/dev/null || fail "the corrected edge's log does not verify"
h1=$(last_hlc behind)
[ "$h1" -gt "$h0" ] || fail "the corrected edge's hybrid clock ran backwards: $h0 -> $h1"
oc=$(offset_s behind)
echo "corrected edge: hybrid clock before $h0, after $h1 (forward); offset now $oc s"
[ "$oc" -ge -120 ] && [ "$oc" -le 120 ] || fail "the hub did not re-measure the corrected clock: $oc s"
converge ahead behind
