#!/usr/bin/env bash
# The convergence checker can fail: two edges sync records and media and
# converge (OK, with media byte-identical); then an edge records more while
# the hub is down (FAIL: missing), and a byte of a blob at the hub is
# flipped (FAIL: media_bad). Pins that every fault test's final verdict means
# something.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

hub_init
for v in car1 car2; do
  edge_new "$v"
  edge_records "$v" 200
done
edge_media car1 300 2
edge_media car2 70 1
hub_start
for v in car1 car2; do
  edge_start "$v" --heartbeat-ms 500 --reconnect-max-ms 500
done
wait_until 60 "logs at the hub" logs_synced car1 car2
wait_until 90 "media complete at the hub" media_complete 3
converge car1 car2
grep -q 'media=3 ' <<<"$CONVERGE_LINE" || fail "expected 3 media files checked: $CONVERGE_LINE"

hub_stop
edge_records car2 7 200
rc=0
out=$("$CONVERGE" "$T/hub" "$T/car1" "$T/car2" 2>&1) || rc=$?
echo "$out" | tail -1
[ "$rc" = 1 ] && grep -q 'FAIL.*missing=7 ' <<<"$out" || fail "7 unsynced entries not reported: $out"

# One byte of every blob: car1's two files must both be named, whichever
# order the blob store lists them in.
nblobs=0
while IFS= read -r blob; do
  chmod u+w "$blob"
  printf '\xff' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none
  nblobs=$((nblobs + 1))
done < <(find "$T/hub/blobs/objects" -type f)
[ "$nblobs" -ge 2 ] || fail "expected the blobs of 3 files at the hub, found $nblobs"
rc=0
out=$("$CONVERGE" "$T/hub" "$T/car1" 2>&1) || rc=$?
echo "$out" | tail -1
[ "$rc" = 1 ] && grep -q 'FAIL.*media_bad=2 ' <<<"$out" || fail "flipped blob bytes not reported: $out"
