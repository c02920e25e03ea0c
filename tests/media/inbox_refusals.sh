#!/bin/bash
# The inbox takes only regular, singly linked files inside INBOX/<recorder>/
# and never follows a link: a symbolic link to a file outside the inbox (the
# unit's own device.key), a symbolic link as a recorder folder, a symbolic
# link as a sidecar, a FIFO, a hard link to a file outside the inbox and a
# file outside any recorder folder are each refused exactly once (one log
# line, one signed ingest_refused event, across passes and a restart of the
# watcher), never read and never removed; nothing outside the inbox changes.
# A real file in a sub-folder (a dock's DCIM/100MEDIA/ copy) is taken, and
# `status` lists every refusal with its reason.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

media_hub_init
media_edge_new car1
IN=$T/car1/inbox
OUT=$T/outside
mkdir -p "$IN/BC-1/DCIM/100MEDIA" "$OUT/dir"
head -c 300000 /dev/urandom >"$OUT/secret.mp4"
head -c 200000 /dev/urandom >"$OUT/dir/other.mp4"
head -c 250000 /dev/urandom >"$OUT/linked.mp4"
cp "$T/car1/device.key" "$OUT/device.key.copy"
sums() { sha256sum "$T/car1/device.key" "$OUT/secret.mp4" "$OUT/dir/other.mp4" "$OUT/linked.mp4"; }
sums >"$T/before.sha"

ln -s "$T/car1/device.key" "$IN/BC-1/key.mp4"         # link to a file outside
ln -s "$OUT/secret.mp4" "$IN/BC-1/DCIM/secret.mp4"    # link, in a sub-folder
ln -s "$OUT/dir" "$IN/BC-2"                           # linked recorder folder
mkfifo "$IN/BC-1/pipe.mp4"                            # FIFO
ln "$OUT/linked.mp4" "$IN/BC-1/hard.mp4"              # hard link to a file outside
head -c 100000 /dev/urandom >"$IN/loose.mp4"          # not in a recorder folder
head -c 150000 /dev/urandom >"$IN/BC-1/DCIM/100MEDIA/real.mp4"
echo '{"case":"C-1"}' >"$OUT/side.json"
head -c 120000 /dev/urandom >"$IN/BC-1/side.mp4"
ln -s "$OUT/side.json" "$IN/BC-1/side.mp4.json"       # sidecar that is a link
real_sha=$(sha256sum "$IN/BC-1/DCIM/100MEDIA/real.mp4" | cut -d' ' -f1)
side_sha=$(sha256sum "$IN/BC-1/side.mp4" | cut -d' ' -f1)
touch -d '-10 sec' "$IN/BC-1/DCIM/100MEDIA/real.mp4" "$IN/BC-1/side.mp4" "$IN/loose.mp4"

# Three one-shot passes, then the watcher of `run` for a while, then again
# after a restart: one refusal each, ever.
for i in 1 2 3; do
  timeout 60 "$EDGE" ingest --inbox --state "$T/car1" >"$T/pass$i.out" 2>>"$T/pass.log" || true
done
grepq "refused" "$T/pass.log" || fail "no refusal logged: $(tail -5 "$T/pass.log")"
hub_start
edge_start car1
wait_complete 2 60
sleep 3
edge_stop car1
edge_start car1
sleep 3
edge_stop car1

"$EDGE" log --state "$T/car1" --json >"$T/log.jsonl"
refusals=$(grep -c '"ingest_refused"' "$T/log.jsonl" || true)
# key.mp4, DCIM/secret.mp4, BC-2, pipe.mp4, hard.mp4, loose.mp4, side.mp4.json
[ "$refusals" = 7 ] || fail "expected 7 ingest_refused events, got $refusals: $(grep ingest_refused "$T/log.jsonl")"
for p in BC-1/key.mp4 BC-1/DCIM/secret.mp4 BC-2 BC-1/pipe.mp4 BC-1/hard.mp4 loose.mp4 \
  BC-1/side.mp4.json; do
  [ "$(grep '"ingest_refused"' "$T/log.jsonl" | grep -c "$p\\b" || true)" = 1 ] ||
    fail "not exactly one refusal for $p"
done
grep '"ingest_refused"' "$T/log.jsonl" | grep "BC-1/key.mp4" | grepq "symbolic link" ||
  fail "the refusal of the link does not say why"
grep '"ingest_refused"' "$T/log.jsonl" | grep "hard.mp4" | grepq "hard links" ||
  fail "the refusal of the hard link does not say why"

# Nothing outside the inbox was read or removed; the refused paths are
# still where they were.
sums >"$T/after.sha"
cmp -s "$T/before.sha" "$T/after.sha" || fail "a file outside the inbox changed"
for p in BC-1/key.mp4 BC-1/DCIM/secret.mp4 BC-2 BC-1/side.mp4.json; do
  [ -L "$IN/$p" ] || fail "the refused link $p was removed"
done
[ -p "$IN/BC-1/pipe.mp4" ] || fail "the FIFO was removed"
[ -f "$IN/BC-1/hard.mp4" ] && [ -f "$IN/loose.mp4" ] || fail "a refused file was removed"
[ "$(stat -c %h "$OUT/linked.mp4")" = 2 ] || fail "the hard link was removed"

# Only the real files were taken: no manifest has the content of a file
# outside, the real clip (in a sub-folder) and the clip whose sidecar was
# refused arrived, and left the inbox.
key_sha=$(sha256sum "$T/car1/device.key" | cut -d' ' -f1)
for f in "$T/car1/device.key" "$OUT/secret.mp4" "$OUT/dir/other.mp4" "$OUT/linked.mp4"; do
  h=$(sha256sum "$f" | cut -d' ' -f1)
  if hub_media_json | grepq "$h"; then fail "$f was ingested"; fi
done
: "$key_sha"
[ "$(hub_media_json | wc -l)" = 2 ] || fail "expected 2 files at the hub: $(hub_media_json)"
id=$(hub_media_json | grep '"name":"real.mp4"' | jget file_id)
check_identical "$real_sha" "$id"
[ "$(hub_media_json | grep '"name":"real.mp4"' | jget recorder)" = BC-1 ] ||
  fail "the recorder of a file in a sub-folder is not its recorder folder"
id=$(hub_media_json | grep '"name":"side.mp4"' | jget file_id)
check_identical "$side_sha" "$id"
[ "$(hub_media_json | grep '"name":"side.mp4"' | jget case)" = null ] ||
  fail "the linked sidecar was read"
[ ! -e "$IN/BC-1/DCIM/100MEDIA/real.mp4" ] && [ ! -e "$IN/BC-1/side.mp4" ] ||
  fail "the ingested files were not removed"

# status lists each refused path with its reason.
"$EDGE" status --state "$T/car1" >"$T/status.txt"
grepq "7 files not taken" "$T/status.txt" || fail "status does not count the refusals: $(cat "$T/status.txt")"
grep "REFUSED" "$T/status.txt" | grepq "pipe.mp4: is a FIFO" || fail "status does not say why"
"$EDGE" status --state "$T/car1" --json | grepq '"inbox_problems":\[{' ||
  fail "status --json has no inbox_problems"

# A refused path that goes away leaves the list.
rm "$IN/BC-1/pipe.mp4"
"$EDGE" ingest --inbox --state "$T/car1" >/dev/null 2>&1 || true
"$EDGE" status --state "$T/car1" | grepq "6 files not taken" || fail "a removed path stayed listed"
echo "7 paths refused once each, nothing outside the inbox read or removed"
