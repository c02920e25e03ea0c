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
# It runs at the lowest priority (nice execs it: $! is the edge), so that on
# loaded cores the poll below is not starved while the ingest runs to its end.
nice -n 19 "$EDGE" ingest "$T/car1/inbox/BC-7/lost.mp4" --recorder BC-7 --state "$T/car1" \
  >"$T/ingest1.log" 2>&1 &
ING=$!
PIDS+=("$ING")
chunks() { "$MTOOL" "$T/car1/db" count mchunks 2>/dev/null || echo 0; }
# Polled tightly: on an idle machine the whole file takes about a second.
for _ in $(seq 6000); do
  [ "$(chunks)" -ge 8 ] && break
  kill -0 "$ING" 2>/dev/null || break
  sleep 0.01
done
kill -STOP "$ING" 2>/dev/null || true
kill -9 "$ING" 2>/dev/null || true
wait "$ING" 2>/dev/null || true
partial=$(chunks)
[ "$("$MTOOL" "$T/car1/db" count mprogress)" = 1 ] || fail "no progress row for the interrupted ingest"
[ "$partial" -lt 512 ] || fail "the ingest finished before it could be interrupted ($partial chunks)"
echo "interrupted with $partial of 512 chunks stored"
# The officer (or the recorder's dock) deletes the file before the edge is back.
rm -f "$T/car1/inbox/BC-7/lost.mp4" "$T/car1/inbox/BC-7/lost.mp4.done"
"$EDGE" ingest --inbox --state "$T/car1" >"$T/ingest2.log" 2>&1 || fail "inbox pass failed: $(tail -3 "$T/ingest2.log")"
grep -q "lost.mp4 was interrupted and the file is no longer in the inbox" "$T/ingest2.log" ||
  fail "no warning about the abandoned ingest: $(cat "$T/ingest2.log")"
[ "$("$MTOOL" "$T/car1/db" count mprogress)" = 0 ] || fail "the progress row (with its key) remains"
[ "$(chunks)" = 2 ] || fail "expected only kept.mp4's 2 chunks, found $(chunks)"
"$EDGE" log --state "$T/car1" --json >"$T/log.json"
grep '"ingest_failed"\|INGEST_FAILED' "$T/log.json" | grepq "lost.mp4" ||
  fail "no ingest_failed event naming lost.mp4 in the device log"
grep -c '"kind":"media"' "$T/log.json" | grepq -x 1 || fail "expected one manifest (kept.mp4)"
# A second pass finds nothing more to sweep.
"$EDGE" ingest --inbox --state "$T/car1" >"$T/ingest3.log" 2>&1 || fail "second inbox pass failed"
! grep -q "no longer in the inbox" "$T/ingest3.log" || fail "swept twice"
echo "abandoned ingest swept: $partial partial chunks freed, event logged, kept.mp4 stored"
