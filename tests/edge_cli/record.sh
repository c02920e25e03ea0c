#!/usr/bin/env bash
# Pins `fieldtrail-edge record`: a record given by flags lands in the log with
# exactly those fields (unit defaulted from edge.conf); an activity without
# --start/--end and an unknown type are refused with exit 1 and a message,
# adding nothing; bad usage exits 2; repeating an id is a no-op, changing it
# is refused naming the id.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

S=$T/state
unit=南大港产业园区自然资源所
init_state "$S" --unit "$unit"

run "$EDGE" record site_inspection --state "$S" --json --id XC-031-01 --case NDG-2026-031 \
  --start 2026-03-02T14:30:00+08:00 --end 2026-03-02T15:25:00+08:00 \
  --officer ZF-0107 --officer ZF-0112 --recorder DSJ-0031 --cause 非法占用耕地建房 \
  --party 张某 --media DSJ-0031/20260302_143012.MP4 --lat 38.47215 --lon 117.51368 \
  --field record_no=XC-2026-031-01 --field signed=false --field 'present=["张某","李某"]'
expect_rc 0 "record site_inspection with flags"
json_valid "$OUT" || fail "record --json is not JSON"
seq=$(json_get "$OUT" .seq)
expect_eq "$seq" 1 "seq of the first record"

run "$EDGE" log --state "$S" --json --from "$seq" --to "$seq"
expect_rc 0 "log --json of the new entry"
json_valid "$OUT" || fail "log --json is not JSON"
expect_json "$OUT" .seq 1 "entry seq"
expect_json "$OUT" .kind record "entry kind"
expect_json "$OUT" .body.type site_inspection "type"
expect_json "$OUT" .body.id XC-031-01 "id"
expect_json "$OUT" .body.case NDG-2026-031 "case"
expect_json "$OUT" .body.start 2026-03-02T14:30:00+08:00 "start (offset kept)"
expect_json "$OUT" .body.end 2026-03-02T15:25:00+08:00 "end"
expect_json "$OUT" '.body.officers[0]' ZF-0107 "first officer"
expect_json "$OUT" '.body.officers[1]' ZF-0112 "second officer"
expect_json "$OUT" '.body.recorders[0]' DSJ-0031 "recorder"
expect_json "$OUT" '.body.media[0]' DSJ-0031/20260302_143012.MP4 "media"
expect_json "$OUT" .body.cause 非法占用耕地建房 "cause"
expect_json "$OUT" .body.party 张某 "party"
expect_json "$OUT" .body.unit "$unit" "unit taken from edge.conf"
expect_json_num "$OUT" .body.location.lat 38.47215 "latitude"
expect_json_num "$OUT" .body.location.lon 117.51368 "longitude"
expect_json "$OUT" .body.fields.record_no XC-2026-031-01 "text field"
expect_json "$OUT" .body.fields.signed false "boolean field"
expect_json "$OUT" '.body.fields.present[1]' 李某 "JSON array field"

run "$EDGE" log --state "$S"
expect_rc 0 "log (human)"
expect_contains "$OUT" "site_inspection" "log lists the type"
expect_contains "$OUT" "XC-031-01" "log lists the id"

# The same id and content again: a no-op that names the existing entry.
run "$EDGE" record site_inspection --state "$S" --id XC-031-01 --case NDG-2026-031 \
  --start 2026-03-02T14:30:00+08:00 --end 2026-03-02T15:25:00+08:00 \
  --officer ZF-0107 --officer ZF-0112 --recorder DSJ-0031 --cause 非法占用耕地建房 \
  --party 张某 --media DSJ-0031/20260302_143012.MP4 --lat 38.47215 --lon 117.51368 \
  --field record_no=XC-2026-031-01 --field signed=false --field 'present=["张某","李某"]'
expect_rc 0 "repeating a record with the same id and content"
expect_contains "$OUT" "already recorded as entry 1" "the repeat names the entry"
head1=$(head_of "$S")
expect_eq "${head1%% *}" 1 "log head after the repeat"

run "$EDGE" record site_inspection --state "$S" --id XC-031-01 --case NDG-2026-031 \
  --start 2026-03-02T14:30:00+08:00 --end 2026-03-02T15:26:00+08:00
expect_rc 1 "a record reusing an id with different content"
expect_contains "$ERR" "\"XC-031-01\"" "the refusal names the id"
expect_contains "$ERR" "--amends" "the refusal says how to correct a record"

# Refused records: exit 1, a reason, nothing appended.
run "$EDGE" record inquiry --state "$S" --case NDG-2026-031 --field subject=张某
expect_rc 1 "an activity without --start/--end"
expect_contains "$ERR" "\"start\" and \"end\"" "the refusal says start and end are needed"
run "$EDGE" record inquiry --state "$S" --case NDG-2026-031 --start 2026-03-03T09:30:00+08:00
expect_rc 1 "an activity without --end"
run "$EDGE" record inquiry --state "$S" --case NDG-2026-031 \
  --start 2026-03-03T10:42:00+08:00 --end 2026-03-03T09:30:00+08:00
expect_rc 1 "an activity ending before it starts"
expect_contains "$ERR" "before" "the reversed window is explained"
run "$EDGE" record decision --state "$S" --time 2026-03-12T09:00:00+08:00
expect_rc 1 "a decision without --case"
expect_contains "$ERR" "case" "the refusal names the missing case"
run "$EDGE" record teleportation --state "$S" --case NDG-2026-031
expect_rc 1 "an unknown record type"
expect_contains "$ERR" "teleportation" "the refusal names the type"
run "$EDGE" record decision --state "$S" --case NDG-2026-031 --time yesterday
expect_rc 1 "a time that does not parse"
expect_eq "$(head_of "$S")" "$head1" "log head after refused records"

# Usage errors: exit 2.
run "$EDGE" record --state "$S"
expect_rc 2 "record without a TYPE"
expect_contains "$ERR" "usage: fieldtrail-edge record" "usage is shown"
run "$EDGE" record patrol extra --state "$S"
expect_rc 2 "record with two TYPEs"
run "$EDGE" record patrol --no-such-flag --state "$S"
expect_rc 2 "record with an unknown flag"
run "$EDGE" record decision --case C-1 --field novalue --state "$S"
expect_rc 2 "--field without ="
expect_contains "$ERR" "KEY=VALUE" "the --field error says what it wants"
run "$EDGE" record patrol --lat north --lon 117 --state "$S"
expect_rc 2 "--lat that is not a number"
run "$EDGE" record patrol --case
expect_rc 2 "--case without a value"
expect_eq "$(head_of "$S")" "$head1" "log head after usage errors"

run "$EDGE" verify --state "$S"
expect_rc 0 "verify after record"
