#!/bin/bash
# A file whose key the hub cannot open is not taken for tampering. The edge
# seals its files to another archive key than this hub's (a key file swapped
# at the hub, or an edge given another hub's archive key): every chunk
# arrives and matches the signed manifest, but the file key does not open.
# The hub keeps the file (state pulling, every chunk held), records no
# integrity event, says what is wrong (`status`: media HELD), and once its
# key file holds the right archive key the file completes and the edge gets
# its receipt. (Before, the file was marked failed for good and a
# content_hash_mismatch integrity event -- tampering -- was recorded.)
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

media_hub_init
# A second hub's keys: the edge is given that hub's archive key.
"$HUB" init --state "$T/other" --listen "tcp://127.0.0.1:$(free_port)" --advertise 127.0.0.1 \
  --json >/dev/null || fail "second hub init failed"
ARCHIVE_KEY=$(awk -F' *= *' '$1 == "archive_public" {print $2}' "$T/other/hub.pub")
media_edge_new car1
head -c $((3 << 20)) /dev/urandom >"$T/a.mp4"
want=$(sha256sum "$T/a.mp4" | cut -d' ' -f1)
id=$("$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" --json 2>/dev/null | jget file_id)
[ ${#id} = 32 ] || fail "ingest gave no file ID: $id"

hub_start
edge_start car1
file_row() { hub_media_json | grep "\"file_id\":\"$id\"" || true; }
# held: every chunk is in and the hub says the file is held back; a file
# marked failed ends the test at once.
held() {
  local row
  row=$(file_row)
  [ "$(jget state <<<"$row")" != failed ] ||
    fail "the file was marked failed: a key the hub cannot open was taken for tampering"
  "$HUB" status --state "$T/hub" --json | grepq '"held_back":1'
}
wait_until 90 "the file held back at the hub" held
row=$(file_row)
[ "$(jget state <<<"$row")" = pulling ] || fail "expected the file kept in state pulling: $row"
[ "$(jget chunks_held <<<"$row")" = 3 ] || fail "expected its 3 chunks held: $row"
events=$("$HUB" status --state "$T/hub" --json | jget integrity_events)
[ "$events" = 0 ] || fail "expected no integrity event, the hub recorded $events"
"$HUB" integrity --state "$T/hub" | grepq content_hash_mismatch &&
  fail "a content_hash_mismatch integrity event was recorded"
"$HUB" status --state "$T/hub" | grepq "^media HELD: .*archive key does not open" ||
  fail "status does not say why the file is held back: $("$HUB" status --state "$T/hub")"
grepq "does not open the file key sealed in its signed manifest" <"$T/hub/hub.log" ||
  fail "the hub's log does not say what is wrong"
"$EDGE" status --state "$T/car1" --json | grepq '"files_pending":1' ||
  fail "the edge must keep the file"

# The hub's key file gets the archive key the edge was given: after a
# restart the file completes, byte for byte, and the edge gets its receipt.
hub_stop
grep -v '^archive_' "$T/hub/hub.key" >"$T/hub.key.new"
grep '^archive_' "$T/other/hub.key" >>"$T/hub.key.new"
cat "$T/hub.key.new" >"$T/hub/hub.key"
hub_start
wait_complete 1 60
check_identical "$want" "$id"
acked() { "$EDGE" status --state "$T/car1" --json | grepq -E '"files_acked":1|"files_pruned":1'; }
wait_until 30 "the edge holds the receipt" acked
echo "a key the hub could not open held the file back (no integrity event), and it completed once the key was right"
