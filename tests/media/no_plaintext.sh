#!/bin/bash
# After ingest the edge's state directory holds no plaintext of the file and
# no file key: a marker string from the file is nowhere in it, the inbox is
# empty, and no ingest-progress row (the only place a key is kept during an
# ingest) remains.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
MTOOL=$FT_BUILD/tests/media/ft_mtool

media_hub_init
media_edge_new car1
mkdir -p "$T/car1/inbox/BC-1"
for i in $(seq 2000); do echo "FIELDTRAIL-PLAINTEXT-MARKER-$i secret footage"; done >"$T/clip.mp4"
head -c $((3 << 20)) /dev/urandom >>"$T/clip.mp4"
cp "$T/clip.mp4" "$T/car1/inbox/BC-1/clip.mp4"
touch "$T/car1/inbox/BC-1/clip.mp4.done"
"$EDGE" ingest --inbox --state "$T/car1" >/dev/null 2>&1 || fail "ingest --inbox failed"
[ -z "$(ls -A "$T/car1/inbox/BC-1")" ] || fail "inbox not emptied"
if grep -rqa "FIELDTRAIL-PLAINTEXT-MARKER" "$T/car1"; then
  fail "plaintext found in the edge state directory: $(grep -rla FIELDTRAIL-PLAINTEXT-MARKER "$T/car1")"
fi
[ "$("$MTOOL" "$T/car1/db" count mprogress)" = 0 ] || fail "an ingest-progress row (holding a key) remains"
[ "$("$MTOOL" "$T/car1/db" count mchunks)" = 4 ] || fail "expected 4 chunks stored"
echo "no plaintext marker and no key row in the state directory after ingest"
