#!/bin/bash
# Edge storage full: with a small LMDB map, the second file does not fit;
# ingest pauses with a clear message and a storage_full event, nothing is
# corrupted (the log verifies), and once the hub confirms the first file the
# edge prunes it and the second one is ingested and sent by itself.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

media_hub_init
media_edge_new car1
echo "map_size_mb = 40" >>"$T/car1/edge.conf"
mkdir -p "$T/car1/inbox/R1"
head -c $((12 << 20)) /dev/urandom >"$T/a.mp4"
head -c $((24 << 20)) /dev/urandom >"$T/b.mp4"
"$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest a"
cp "$T/b.mp4" "$T/car1/inbox/R1/b.mp4"
touch "$T/car1/inbox/R1/b.mp4.done"
if "$EDGE" ingest --inbox --state "$T/car1" 2>"$T/full.err" >/dev/null; then
  fail "the second file should not fit"
fi
grep -q "storage full" "$T/full.err" || fail "no clear message: $(cat "$T/full.err")"
"$EDGE" log --state "$T/car1" | grepq storage_full || fail "no storage_full event in the log"
"$EDGE" verify --state "$T/car1" >/dev/null || fail "the log does not verify after storage full"
"$EDGE" status --state "$T/car1" | grepq "FULL" || fail "status does not say storage is full"
echo "paused with: $(head -1 "$T/full.err")"

[ -f "$T/car1/inbox/R1/b.mp4" ] || fail "the file that did not fit left the inbox"
hub_start
edge_start car1
wait_complete 2 120
"$EDGE" log --state "$T/car1" | grepq media_pruned || fail "no media_pruned event"
"$EDGE" log --state "$T/car1" | grepq storage_ok || fail "no storage_ok event"
"$EDGE" verify --state "$T/car1" >/dev/null || fail "the edge log does not verify"
for f in a b; do
  id=$(hub_media_json | grep "\"name\":\"$f.mp4\"" | jget file_id)
  check_identical "$(sha256sum "$T/$f.mp4" | cut -d' ' -f1)" "$id"
done
echo "resumed after pruning: both files identical at the hub"
