#!/bin/bash
# An inbox file removed while its ingest was interrupted (kill -9 of the
# edge mid-file) leaves no partial chunks behind: the next inbox pass frees
# them, drops the progress row (the only place a file key is kept) and writes
# an ingest_failed event naming the file to the device log, so the office
# learns that footage went missing before it was secured. A file still in the
# inbox beside it is resumed and stored as usual.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
MTOOL=$FT_BUILD/tests/media/ft_mtool

media_hub_init
media_edge_new car1
mkdir -p "$T/car1/inbox/BC-7"
big_file "$T/car1/inbox/BC-7/lost.mp4" 512
head -c $((2 << 20)) /dev/urandom >"$T/car1/inbox/BC-7/kept.mp4"
touch "$T/car1/inbox/BC-7/lost.mp4.done" "$T/car1/inbox/BC-7/kept.mp4.done"
# Interrupt the ingest of the big file once some of its chunks are stored.
kill_ingest_at car1 "$T/car1/inbox/BC-7/lost.mp4" 8 "$T/ingest1.log"
partial=$(edge_chunks car1)
[ "$("$MTOOL" "$T/car1/db" count mprogress)" = 1 ] || fail "no progress row for the interrupted ingest"
[ "$partial" -lt 512 ] || fail "the ingest finished before it could be interrupted ($partial chunks)"
echo "interrupted with $partial of 512 chunks stored"
# The officer (or the recorder's dock) deletes the file before the edge is back.
rm -f "$T/car1/inbox/BC-7/lost.mp4" "$T/car1/inbox/BC-7/lost.mp4.done"
"$EDGE" ingest --inbox --state "$T/car1" >"$T/ingest2.log" 2>&1 || fail "inbox pass failed: $(tail -3 "$T/ingest2.log")"
grep -q "lost.mp4 was interrupted and the file is no longer in the inbox" "$T/ingest2.log" ||
  fail "no warning about the abandoned ingest: $(cat "$T/ingest2.log")"
[ "$("$MTOOL" "$T/car1/db" count mprogress)" = 0 ] || fail "the progress row (with its key) remains"
[ "$(edge_chunks car1)" = 2 ] || fail "expected only kept.mp4's 2 chunks, found $(edge_chunks car1)"
"$EDGE" log --state "$T/car1" --json >"$T/log.json"
grep '"ingest_failed"\|INGEST_FAILED' "$T/log.json" | grepq "lost.mp4" ||
  fail "no ingest_failed event naming lost.mp4 in the device log"
grep -c '"kind":"media"' "$T/log.json" | grepq -x 1 || fail "expected one manifest (kept.mp4)"
# A second pass finds nothing more to sweep.
"$EDGE" ingest --inbox --state "$T/car1" >"$T/ingest3.log" 2>&1 || fail "second inbox pass failed"
! grep -q "no longer in the inbox" "$T/ingest3.log" || fail "swept twice"
echo "abandoned ingest swept: $partial partial chunks freed, event logged, kept.mp4 stored"
