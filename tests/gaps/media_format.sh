#!/usr/bin/env bash
# A media manifest of an older media format (format 1: BLAKE2b hashes, no
# `format` field) is kept in the log like any entry, but the hub does not try
# to pull it (its chunks would all fail the hash check and be marked bad):
# the hub's log names the entry and the format it reads instead. A format 2
# manifest from the same edge raises no such line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

hub_init
edge_new car unit-a
FT_MEDIA_FORMAT=1 media car 00112233445566778899aabbccddeeff R1 - - \
  2026-05-20T01:00:00+08:00 2026-05-20T01:10:00+08:00
media car ffeeddccbbaa99887766554433221100 R1 - - \
  2026-05-20T02:00:00+08:00 2026-05-20T02:10:00+08:00
hub_start
edge_sync car
start=$SECONDS
until grep -q "media format 1, which this hub does not read" "$T/hub/hub.log"; do
  [ $((SECONDS - start)) -lt $((20 * SLOW)) ] ||
    fail "the hub did not name the format 1 manifest: $(tail -n 5 "$T/hub/hub.log")"
  sleep 0.2
done
line=$(grep "does not read" "$T/hub/hub.log")
grep -q "entry 1 holds a manifest in media format 1" <<<"$line" ||
  fail "the line does not name entry 1: $line"
grep -q "it reads format 2" <<<"$line" || fail "the line does not say which format is read: $line"
[ "$(grep -c "does not read" "$T/hub/hub.log")" = 1 ] ||
  fail "expected one such line (entry 1 only): $(grep "does not read" "$T/hub/hub.log")"
# Both entries are in the hub's store all the same.
held=$("$HUB" status --state "$T/hub" --json | grep -o '"entries":[0-9]*' | sed -n 1p | cut -d: -f2)
[ "${held:-0}" -ge 2 ] || fail "the hub holds ${held:-0} entries, expected 2"
echo "format 1 manifest named and not pulled; format 2 manifest quiet"
