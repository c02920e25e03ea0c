#!/bin/bash
# A set-up that cannot go wrong: a hub on a non-default sync port whose media
# and data path ports are anything (here: free ports, not the sync port + 2),
# and an edge set up with `init` flags only (no media.hub): the hub's Welcome
# on the sync link names its media and data ports, the edge dials them on the
# host it syncs with, and a clip arrives whole; neither `status` speaks of a
# mismatch. An edge whose media.hub names another port (set by hand) says so
# in its log and in `fieldtrail-edge status`, tells the hub, and
# `fieldtrail-hub status` shows it for that device; mended, both clear.
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
# Set up right: neither side's status speaks of a mismatch.
edge_status() { "$EDGE" status --state "$T/v1" "$@"; }
hub_status() { "$HUB" status --state "$T/hub" "$@"; }
edge_status >"$T/es.txt" || fail "edge status failed"
if grep -qi "mismatch" "$T/es.txt"; then fail "edge status shows a mismatch: $(cat "$T/es.txt")"; fi
edge_status --json | grepq '"endpoint_mismatch":null' || fail "edge status --json: $(edge_status --json)"
hub_status >"$T/hs.txt" || fail "hub status failed"
if grep -qi "mismatch" "$T/hs.txt"; then fail "hub status shows a mismatch: $(cat "$T/hs.txt")"; fi
hub_status --json | grepq '"endpoint_mismatch":null' || fail "hub status --json: $(hub_status --json)"
edge_stop v1

# An edge told another media port in its config by hand: the mismatch is in
# its log, and both `status` commands show it in operator's words (what
# edge.conf says, what the hub announces, what the edge uses).
WRONG="tcp://127.0.0.1:$((MPORT == 65535 ? 1024 : MPORT + 1))"
cp "$T/v1/edge.conf" "$T/edge.conf.right"
echo "media.hub = $WRONG" >>"$T/v1/edge.conf"
edge_start v1
said() { grepq "the hub says its media port is $MPORT" <"$T/v1/run.log"; }
wait_until 20 "the edge reporting the media port mismatch" said
WANT="media.hub in edge.conf is $WRONG but the hub announces media port $MPORT (data path $DPORT); the edge uses $WRONG as configured"
edge_shows() { edge_status | grep -F "ENDPOINT MISMATCH: $WANT" >/dev/null; }
wait_until 10 "edge status showing the mismatch" edge_shows
edge_status --json | grep -F "\"endpoint_mismatch\":\"$WANT" >/dev/null ||
  fail "edge status --json lacks the mismatch: $(edge_status --json)"
hub_shows() { hub_status | grep -F "ENDPOINT MISMATCH reported by the edge: $WANT" >/dev/null; }
wait_until 10 "hub status showing the mismatch for the device" hub_shows
hub_status --json | grep -F "\"endpoint_mismatch\":\"$WANT" >/dev/null ||
  fail "hub status --json lacks the mismatch: $(hub_status --json)"
edge_stop v1

# Mended by hand: the next welcome clears it on both sides.
cp "$T/edge.conf.right" "$T/v1/edge.conf"
edge_start v1
edge_clear() { local o; o=$(edge_status) || return 1; ! grep -qi mismatch <<<"$o"; }
wait_until 20 "edge status no longer showing the mismatch" edge_clear
hub_clear() { local o; o=$(hub_status) || return 1; ! grep -qi mismatch <<<"$o"; }
wait_until 10 "hub status no longer showing the mismatch" hub_clear
edge_stop v1
echo "PASS: media arrive with init flags only on a non-default port; a wrong media.hub is shown by both status commands, and cleared once mended"
