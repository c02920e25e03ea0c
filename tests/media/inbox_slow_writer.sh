#!/bin/bash
# A dock copies a 4 MB clip into the inbox in 100 kB steps with a 3 s stall
# in the middle, and the edge runs with the default inbox settings
# (media.stable_ms 2 s, media.settle_ms 30 s): the hub ends with a
# byte-identical copy of the whole file, shown as one clip, and the inbox
# file is still there when the writer finishes and is removed only after the
# whole file is committed. FT_MEDIA_SCENARIO:
#   held_fd            the writer keeps the file open (cp, dd): the edge sees
#                      a writer and never takes a part of it
#   reopen             the writer opens the file for each step (>>): the part
#                      written before the stall is taken, and the whole file
#                      is ingested again; its manifest supersedes the first
#   kill_during_copy   held_fd, the edge killed (kill -9) and restarted twice
#                      during the copy (once in the stall)
#   kill_during_ingest held_fd, the edge killed (kill -9) while it reads the
#                      file (each read of it slowed to 0.3 s by ft_slowread),
#                      restarted
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

SCENARIO=${FT_MEDIA_SCENARIO:-held_fd}
media_hub_init
media_edge_new car1
# The defaults, not the tests' short times.
sed -i '/^media.stable_ms/d; /^media.settle_ms/d' "$T/car1/edge.conf"
IN=$T/car1/inbox/BC-3
mkdir -p "$IN"
SRC=$T/src.mp4
head -c 4000000 /dev/urandom >"$SRC"
want=$(sha256sum "$SRC" | cut -d' ' -f1)
DST=$IN/clip.mp4

# write_clip MODE: the dock's copy, 40 steps of 100 kB, a 3 s stall after 20;
# writes $T/writer.done with the file's inode when it is finished.
write_clip() {
  local mode=$1 i
  if [ "$mode" = held ]; then
    exec 3>"$DST"
  fi
  for i in $(seq 0 39); do
    if [ "$mode" = held ]; then
      dd if="$SRC" bs=100000 skip="$i" count=1 status=none >&3
    else
      dd if="$SRC" bs=100000 skip="$i" count=1 status=none >>"$DST"
    fi
    if [ "$i" = 19 ]; then
      touch "$T/writer.stalled"
      sleep 3
    else
      sleep 0.02
    fi
  done
  [ "$mode" = held ] && exec 3>&-
  stat -c %i "$DST" >"$T/writer.done"
}

hub_start
case $SCENARIO in
kill_during_ingest)
  # Reads of the clip are slowed so that a kill lands in the middle of its
  # ingest (each 1 MiB chunk read takes 0.3 s; 4 chunks; ft_slowread).
  FT_SLOWREAD_PATH=$DST FT_SLOWREAD_MS=300 LD_PRELOAD=$FT_BUILD/tests/media/libft_slowread.so \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$EDGE" run --state "$T/car1" 2>>"$T/car1/run.log" &
  EDGE_PID[car1]=$!
  PIDS+=("$!")
  ;;
*) edge_start car1 ;;
esac

mode=held
[ "$SCENARIO" = reopen ] && mode=reopen
write_clip "$mode" &
WRITER=$!
PIDS+=("$WRITER")

case $SCENARIO in
kill_during_copy)
  wait_until 20 "the writer to stall" test -e "$T/writer.stalled"
  sleep 1
  edge_kill9 car1
  edge_start car1
  sleep 2.5 # into the second half of the copy
  edge_kill9 car1
  edge_start car1
  ;;
kill_during_ingest)
  wait "$WRITER"
  # The ingest starts media.stable_ms after the last write; its progress row
  # appears then, with chunks to follow one slowed read at a time.
  wait_until 30 "the ingest of the clip to start" sh -c \
    "[ \"\$(\"$FT_BUILD/tests/media/ft_mtool\" \"$T/car1/db\" count mprogress 2>/dev/null)\" -ge 1 ]"
  sleep 0.5
  # Read-only look (a command that opens the log would wait for the
  # ingest's write transaction): no file row yet, so no manifest either.
  [ "$("$FT_BUILD/tests/media/ft_mtool" "$T/car1/db" count mfiles)" = 0 ] ||
    fail "the clip was committed before the kill: the kill did not land in the ingest"
  edge_kill9 car1
  echo "edge killed in the middle of the ingest"
  edge_start car1
  ;;
esac

wait "$WRITER" || fail "the writer failed"
[ -e "$T/writer.done" ] || fail "the writer did not finish"
[ -e "$DST" ] || fail "the clip left the inbox before its writer had finished"
[ "$(stat -c %i "$DST")" = "$(cat "$T/writer.done")" ] || fail "the clip was replaced"

# The whole file arrives; the hub shows one clip for it.
wait_until 120 "the whole clip at the hub" sh -c \
  "\"$HUB\" media list --state \"$T/hub\" --json | grep '\"name\":\"clip.mp4\"' | grep '\"state\":\"complete\"' | grep -q '\"size\":4000000'"
[ "$(hub_media_json | grep -c '"name":"clip.mp4"')" = 1 ] ||
  fail "the hub shows more than one clip for the file: $(hub_media_json | grep clip.mp4)"
id=$(hub_media_json | grep '"name":"clip.mp4"' | jget file_id)
check_identical "$want" "$id"

manifests=$("$EDGE" log --state "$T/car1" --json | grep -c '"kind":"media"' || true)
case $SCENARIO in
reopen)
  # The part before the stall was taken, then the whole file again.
  [ "$manifests" = 2 ] || fail "expected 2 manifests (a part, then the whole), got $manifests"
  "$EDGE" log --state "$T/car1" --json | grep '"kind":"media"' | tail -n 1 |
    grepq '"supersedes":"' || fail "the second manifest does not name the first as superseded"
  "$HUB" media list --state "$T/hub" --json --all | grep '"name":"clip.mp4"' |
    grepq '"superseded_by":"'"$id"'"' || fail "media list --all does not show the superseded part"
  ;;
*)
  [ "$manifests" = 1 ] || fail "a part of the clip was taken while its writer held it: $manifests manifests"
  ;;
esac

# The file leaves the inbox once unchanged for media.settle_ms (30 s), and
# only then.
wait_until 60 "the clip to leave the inbox" test ! -e "$DST"
grepq "clip.mp4 removed: its ingest is committed" "$T/car1/run.log" ||
  fail "the removal was not logged"
"$EDGE" verify --state "$T/car1" >/dev/null || fail "the edge's log does not verify"
echo "$SCENARIO: whole clip at the hub, one clip shown, inbox file removed after its writer finished"
