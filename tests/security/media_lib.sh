# media_lib.sh: helpers of the security tests of the media ports (sourced
# after tests/security/lib.sh, not a test): the media port (MPORT) and the
# chunk data path (DPORT) that hub_init gave the hub, an edge that sends
# media to them, and a file for it to send.

# sec_media_ports: MPORT and DPORT from the hub's hub.conf.
sec_media_ports() {
  MPORT=$(sed -n 's/^media\.listen = tcp:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/hub/hub.conf" | tail -1)
  DPORT=$(sed -n 's/^media\.data_listen = tcp:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/hub/hub.conf" | tail -1)
  [ -n "$MPORT" ] && [ -n "$DPORT" ] || fail "no media ports in hub.conf"
}

# sec_media_edge NAME: edge NAME seals media for the hub and sends it to MPORT.
sec_media_edge() {
  local key
  key=$(awk -F' *= *' '$1 == "archive_public" {print $2}' "$T/hub/hub.pub")
  [ -n "$key" ] || fail "no archive_public in hub.pub"
  {
    echo "archive_key = $key"
    echo "media.hub = tcp://127.0.0.1:$MPORT"
  } >>"$T/$1/edge.conf"
}

# sec_media_file NAME MB: a random file of MB MiB ingested by edge NAME (not
# running); sets FILE_ID and WANT (the file's SHA-256).
sec_media_file() {
  head -c $(($2 << 20)) /dev/urandom >"$T/clip.mp4"
  WANT=$(sha256sum "$T/clip.mp4" | cut -d' ' -f1)
  FILE_ID=$("$EDGE" ingest "$T/clip.mp4" --recorder R1 --state "$T/$1" --json 2>/dev/null | jget file_id)
  [ ${#FILE_ID} = 32 ] || fail "ingest gave no file ID"
}

# media_state ID: the file's state at the hub ("" if unknown).
media_state() {
  "$HUB" media list --state "$T/hub" --json | grep "\"file_id\":\"$1\"" | jget state
}
media_complete() { [ "$(media_state "$1")" = complete ]; }

# sec_media_identical ID SHA256: what `fieldtrail-hub media get` exports of
# the file has the original's SHA-256, and no chunk was refused.
sec_media_identical() {
  local row got
  row=$("$HUB" media list --state "$T/hub" --json | grep "\"file_id\":\"$1\"")
  [ "$(jget chunks_refused <<<"$row")" = 0 ] || fail "the hub refused chunks of $1: $row"
  "$HUB" media get "$1" --out "$T/got.bin" --state "$T/hub" 2>>"$T/get.log" ||
    fail "media get $1 failed: $(tail -2 "$T/get.log")"
  got=$(sha256sum "$T/got.bin" | cut -d' ' -f1)
  [ "$got" = "$2" ] || fail "file $1 differs at the hub: $got, expected $2"
  rm -f "$T/got.bin"
}

# media_pulling KEY: KEY of the running hub's media status (data_forged, ...).
media_pulling() {
  "$HUB" status --state "$T/hub" --json | jget "$1"
}

# sec_media_converged NAME: as check_converged (tests/sync/lib.sh) for an
# edge whose log also holds media manifests (entries that are not records):
# the hub verifies, holds NAME's whole log once, no integrity event.
sec_media_converged() {
  local out h held events
  out=$("$HUB" verify --state "$T/hub" --json) || fail "hub verify failed: $out"
  "$EDGE" verify --state "$T/$1" >/dev/null || fail "edge $1's own log does not verify"
  h=$(edge_head "$1")
  held=$(hub_held "$1")
  [ "$held" = "$h" ] || fail "hub holds $held entries of $1, edge has $h"
  [ "$(jget entries <<<"$out")" = "$h" ] || fail "hub verified $(jget entries <<<"$out") entries, expected $h"
  [ "$(jget duplicate_ids <<<"$out")" = 0 ] || fail "duplicate record ids at the hub"
  events=$("$HUB" status --state "$T/hub" --json | jget integrity_events)
  [ "$events" = 0 ] || fail "unexpected integrity events: $events"
  echo "converged: $h entries at the hub, the log complete, verified, none twice"
}
