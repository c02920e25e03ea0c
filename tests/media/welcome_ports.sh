#!/bin/bash
# A set-up that cannot go wrong: a hub on a non-default sync port whose media
# and data path ports are anything (here: free ports, not the sync port + 2),
# and an edge set up with `init` flags only (no media.hub): the hub's Welcome
# on the sync link names its media and data ports, the edge dials them on the
# host it syncs with, and a clip arrives whole. An edge whose media.hub names
# another port says so in its log.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

media_hub_init
[ "$MPORT" != $((PORT + 2)) ] || fail "the media port happens to be the sync port + 2; run again"
"$EDGE" init --state "$T/v1" --unit unit-v1 --vehicle car-v1 --hub "tcp://127.0.0.1:$PORT" \
  --hub-key "$HUB_KEY" --archive-key "$ARCHIVE_KEY" >/dev/null || fail "edge init failed"
"$HUB" enroll "$T/v1/device.pub" --unit unit-v1 --vehicle car-v1 --state "$T/hub" >/dev/null ||
  fail "enroll failed"
if grep -q '^media\.hub' "$T/v1/edge.conf"; then fail "init wrote media.hub: $(cat "$T/v1/edge.conf")"; fi
head -c $((3 << 20)) /dev/urandom >"$T/clip.mp4"
"$EDGE" ingest "$T/clip.mp4" --recorder DSJ-1 --state "$T/v1" >/dev/null || fail "ingest failed"
hub_start
edge_start v1
complete() { "$HUB" media list --state "$T/hub" --json | grepq '"state":"complete"'; }
wait_until 60 "the clip complete at the hub" complete
grepq "media: serving chunks to the hub at tcp://127.0.0.1:$MPORT" <"$T/v1/run.log" ||
  fail "the edge did not dial the media port the hub named: $(grep media "$T/v1/run.log" | tail -n 5)"
grepq "chunks go to tcp://127.0.0.1:$DPORT" <"$T/v1/run.log" ||
  fail "the edge did not use the data path the hub named: $(grep media "$T/v1/run.log" | tail -n 5)"
edge_stop v1

# An edge told another media port in its config: the mismatch is in its log.
echo "media.hub = tcp://127.0.0.1:$((MPORT == 65535 ? 1024 : MPORT + 1))" >>"$T/v1/edge.conf"
edge_start v1
said() { grepq "the hub says its media port is $MPORT" <"$T/v1/run.log"; }
wait_until 20 "the edge reporting the media port mismatch" said
echo "PASS: media arrive with init flags only on a non-default port; a wrong media.hub is reported"
