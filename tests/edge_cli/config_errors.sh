#!/usr/bin/env bash
# Pins configuration and state errors: an unknown key in edge.conf (top level
# or in a section), a line that is not "name = value" and a bad map_size_mb
# are named with file and line, exit 1; a bad records.keep_days is named with
# its value, exit 2; a missing state directory tells the user to run init and
# is not created as a side effect; --config with a missing file names it.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

S=$T/state
init_state "$S"
conf=$S/edge.conf
good=$(cat "$conf")
lines=$(wc -l <"$conf" | tr -d ' ')

printf 'unit = 南大港产业园区自然资源所\nmap_sise_mb = 4\n' >>"$conf"
for cmd in status log verify; do
  run "$EDGE" "$cmd" --state "$S"
  expect_rc 1 "$cmd with an unknown key in edge.conf"
  expect_contains "$ERR" "$conf line $((lines + 2))" "$cmd names the file and line"
  expect_contains "$ERR" "unknown setting \"map_sise_mb\"" "$cmd names the unknown key"
done
run "$EDGE" import "$SAMPLE" --state "$S"
expect_rc 1 "import with an unknown key in edge.conf"
expect_contains "$ERR" "map_sise_mb" "import names the unknown key"
run "$EDGE" record patrol --state "$S" --start 2026-03-02T08:30:00+08:00 \
  --end 2026-03-02T11:40:00+08:00
expect_rc 1 "record with an unknown key in edge.conf"

printf '%s\n[sync]\nwindow = 8\nwindw = 8\n' "$good" >"$conf"
run "$EDGE" status --state "$S"
expect_rc 1 "an unknown key in a section"
expect_contains "$ERR" "$conf line $((lines + 3))" "the section error names the line"
expect_contains "$ERR" "\"sync.windw\"" "the section error names section.key"

printf '%s\nthis is not a setting\n' "$good" >"$conf"
run "$EDGE" status --state "$S"
expect_rc 1 "a line that is not name = value"
expect_contains "$ERR" "$conf line $((lines + 1))" "the malformed line is named"

printf '%s\nmap_size_mb = lots\n' "$good" >"$conf"
run "$EDGE" status --state "$S"
expect_rc 1 "a map_size_mb that is not a number"
expect_contains "$ERR" "map_size_mb" "the bad value's key is named"
expect_contains "$ERR" "lots" "the bad value is quoted"

# records.keep_days: a whole number of days, 0 to 36500; named with the bad value.
for bad in forever -1 36501 2.5; do
  printf '%s\n[records]\nkeep_days = %s\n' "$good" "$bad" >"$conf"
  for cmd in status prune; do
    run "$EDGE" "$cmd" --state "$S"
    expect_rc 2 "$cmd with records.keep_days = $bad"
    expect_contains "$ERR" "records.keep_days must be a whole number of days" \
      "$cmd names records.keep_days ($bad)"
    expect_contains "$ERR" "\"$bad\"" "$cmd quotes the bad keep_days ($bad)"
  done
done
printf '%s\nrecords.keep_days = 0\n' "$good" >"$conf"
run "$EDGE" status --state "$S"
expect_rc 0 "status with records.keep_days = 0"
expect_contains "$OUT" "never pruned: records.keep_days is 0" "status says keep_days 0 keeps for ever"

printf '%s\n' "$good" >"$conf"
run "$EDGE" status --state "$S"
expect_rc 0 "status once edge.conf is fixed"

run "$EDGE" status --state "$S" --config "$T/no-such.conf"
expect_rc 1 "--config naming a missing file"
expect_contains "$ERR" "$T/no-such.conf" "the missing config file is named"

# A state directory that does not exist: every command says to run init.
M=$T/never-initialised
for cmd in status log verify; do
  run "$EDGE" "$cmd" --state "$M"
  expect_rc 1 "$cmd without a state directory"
  expect_contains "$ERR" "fieldtrail-edge init --state $M" "$cmd tells the user to run init"
done
run "$EDGE" import "$SAMPLE" --state "$M"
expect_rc 1 "import without a state directory"
expect_contains "$ERR" "fieldtrail-edge init --state $M" "import tells the user to run init"
run "$EDGE" record patrol --state "$M" --start 2026-03-02T08:30:00+08:00 \
  --end 2026-03-02T11:40:00+08:00
expect_rc 1 "record without a state directory"
expect_contains "$ERR" "fieldtrail-edge init --state $M" "record tells the user to run init"
[ ! -e "$M" ] || fail "a command without a state directory created $M"

# A directory with edge.conf but no keys (say, keys not restored from backup).
E=$T/no-keys
mkdir -p "$E"
cp "$conf" "$E/edge.conf"
run "$EDGE" status --state "$E"
expect_rc 1 "status in a directory without device.key"
expect_contains "$ERR" "fieldtrail-edge init --state $E" "a missing device.key points to init"
