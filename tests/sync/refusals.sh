#!/usr/bin/env bash
# Every refusal, each with its reason, visible at the hub, never half-applied:
#   unknown device (ZAP refuses the handshake; hub status and log show it),
#   replayed old batch (no change), seq gap, batches lost in flight (a resync,
#   not an event), one flipped byte, entry signed by
#   another enrolled device, unenrolled signer, broken chain, equivocation,
#   garbage, the same bad batch again (one event, not two), revoked device
#   (revoked while connected: the next batch is refused; the reconnect is
#   refused by ZAP). The good edge still syncs completely afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ -x "$FORGE" ] || fail "$FORGE is not built"
hub_init
hub_start
edge_new carA
edge_new carB
edge_new carD
"$EDGE" init --state "$T/carC" --unit unit-carC --vehicle car-carC --hub "$HUB_EP" \
  --hub-key "$HUB_KEY" >/dev/null # never enrolled
edge_records carA 60
edge_records carB 5
edge_records carC 5
IDA=$(edge_id carA)

# forge ARGS...: one crafted session as carA unless --as is given; prints replies.
forge() {
  local as=carA
  if [ "$1" = --as ]; then
    as=$2
    shift 2
  fi
  "$FORGE" --hub "$HUB_EP" --hub-key "$HUB_KEY" --as "$T/$as" --wait-ms $((3000 * FT_SYNC_SLOW)) "$@"
}
events() { "$HUB" status --state "$T/hub" --json | jget integrity_events; }
expect_reply() { # OUTPUT KIND FIELD VALUE WHAT
  grep "\"kind\":\"$2\"" <<<"$1" | grepq "\"$3\":$4" || fail "$5: expected a $2 with $3=$4, got: $1"
}

# A refused device's run keeps retrying until its --timeout: long enough for
# the handshake to be tried and refused on a loaded machine (ASan: x3).
REFUSED_RUN_S=$((3 * FT_SYNC_SLOW))

echo "== unknown device: refused at the handshake, recorded"
rc_of "$EDGE" run --state "$T/carC" --until-synced --timeout "$REFUSED_RUN_S" 2>"$T/carC/run.log"
[ "$RC" = 1 ] || fail "an unknown device's run must fail (exit 1), got $RC"
grep -q "hub refused this device: not enrolled or revoked" "$T/carC/run.log" ||
  fail "the edge must say the hub refused it"
keyC=$(grep transport_public "$T/carC/device.pub" | sed 's/.*= *//')
"$HUB" status --state "$T/hub" --json | grepq "\"transport_public\":\"$keyC\"" ||
  fail "hub status must list the refused unknown key"
"$HUB" status --state "$T/hub" | grepq "refused unknown:  key $keyC" || fail "text status lacks the refusal"
grep -q "refused a connection from .*transport key $keyC is not enrolled" "$T/hub/hub.log" ||
  fail "the hub log must name the refused key"
out=$(forge --as carC --from "$T/carC" --seqs 1-1 || true)
expect_reply "$out" refused kind '"refused"' "forged session of an unknown key"
[ "$(events)" = 0 ] || fail "a refused handshake is not an integrity event"

echo "== good batch, then replayed: no change"
out=$(forge --from "$T/carA" --seqs 1-20)
expect_reply "$out" receipt upto_seq 20 "first 20 entries"
out=$(forge --from "$T/carA" --seqs 1-20)
expect_reply "$out" receipt upto_seq 20 "replayed batch"
[ "$(hub_held carA)" = 20 ] || fail "replay changed the count: $(hub_held carA)"
dev=$("$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$IDA\"")
[ "$(jget duplicates <<<"$dev")" = 20 ] || fail "the replay should count 20 duplicates: $dev"
[ "$(events)" = 0 ] || fail "a replay is not an integrity event"

echo "== seq gap"
out=$(forge --from "$T/carA" --seqs 21-30 --skip 21)
expect_reply "$out" error reason '"missing_seq"' "gap at 21"
expect_reply "$out" error seq 22 "gap at 21"
[ "$(hub_held carA)" = 20 ] || fail "nothing after a gap may be stored"

echo "== batches lost in flight (the batch says where it meant to start): resync, no event"
out=$(forge --from "$T/carA" --seqs 25-30 --first-seq 25)
expect_reply "$out" error reason '"resync"' "batch starting beyond the hub's head"
[ "$(events)" = 1 ] || fail "a lost batch is not an integrity event: $(events) events"
[ "$(hub_held carA)" = 20 ] || fail "nothing may be stored from a resync batch"

echo "== one flipped byte"
out=$(forge --from "$T/carA" --seqs 21-25 --flip 23)
expect_reply "$out" receipt upto_seq 22 "entries before the flipped one"
expect_reply "$out" error reason '"bad_signature"' "flipped byte"
expect_reply "$out" error seq 23 "flipped byte"
[ "$(hub_held carA)" = 22 ] || fail "the good prefix (to 22) is stored, nothing else"

echo "== the same bad batch again: refused again, recorded once"
out=$(forge --from "$T/carA" --seqs 23-25 --flip 23)
expect_reply "$out" error reason '"bad_signature"' "flipped byte again"
[ "$(events)" = 2 ] || fail "expected 2 events (gap, flip), got $(events)"

echo "== entry signed by another enrolled device"
out=$(forge --from "$T/carB" --seqs 1-2)
expect_reply "$out" error reason '"wrong_signer"' "carB's entries over carA's connection"
[ "$(hub_held carB)" = 0 ] || fail "carB's entries must not be stored"
out=$(forge --from "$T/carC" --seqs 1-1)
expect_reply "$out" error reason '"unenrolled_signer"' "unenrolled carC's entry over carA"

echo "== broken chain, equivocation, garbage"
out=$(forge --from "$T/carA" --seqs 23-23 --forge-link 23)
expect_reply "$out" error reason '"broken_chain"' "validly signed entry with a wrong link"
out=$(forge --from "$T/carA" --seqs 10-10 --equivocate 10)
expect_reply "$out" error reason '"equivocation"' "second signed entry at a held seq"
out=$(forge --garbage)
expect_reply "$out" error reason '"malformed"' "bytes that are no entry"
[ "$(hub_held carA)" = 22 ] || fail "refusals changed what is held: $(hub_held carA)"

"$HUB" integrity --state "$T/hub" --json >"$T/events.jsonl"
for r in missing_seq bad_signature wrong_signer unenrolled_signer broken_chain equivocation malformed; do
  [ "$(grep -c "\"reason\":\"$r\"" "$T/events.jsonl")" = 1 ] || fail "expected one $r event: $(cat "$T/events.jsonl")"
done
[ "$(events)" = 7 ] || fail "expected 7 integrity events, got $(events)"
"$HUB" integrity --state "$T/hub" | grepq "equivocation" || fail "text listing lacks equivocation"
# Each event is also an entry of the hub's own signed log (hublog_seq), one each.
[ "$(grep -c '"hublog_seq":0,' "$T/events.jsonl")" = 0 ] || fail "an event is missing from the hub log"
[ "$(sed -n 's/.*"hublog_seq":\([0-9]*\).*/\1/p' "$T/events.jsonl" | sort -u | wc -l)" = 7 ] ||
  fail "each event needs its own hub log entry"
"$HUB" verify --state "$T/hub" | grepq "hub log OK" || fail "the hub's own log must verify"
dev=$("$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$IDA\"")
jget last_error <<<"$dev" | grepq malformed || fail "carA's last error should be the garbage: $dev"

echo "== the real edge still syncs everything"
"$EDGE" run --state "$T/carA" --until-synced --timeout $((20 * FT_SYNC_SLOW)) 2>>"$T/carA/run.log" ||
  fail "carA did not sync after the refusals"
[ "$(hub_held carA)" = 60 ] || fail "carA: hub holds $(hub_held carA) of 60"
"$HUB" verify --state "$T/hub" >/dev/null || fail "hub store must verify after refusals"

echo "== revoked while connected, then refused at the handshake"
edge_records carD 20
edge_start carD --heartbeat-ms 500
wait_until 30 "carD synced" all_synced carD
"$HUB" revoke "$(edge_id carD)" --state "$T/hub" | grepq "revoked device" || fail "revoke failed"
"$HUB" revoke "$(edge_id carD)" --state "$T/hub" | grepq "already revoked" || fail "second revoke"
edge_records carD 10 20
refused_logged() { grep -q "hub refused this device: revoked" "$T/carD/run.log"; }
wait_until 20 "carD's next batch refused" refused_logged
[ "$(hub_held carD)" = 20 ] || fail "after revocation nothing more may be stored: $(hub_held carD)"
dev=$("$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$(edge_id carD)\"")
[ "$(jget state <<<"$dev")" = revoked ] || fail "carD must show as revoked: $dev"
jget last_error <<<"$dev" | grepq "revoked" || fail "carD's last error must say revoked: $dev"
edge_stop carD
rc_of "$EDGE" run --state "$T/carD" --until-synced --timeout "$REFUSED_RUN_S" 2>>"$T/carD/run.log"
[ "$RC" = 1 ] || fail "a revoked device's run must fail, got $RC"
grep -q "hub refused this device: not enrolled or revoked" "$T/carD/run.log" ||
  fail "the reconnect must be refused at the handshake"
grep -q "device $(edge_id carD) is revoked" "$T/hub/hub.log" || fail "the hub log must name the revoked device"
dev=$("$HUB" devices --state "$T/hub" --json | grep "\"device_id\":\"$(edge_id carD)\"")
[ "$(jget refusals <<<"$dev")" -ge 1 ] || fail "the refused handshake must be counted: $dev"
"$EDGE" status --state "$T/carD" | grepq "unacked:     10" || fail "carD keeps its 10 unsent entries"
[ "$(events)" = 7 ] || fail "revocation is not an integrity event"
echo "all refusals behaved"
