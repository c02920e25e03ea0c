#!/usr/bin/env bash
# Pins `fieldtrail-edge init`: it creates device.key (mode 0600), device.pub
# and edge.conf, prints a readable device ID that matches the enrolment file,
# refuses a second init without touching the keys or the log, and its --json
# output is one JSON object with the keys to enrol.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

devid_re='^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$'
S=$T/state
unit=南大港产业园区自然资源所

run "$EDGE" init --state "$S" --unit "$unit" --vehicle 冀J-ZF031
expect_rc 0 "init of a new state directory"
for f in device.key device.pub edge.conf; do
  [ -f "$S/$f" ] || fail "init did not create $S/$f"
done
[ -d "$S/db" ] || fail "init did not create the log in $S/db"
expect_eq "$(stat -c %a "$S/device.key")" 600 "mode of device.key"
expect_eq "$(stat -c %a "$S")" 700 "mode of a state directory init created"

id=$(sed -n 's/^device ID: *//p' <<<"$OUT")
[[ $id =~ $devid_re ]] || fail "init printed device ID \"$id\", not XXXX-XXXX-XXXX-XXXX-XXXX"
expect_contains "$(cat "$S/device.pub")" "device_id = $id" "device.pub names the printed ID"
expect_not_contains "$(cat "$S/device.pub")" "sign_secret" "device.pub holds no secret"
expect_contains "$(cat "$S/edge.conf")" "unit = $unit" "edge.conf keeps --unit"
expect_contains "$OUT" "$S/device.pub" "init says which file to enrol"

run "$EDGE" status --state "$S" --json
expect_rc 0 "status after init"
expect_json "$OUT" .device_id "$id" "status shows the device ID init printed"
expect_json "$OUT" .unit "$unit" "status shows the unit"
expect_json "$OUT" .head_seq 0 "a new log is empty"

# A second init must change nothing: not the keys, not the log.
run "$EDGE" record patrol --state "$S" --start 2026-03-02T08:30:00+08:00 \
  --end 2026-03-02T11:40:00+08:00
expect_rc 0 "record before the second init"
before=$(cd "$S" && sha256sum device.key device.pub edge.conf)
head_before=$(head_of "$S")
run "$EDGE" init --state "$S"
expect_rc 1 "init of an initialised state directory"
expect_contains "$ERR" "already" "the refusal says the directory is already initialised"
run "$EDGE" init --state "$S" --unit other --vehicle other --json
expect_rc 1 "init with new options of an initialised state directory"
expect_eq "$(cd "$S" && sha256sum device.key device.pub edge.conf)" "$before" \
  "key and config files after the refused init"
expect_eq "$(head_of "$S")" "$head_before" "log head after the refused init"

# --json: one object with what the hub needs to enrol the device.
J=$T/json-state
run "$EDGE" init --state "$J" --json
expect_rc 0 "init --json"
json_valid "$OUT" || fail "init --json printed something that is not JSON: $OUT"
expect_eq "$(wc -l <<<"$OUT" | tr -d ' ')" 1 "init --json prints one line"
jid=$(json_get "$OUT" .device_id)
[[ $jid =~ $devid_re ]] || fail "init --json device_id \"$jid\" is not XXXX-XXXX-XXXX-XXXX-XXXX"
expect_contains "$(cat "$J/device.pub")" "device_id = $jid" "device.pub matches init --json"
[[ $(json_get "$OUT" .sign_public) =~ ^[0-9a-f]{64}$ ]] || fail "sign_public is not 64 hex digits"
[[ $(json_get "$OUT" .transport_public) =~ ^[0-9a-f]{64}$ ]] ||
  fail "transport_public is not 64 hex digits"
expect_contains "$(cat "$J/device.pub")" "sign_public = $(json_get "$OUT" .sign_public)" \
  "device.pub holds the signing key init --json printed"
[[ $(json_get "$OUT" .epoch) =~ ^[1-9][0-9]*$ ]] || fail "epoch is not a positive number"
expect_json "$OUT" .state "$J" "init --json names the state directory"
[ "$jid" != "$id" ] || fail "two inits gave the same device ID $id"

# A malformed --hub-key is a usage error and leaves nothing behind.
run "$EDGE" init --state "$T/badkey" --hub-key 1234
expect_rc 2 "init with a malformed --hub-key"
expect_contains "$ERR" "hub-key" "the error names --hub-key"
[ ! -e "$T/badkey/device.key" ] || fail "a refused init left $T/badkey/device.key"
