#!/usr/bin/env bash
# One edge syncs the sample case to a hub: every entry arrives verified, the
# edge keeps a signed receipt, both status commands say so (text and JSON),
# the clock offset is measured, running sync again changes nothing, and the
# last Hello is in the status after a clean stop.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

hub_init
edge_new car1
"$EDGE" import "$FT_SRC/ops/sample-records.jsonl" --state "$T/car1" >/dev/null

# Usage errors are exit 2; --help is exit 0.
rc_of "$HUB" enroll >/dev/null 2>&1
[ "$RC" -eq 2 ] || fail "enroll without arguments must exit 2"
rc_of "$HUB" revoke NOT-AN-ID --state "$T/hub" >/dev/null 2>&1
[ "$RC" -eq 2 ] || fail "revoke of a malformed ID must exit 2"
rc_of "$EDGE" run --bogus >/dev/null 2>&1
[ "$RC" -eq 2 ] || fail "run --bogus must exit 2"
"$HUB" run --help >/dev/null || fail "hub run --help must exit 0"
"$EDGE" run --help >/dev/null || fail "edge run --help must exit 0"

# Before sync: 30 entries unacknowledged, sync never ran.
st=$("$EDGE" status --state "$T/car1" --json)
[ "$(jget unacked <<<"$st")" = 30 ] || fail "expected 30 unacked before sync: $st"
"$EDGE" status --state "$T/car1" | grepq "sync never ran" || fail "status should say sync never ran"

hub_start
"$EDGE" run --state "$T/car1" --until-synced --timeout $((20 * FT_SYNC_SLOW)) 2>>"$T/car1/run.log" ||
  fail "edge did not sync"

st=$("$EDGE" status --state "$T/car1" --json)
[ "$(jget unacked <<<"$st")" = 0 ] || fail "expected 0 unacked after sync: $st"
[ "$(jget acked_seq <<<"$st")" = 30 ] || fail "receipt should cover 30: $st"
[ "$(jget last_receipt <<<"$st")" != null ] || fail "no receipt time: $st"
"$EDGE" status --state "$T/car1" | grepq "covers entries 1..30" || fail "text status lacks the receipt"

id=$(edge_id car1)
dev=$("$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$id\"")
[ "$(jget entries <<<"$dev")" = 30 ] || fail "hub holds the wrong count: $dev"
[ "$(jget head_seq <<<"$dev")" = 30 ] || fail "hub head: $dev"
[ "$(jget backlog <<<"$dev")" = 0 ] || fail "backlog: $dev"
off=$(jget clock_offset_ms <<<"$dev")
[ "$off" != null ] || fail "no clock offset measured: $dev"
[ "${off#-}" -lt 5000 ] || fail "clock offset on one machine should be small: $off"
[ "$(jget last_error <<<"$dev")" = null ] || fail "unexpected error: $dev"
"$HUB" status --state "$T/hub" | grepq "$id" || fail "hub status lacks the device"
"$HUB" status --state "$T/hub" --json | grepq '"entries":30' || fail "hub status JSON lacks the count"
check_converged car1

# Again: nothing new is stored, nothing refused.
"$EDGE" run --state "$T/car1" --until-synced --timeout $((20 * FT_SYNC_SLOW)) 2>>"$T/car1/run.log" ||
  fail "second sync failed"
[ "$(hub_held car1)" = 30 ] || fail "second sync changed the hub"

# Records added later follow; the receipt moves on.
"$EDGE" record patrol --start 2026-03-02T08:30:00+08:00 --end 2026-03-02T11:40:00+08:00 \
  --officer ZF-0107 --id car1-patrol-0302 --state "$T/car1" >/dev/null
hello_from=$(date +%s%3N)
"$EDGE" run --state "$T/car1" --until-synced --timeout $((20 * FT_SYNC_SLOW)) 2>>"$T/car1/run.log" ||
  fail "third sync failed"
hello_to=$(date +%s%3N)
[ "$(hub_held car1)" = 31 ] || fail "the new record did not arrive"
check_converged car1

# A Hello's status write rides the group commit (docs/protocol.md "Hello"):
# after a clean stop, status shows the last Hello (the third sync's).
hub_stop
dev=$("$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$id\"")
lh=$(jget last_hello_ms <<<"$dev")
[ "$lh" -ge "$hello_from" ] && [ "$lh" -le "$hello_to" ] ||
  fail "last_hello_ms $lh is not the third sync's Hello ($hello_from..$hello_to): $dev"
"$HUB" status --state "$T/hub" --json | grepq "\"last_hello_ms\":$lh" ||
  fail "status does not show the last Hello"

# The hub's own log (enrolment, and whatever else the hub records) verifies.
"$HUB" verify --state "$T/hub" | grepq "hub log OK" || fail "the hub's own log must verify"
