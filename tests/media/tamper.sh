#!/bin/bash
# A chunk altered at rest on the edge is refused by the hub (its hash does not
# match the signed manifest), recorded as an integrity event, and every other
# chunk of the file still arrives; the file is "damaged", gets no receipt and
# the edge keeps it. Another file arrives complete.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
MTOOL=$FT_BUILD/tests/media/ft_mtool

media_hub_init
media_edge_new car1
head -c $((8 << 20)) /dev/urandom >"$T/a.mp4"
head -c $((3 << 20)) /dev/urandom >"$T/b.mp4"
id=$("$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" --json 2>/dev/null | jget file_id)
"$EDGE" ingest "$T/b.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest b"
"$MTOOL" "$T/car1/db" flip "$id" 3 || fail "cannot alter the chunk"

hub_start
edge_start car1
wait_complete 1 60
wait_until 60 "file a is damaged at the hub" sh -c "\"$HUB\" media list --state \"$T/hub\" --json | grep '\"file_id\":\"$id\"' | grep -q '\"state\":\"damaged\"'"
row=$(hub_media_json | grep "\"file_id\":\"$id\"")
[ "$(jget chunks_held <<<"$row")" = 7 ] || fail "expected the other 7 chunks held: $row"
[ "$(jget chunks_refused <<<"$row")" = 1 ] || fail "expected 1 refused chunk: $row"
"$HUB" integrity --state "$T/hub" | grepq chunk_hash_mismatch || fail "no chunk_hash_mismatch integrity event"
"$HUB" media get "$id" --out "$T/x" --state "$T/hub" 2>/dev/null && fail "a damaged file was handed out"
# The receipt for b reaches the edge on its own time after the hub completed
# it: wait (bounded) for it, then give the edge a second in which it must not
# drop the damaged file.
b_receipted() { # files acknowledged by the hub (acked, or acked and pruned) >= 1
  local st
  st=$("$EDGE" status --state "$T/car1" --json)
  grep -qE '"files_acked":[1-9]|"files_pruned":[1-9]' <<<"$st"
}
wait_until 30 "the edge holds the receipt for file b" b_receipted
sleep 1
"$EDGE" status --state "$T/car1" --json | grepq '"files_pending":1' || fail "the edge must keep the damaged file"
echo "altered chunk refused, integrity event recorded, 7 of 8 chunks and the other file arrived"
