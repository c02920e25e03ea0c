#!/bin/bash
# A 1 GiB video and a hundred small photos dropped into an edge's inbox are
# ingested, pulled by the hub and arrive byte-identical (the hub decrypts
# with its archive key; hashes compared with the sources). The inbox is
# emptied, the edge gets signed completion receipts, and `status` on both
# sides reports the media.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

media_hub_init
media_edge_new car1
mkdir -p "$T/car1/inbox/BC-07" "$T/src"
big_file "$T/src/big.mp4" "$FT_MEDIA_BIG_MB"
for i in $(seq -w 1 100); do
  head -c $((20000 + RANDOM)) /dev/urandom >"$T/src/IMG_$i.jpg"
done
declare -A SHA
while read -r h f; do SHA[$(basename "$f")]=$h; done < <(sha256sum "$T"/src/*)
# A checkout covering the capture time names the officer of unlabelled files.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "{\"type\":\"recorder_checkout\",\"id\":\"co-1\",\"time\":\"2020-01-01T00:00:00Z\",\"fields\":{\"recorder\":\"BC-07\",\"officer\":\"OF-9\",\"battery_pct\":90,\"free_mb\":9000}}" |
  "$EDGE" import - --state "$T/car1" >/dev/null || fail "checkout import failed"
echo '{"officer":"OF-1","case":"C-2026-7","cause":"illegal land use","party":"ACME","kind":"video"}' >"$T/src/big.mp4.json"

hub_start
edge_start car1
start=$SECONDS
cp "$T"/src/IMG_*.jpg "$T/car1/inbox/BC-07/"
# The big file is written under a .tmp name (which the inbox ignores) and
# renamed after its sidecar: copied under its own name, a stall of more than
# media.stable_ms (300 ms) in the middle of the 1 GiB copy (writeback on a
# loaded machine) made the edge take the file as complete and ingest part of it.
cp "$T/src/big.mp4.json" "$T/car1/inbox/BC-07/big.mp4.json.tmp"
cp "$T/src/big.mp4" "$T/car1/inbox/BC-07/big.mp4.tmp"
mv "$T/car1/inbox/BC-07/big.mp4.json.tmp" "$T/car1/inbox/BC-07/big.mp4.json"
mv "$T/car1/inbox/BC-07/big.mp4.tmp" "$T/car1/inbox/BC-07/big.mp4"
wait_complete 101 $((120 + FT_MEDIA_BIG_MB / 4))
echo "101 files ($FT_MEDIA_BIG_MB MiB + 100 photos) complete at the hub after $((SECONDS - start)) s"

hub_media_json >"$T/list.json"
while read -r line; do
  id=$(jget file_id <<<"$line")
  name=$(jget name <<<"$line")
  check_identical "${SHA[$name]}" "$id"
done <"$T/list.json"
echo "all 101 files byte-identical after decryption at the hub"

big=$(grep '"name":"big.mp4"' "$T/list.json")
[ "$(jget officer <<<"$big")" = OF-1 ] || fail "sidecar officer not in the manifest: $big"
[ "$(jget case <<<"$big")" = C-2026-7 ] || fail "sidecar case not in the manifest"
[ "$(jget unit <<<"$big")" = unit-car1 ] || fail "unit not in the manifest"
photo=$(grep '"name":"IMG_001.jpg"' "$T/list.json")
[ "$(jget officer <<<"$photo")" = OF-9 ] || fail "officer from the checkout missing: $photo"
[ "$(jget officer_source <<<"$photo")" = checkout ] || fail "officer source not recorded"
[ "$(jget time_source <<<"$photo")" = file_mtime ] || fail "time source not recorded"
[ "$(jget kind <<<"$photo")" = photo ] || fail "kind not recorded"
[ "$("$HUB" media list --state "$T/hub" --json --case C-2026-7 | wc -l)" = 1 ] || fail "case filter"
[ "$("$HUB" media list --state "$T/hub" --json --officer OF-9 | wc -l)" = 100 ] || fail "officer filter"

[ -z "$(ls -A "$T/car1/inbox/BC-07")" ] || fail "inbox not emptied: $(ls "$T/car1/inbox/BC-07" | head)"
wait_until 30 "edge holds 101 receipts" sh -c "\"$EDGE\" status --state \"$T/car1\" --json | grep -q '\"files_acked\":101'"
"$EDGE" status --state "$T/car1" | grepq "^media:" || fail "edge status shows no media line"
"$HUB" status --state "$T/hub" | grepq "^media: .*101 files complete" || fail "hub status shows no media"
"$HUB" verify --state "$T/hub" >/dev/null || fail "hub verify failed"
"$EDGE" verify --state "$T/car1" >/dev/null || fail "edge log does not verify"
[ "$(hub_held car1)" = "$(edge_head car1)" ] || fail "hub does not hold the whole log"
