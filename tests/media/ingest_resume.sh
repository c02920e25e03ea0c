#!/bin/bash
# Ingest survives a crash mid-file and never stores a file twice: an ingest
# killed with kill -9 twice (at a third and at two thirds of the file) is
# resumed from its progress row, not started over; the resumed file is stored
# once (no chunk more than the file has, no progress row left, so no file key
# stays behind); ingesting the same content again is refused as a duplicate;
# and the hub pulls the file and decrypts it to the original bytes.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
MTOOL=$FT_BUILD/tests/media/ft_mtool
N=$((FT_MEDIA_BIG_MB < 300 ? FT_MEDIA_BIG_MB : 300)) # chunks (MiB): 300, 128 under ASan

media_hub_init
media_edge_new car1
big_file "$T/clip.mp4" "$N"
want=$(sha256sum "$T/clip.mp4" | cut -d' ' -f1)
for round in 1 2; do
  kill_ingest_at car1 "$T/clip.mp4" $((N * round / 3)) "$T/ingest$round.log"
  have=$(edge_chunks car1)
  [ "$have" -lt "$N" ] || fail "round $round: the ingest finished before it could be killed"
  [ "$("$MTOOL" "$T/car1/db" count mprogress)" = 1 ] || fail "round $round: no progress row"
  echo "round $round: killed with $have of $N chunks stored"
done
"$EDGE" ingest "$T/clip.mp4" --recorder BC-7 --state "$T/car1" --json >"$T/ingest3.out" \
  2>"$T/ingest3.log" || fail "the resumed ingest failed: $(cat "$T/ingest3.log")"
grep -q '"resumed":true' "$T/ingest3.out" || fail "not resumed: $(cat "$T/ingest3.out")"
[ "$("$MTOOL" "$T/car1/db" count mprogress)" = 0 ] || fail "a progress row (with its key) remains"
[ "$(edge_chunks car1)" = "$N" ] || fail "expected $N chunks after the resume, found $(edge_chunks car1)"
"$EDGE" ingest "$T/clip.mp4" --recorder BC-7 --state "$T/car1" --json >"$T/ingest4.out" \
  2>/dev/null || fail "the second ingest of the same content failed"
grep -q '"result":"duplicate"' "$T/ingest4.out" || fail "not refused as a duplicate: $(cat "$T/ingest4.out")"
[ "$(edge_chunks car1)" = "$N" ] || fail "the duplicate stored chunks: $(edge_chunks car1)"
"$EDGE" log --state "$T/car1" --json >"$T/log.json"
[ "$(grep -c '"kind":"media"' "$T/log.json")" = 1 ] || fail "expected one manifest in the log"

hub_start
edge_start car1
wait_complete 1 120
id=$(hub_media_json | sed -n 1p | jget file_id)
check_identical "$want" "$id"
echo "resumed after two kill -9, stored once, duplicate refused, identical at the hub"
