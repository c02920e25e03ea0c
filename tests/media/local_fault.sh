#!/bin/bash
# A fault of the hub's own storage is not taken for tampering. A file is
# published, but its receipt is not stored yet (the hub stopped in between:
# made here by setting its row back to pulling), and meanwhile a byte of the
# published blob changed on the hub's disk. When the hub finishes the file
# again it reads a chunk that no longer matches what was checked when it
# arrived: it pauses pulling and says so (`status`: media PAUSED, chunk N
# ... not evidence against the edge), records no integrity event and keeps
# the file in state pulling; once the byte is right again it finishes the
# file by itself. (Before, the file was marked failed for good and a
# content_hash_mismatch integrity event -- tampering -- was recorded.)
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
MTOOL=$FT_BUILD/tests/media/ft_mtool

media_hub_init
media_edge_new car1
head -c $((3 << 20)) /dev/urandom >"$T/a.mp4"
want=$(sha256sum "$T/a.mp4" | cut -d' ' -f1)
id=$("$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" --json 2>/dev/null | jget file_id)
[ ${#id} = 32 ] || fail "ingest gave no file ID: $id"
hub_start
edge_start car1
wait_complete 1 60
hub_stop

# The published blob loses a byte in its second chunk; the row says pulling.
blob=$(find "$T/hub/blobs/objects" -type f)
[ "$(wc -l <<<"$blob")" = 1 ] || fail "expected one published blob: $blob"
off=$(((1 << 20) + 16 + 1000))
flip() {
  chmod u+w "$blob"
  local b
  b=$(dd if="$blob" bs=1 skip="$off" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 0x5a)))" |
    dd of="$blob" bs=1 seek="$off" count=1 conv=notrunc 2>/dev/null
  chmod 0400 "$blob"
}
flip
"$MTOOL" "$T/hub/mediadb" setstate "$id" 1 >/dev/null || fail "cannot set the row back to pulling"

hub_start
file_row() { hub_media_json | grep "\"file_id\":\"$id\"" || true; }
paused() {
  [ "$(jget state <<<"$(file_row)")" != failed ] ||
    fail "the file was marked failed: a fault of the hub's storage was taken for tampering"
  "$HUB" status --state "$T/hub" | grepq "^media PAUSED .*chunk 1 .*no longer matches"
}
wait_until 60 "pulling paused, saying which chunk changed" paused
[ "$(jget state <<<"$(file_row)")" = pulling ] || fail "expected the file kept in state pulling"
events=$("$HUB" status --state "$T/hub" --json | jget integrity_events)
[ "$events" = 0 ] || fail "expected no integrity event, the hub recorded $events"

# The byte is right again: the retry (every 5 s) finishes the file.
flip
wait_complete 1 60
grepq "media pulling resumed" <"$T/hub/hub.log" || fail "the hub does not say pulling resumed"
check_identical "$want" "$id"
echo "a chunk the hub's storage changed paused pulling (no integrity event); fixed, the file completed"
