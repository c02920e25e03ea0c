#!/usr/bin/env bash
# Pins `fieldtrail-edge verify` against tampering behind its back: it passes
# on a good log; a flipped byte anywhere in a stored entry (middle of the log
# or its head) makes it exit 1 naming that seq and saying the stored data was
# altered; after an entry is deleted it names the missing seq. The edge
# stores entries encrypted at rest (docs/log.md "At rest"): the bytes flipped
# are the format marker, the bucket id, the nonce, the ciphertext and the
# tag; pruned stubs are flipped in tests/sync/prune_records.sh.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

[ -x "$TAMPER" ] || fail "$TAMPER is not built"
S=$T/state
init_state "$S"
run "$EDGE" import "$SAMPLE" --state "$S"
expect_rc 0 "import of the sample"
n=$(head_of "$S" | cut -d' ' -f1)
[ "$n" -ge 10 ] || fail "the sample gave only $n entries; this test needs 10"

run "$EDGE" verify --state "$S"
expect_rc 0 "verify of a good log"
expect_contains "$OUT" "log OK: $n entries verified" "verify of a good log"
run "$EDGE" verify --state "$S" --json
expect_rc 0 "verify --json of a good log"
expect_json "$OUT" .ok true "verify --json ok"
expect_json "$OUT" .checked "$n" "verify --json checked"

# flip_and_check SEQ OFFSET: flip one byte, verify must name SEQ; undo it.
flip_and_check() {
  local seq=$1 off=$2
  run "$TAMPER" "$S/db" flip "$seq" "$off"
  expect_rc 0 "flipping byte $off of entry $seq"
  run "$EDGE" verify --state "$S"
  expect_rc 1 "verify after flipping byte $off of entry $seq"
  expect_contains "$OUT" "DAMAGED at entry $seq:" "verify names entry $seq (byte $off flipped)"
  expect_contains "$OUT" "stored data altered" "verify says why (byte $off of $seq flipped)"
  expect_contains "$OUT" "$((seq - 1)) entries before it verified" \
    "verify counts the good entries before $seq"
  if [ "$off" -eq 0 ]; then
    run "$EDGE" verify --state "$S" --json
    expect_rc 1 "verify --json after flipping byte $off of entry $seq"
    expect_json "$OUT" .ok false "verify --json ok (byte $off of $seq)"
    expect_json "$OUT" .bad_seq "$seq" "verify --json bad_seq (byte $off of $seq)"
  fi
  run "$TAMPER" "$S/db" flip "$seq" "$off"
  expect_rc 0 "restoring byte $off of entry $seq"
  run "$EDGE" verify --state "$S"
  expect_rc 0 "verify after restoring byte $off of entry $seq"
}

for seq in 5 "$n"; do
  run "$TAMPER" "$S/db" len "$seq"
  expect_rc 0 "length of entry $seq"
  len=$OUT
  [ "$len" -gt 100 ] || fail "entry $seq is only $len bytes"
  # Marker and bucket id (0..8), nonce (9..32), ciphertext, tag (last 16).
  for off in 0 1 2 3 8 12 $((len / 4)) $((len / 2)) $((3 * len / 4)) $((len - 64)) \
    $((len - 30)) $((len - 1)); do
    flip_and_check "$seq" "$off"
  done
done

# Deleting the head: the missing seq is named.
run "$TAMPER" "$S/db" delete "$n"
expect_rc 0 "deleting entry $n"
run "$EDGE" verify --state "$S"
expect_rc 1 "verify after deleting the head entry $n"
expect_contains "$OUT" "DAMAGED at entry $n:" "verify names the deleted head"
expect_contains "$OUT" "missing" "verify says the entry is missing"

# Deleting one in the middle: that seq is named, not a later one.
run "$TAMPER" "$S/db" delete 7
expect_rc 0 "deleting entry 7"
run "$EDGE" verify --state "$S"
expect_rc 1 "verify after deleting entry 7"
expect_contains "$OUT" "DAMAGED at entry 7:" "verify names the deleted entry 7"
expect_contains "$OUT" "entry 7 is missing" "verify says entry 7 is missing"
run "$EDGE" verify --state "$S" --json
expect_json "$OUT" .bad_seq 7 "verify --json bad_seq after deleting entry 7"
expect_json "$OUT" .reason "missing sequence number" "verify --json reason after deleting 7"

run "$TAMPER" "$S/db" delete 7
expect_rc 1 "deleting an entry that is not there"
