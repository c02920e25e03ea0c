#!/usr/bin/env bash
# Integrity events become critical alerts citing Art. 24(2) (rule 15, built
# in): a batch with a flipped byte (bad signature), one with a missing seq,
# and one of entries signed by another device, each sent by ft_forge; a clean
# edge that syncs normally raises nothing. Compared exactly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x "$FORGE" ] || fail "$FORGE is not built"

U='"unit":"unit-x"'
hub_init
edge_new carA unit-a
edge_new carB unit-b
edge_new carC unit-c
edge_new clean unit-clean
for e in carA carB carC clean; do
  for i in 1 2 3; do
    echo "{\"type\":\"patrol\",\"id\":\"$e-$i\",$U,\"start\":\"2026-05-20T0$i:00:00+08:00\",\"end\":\"2026-05-20T0$i:10:00+08:00\",\"media_unsuitable\":\"scenario\"}"
  done >"$T/$e.jsonl"
  edge_import "$e" "$T/$e.jsonl"
done
hub_start --now 2026-06-01T00:00:00+08:00
forge() {
  local as=$1
  shift
  "$FORGE" --hub "$HUB_EP" --hub-key "$HUB_KEY" --as "$T/$as" --wait-ms $((3000 * SLOW)) "$@" \
    >>"$T/forge.log" 2>&1 || true
}
forge carA --from "$T/carA" --seqs 1-3 --flip 2
forge carB --from "$T/carB" --seqs 1-3 --skip 2
forge carC --from "$T/carA" --seqs 1-1
edge_sync clean
events=$("$HUB" status --state "$T/hub" --json | jget integrity_events)
[ "$events" = 3 ] || fail "expected 3 integrity events, got $events: $(cat "$T/forge.log")"
# The running hub turns them into alerts within a step or two.
start=$SECONDS
until [ "$("$HUB" alerts --state "$T/hub" --brief --article '24(2)' 2>/dev/null | wc -l)" -ge 3 ]; do
  [ $((SECONDS - start)) -lt $((20 * SLOW)) ] || fail "integrity alerts did not appear"
  sleep 0.2
done
hub_stop
check_alerts integrity
"$HUB" alerts --state "$T/hub" --json --severity critical | grepq '"detail":"device .*bad_signature' ||
  fail "the bad-signature alert should say what failed"
