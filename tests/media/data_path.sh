#!/bin/bash
# The chunk data path (media.data_listen: a plain ZeroMQ link beside the
# CurveZMQ one, chunks checked against the signed manifest). One scenario per
# run, named by FT_MEDIA_SCENARIO (tests/media.cmake) or the first argument:
#   carries_chunks           default settings: chunks go on the data path and
#                            the file arrives byte-identical
#   altered_in_transit_asked_again_no_integrity_event
#                            a relay (ft_flipproxy) alters one byte of a chunk
#                            on the data path: its MAC does not verify, so the
#                            hub drops it unhashed, counts it, asks for that
#                            chunk again on the secure link, records no
#                            integrity event, and the file arrives complete
#                            and identical
#   unreachable_falls_back_to_secure_link
#                            the port the hub tells (media.data_advertise) has
#                            nobody listening: chunks take the secure link
#   off_uses_secure_link     media.data_listen = off: no data path at all
#   forged_messages_dropped  garbage, a chunk with a wrong token and no MAC
#                            (as an edge of media protocol 1 sends: a clear
#                            refusal in the log) and one with no device and
#                            token (ft_dforge) are each dropped and counted; sent during a transfer, they change
#                            nothing: the file arrives identical, the hub runs on
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
SCENARIO=${1:-${FT_MEDIA_SCENARIO:-}}
TEST_NAME="data_path_$SCENARIO"
PROXY=$FT_BUILD/tests/media/ft_flipproxy
DFORGE=$FT_BUILD/tests/media/ft_dforge
MB=16 # the file: 16 chunks of 1 MiB

# hub_log_has TEXT / edge_log_has TEXT: the hub's / car1's log has TEXT.
hub_log_has() {
  grep -qF -- "$1" "$T/hub/hub.log"
}
edge_log_has() {
  grep -qF -- "$1" "$T/car1/run.log"
}
# log_count FILE TEXT: lines of FILE with TEXT.
log_count() {
  grep -cF -- "$2" "$1" || true
}

# ingest_file NAME MB: a random file $T/NAME ingested by car1 (not running);
# sets FILE_ID and WANT (its SHA-256).
ingest_file() {
  big_file "$T/$1" "$2"
  WANT=$(sha256sum "$T/$1" | cut -d' ' -f1)
  FILE_ID=$("$EDGE" ingest "$T/$1" --recorder R1 --state "$T/car1" --json 2>/dev/null | jget file_id)
  [ ${#FILE_ID} = 32 ] || fail "ingest of $1 gave no file ID"
}

# check_arrived FILE_ID SHA256: complete at the hub, nothing refused,
# byte-identical.
check_arrived() {
  local row
  row=$(hub_media_json | grep "\"file_id\":\"$1\"") || fail "the hub lists no file $1"
  [ "$(jget state <<<"$row")" = complete ] || fail "file $1 is not complete at the hub: $row"
  [ "$(jget chunks_refused <<<"$row")" = 0 ] || fail "the hub refused chunks of file $1: $row"
  check_identical "$2" "$1"
}

# no_integrity_event: the hub recorded none (status count and `integrity`).
no_integrity_event() {
  local events
  events=$("$HUB" status --state "$T/hub" --json | jget integrity_events)
  [ "$events" = 0 ] || fail "unexpected integrity events: $events ($("$HUB" integrity --state "$T/hub"))"
  if "$HUB" integrity --state "$T/hub" | grepq chunk_hash_mismatch; then
    fail "a chunk_hash_mismatch integrity event was recorded"
  fi
}

# hub_data KEY: data_port, data_reasked or data_dropped from the running
# hub's media status.
hub_data() {
  "$HUB" status --state "$T/hub" --json | jget "$1"
}

# no_reask: no chunk was asked again on the secure link (no data-path chunk
# was taken and found wrong).
no_reask() {
  if hub_log_has "asked again on the secure link"; then
    fail "a chunk was asked again on the secure link: $(grep -F "asked again" "$T/hub/hub.log" | head -1)"
  fi
  [ "$(hub_data data_reasked)" = 0 ] || fail "the hub counts $(hub_data data_reasked) chunks asked again"
}

# settled FILE_ID: the hub is done with the file (complete, damaged or failed).
settled() {
  hub_media_json | grep "\"file_id\":\"$1\"" | grepq -E '"state":"(complete|damaged|failed)"'
}

# transfer_one: car1 ingests a file of $MB MiB, hub and edge start, the file
# arrives complete and identical.
transfer_one() {
  ingest_file a.mp4 "$MB"
  hub_start
  edge_start car1
  wait_until 30 "file $FILE_ID complete at the hub" settled "$FILE_ID"
  check_arrived "$FILE_ID" "$WANT"
}

case $SCENARIO in
carries_chunks)
  media_hub_init
  media_edge_new car1
  transfer_one
  hub_log_has "chunk data path on port $DPORT" ||
    fail "the hub's start line names no data path on port $DPORT"
  edge_log_has "media: chunks go to tcp://127.0.0.1:$DPORT (data path" ||
    fail "the edge did not open the data path to tcp://127.0.0.1:$DPORT"
  # The chunks came that way: the hub's end of the edge's connection to the
  # data port (still open) received nearly the whole file (ss, iproute2).
  command -v ss >/dev/null || fail "ss (iproute2, ops/install-deps.sh) is not installed"
  got=$(ss -tinH state established "( sport = :$DPORT )" | grep -o 'bytes_received:[0-9]*' |
    cut -d: -f2 | awk '{n += $1} END {print n + 0}')
  [ "$got" -ge $(((MB - 2) << 20)) ] ||
    fail "the data port received $got bytes for a $MB MiB file: the chunks did not take the data path"
  [ "$(hub_data data_port)" = "$DPORT" ] || fail "hub status: data_port $(hub_data data_port), expected $DPORT"
  [ "$(hub_data data_dropped)" = 0 ] || fail "the hub dropped $(hub_data data_dropped) data-path messages"
  no_reask
  no_integrity_event
  echo "$MB MiB arrived identical over the data path on port $DPORT ($got bytes received there)"
  ;;

altered_in_transit_asked_again_no_integrity_event)
  media_hub_init
  media_edge_new car1
  # The edge is told the relay's port; the relay forwards to the data port
  # and alters the byte at offset 200000 of the edge's stream: inside the
  # first chunk's data (the ZMTP greeting and a chunk's header are ~150 bytes).
  PPORT=$(free_port)
  while [ "$PPORT" = "$DPORT" ] || [ "$PPORT" = "$MPORT" ]; do PPORT=$(free_port); done
  echo "media.data_advertise = $PPORT" >>"$T/hub/hub.conf"
  "$PROXY" "$PPORT" "$DPORT" 200000 >"$T/proxy.out" 2>"$T/proxy.log" &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  wait_until 10 "ft_flipproxy listens" grep -q "listening" "$T/proxy.out"
  transfer_one
  grep -q "altered the byte at offset 200000" "$T/proxy.log" ||
    fail "the relay altered no byte: $(cat "$T/proxy.log")"
  hub_log_has "chunk data path bound to tcp://127.0.0.1:$DPORT, told to edges as port $PPORT" ||
    fail "the hub does not say it tells edges port $PPORT"
  edge_log_has "media: chunks go to tcp://127.0.0.1:$PPORT (data path" ||
    fail "the edge did not send to the relay on port $PPORT"
  hub_log_has "on the data path was dropped unhashed (a MAC that does not verify" ||
    fail "the hub did not drop the altered chunk for its MAC and ask again on the secure link"
  if hub_log_has "does not match the signed manifest"; then
    fail "the altered chunk was hashed: $(grep -F "does not match" "$T/hub/hub.log" | head -1)"
  fi
  [ "$(hub_data data_forged)" = 1 ] || fail "hub status: $(hub_data data_forged) forged messages, expected 1"
  [ "$(log_count "$T/hub/hub.log" "asked again on the secure link")" = 1 ] ||
    fail "expected exactly 1 chunk asked again: $(grep -F "asked again" "$T/hub/hub.log")"
  [ "$(hub_data data_reasked)" = 1 ] || fail "hub status: $(hub_data data_reasked) chunks asked again, expected 1"
  [ "$(hub_data data_port)" = "$PPORT" ] || fail "hub status: data_port $(hub_data data_port), expected $PPORT"
  no_integrity_event
  if hub_log_has "integrity event"; then
    fail "the hub logged an integrity event: $(grep -F "integrity event" "$T/hub/hub.log" | head -1)"
  fi
  # The bulk went through the relay (the data path), the chunk asked again
  # did not (a chunk is 1 MiB; a few may take the secure link while the data
  # path connects).
  stop_pid "$PROXY_PID"
  relayed=$(sed -n 's/^ft_flipproxy: relayed \([0-9]*\) bytes.*/\1/p' "$T/proxy.log")
  [ -n "$relayed" ] || fail "ft_flipproxy did not report what it relayed: $(cat "$T/proxy.log")"
  [ "$relayed" -ge $(((MB - 2) << 20)) ] ||
    fail "only $relayed bytes went on the data path for a $MB MiB file"
  [ "$relayed" -lt $(((MB + 1) << 20)) ] ||
    fail "$relayed bytes on the data path for a $MB MiB file: the chunk asked again came that way"
  echo "one byte altered on the data path: the chunk was asked again on the secure link, no" \
    "integrity event, $MB MiB identical ($relayed bytes on the data path)"
  ;;

unreachable_falls_back_to_secure_link)
  media_hub_init
  media_edge_new car1
  NPORT=$(free_port) # nobody listens there
  while [ "$NPORT" = "$DPORT" ] || [ "$NPORT" = "$MPORT" ]; do NPORT=$(free_port); done
  echo "media.data_advertise = $NPORT" >>"$T/hub/hub.conf"
  transfer_one
  edge_log_has "media: chunks go to tcp://127.0.0.1:$NPORT (data path" ||
    fail "the edge was not told port $NPORT"
  edge_log_has "the data path to the hub is not connected; chunks go on the secure link meanwhile" ||
    fail "the edge does not say its chunks take the secure link"
  no_reask
  no_integrity_event
  echo "nobody on the told data port: $MB MiB arrived identical on the secure link"
  ;;

off_uses_secure_link)
  media_hub_init
  media_edge_new car1
  echo "media.data_listen = off" >>"$T/hub/hub.conf"
  transfer_one
  hub_log_has "no data path: chunks on the secure link" ||
    fail "the hub's start line does not say there is no data path"
  if hub_log_has "chunk data path on port"; then
    fail "the hub opened a data path although media.data_listen = off"
  fi
  [ "$(hub_data data_port)" = 0 ] || fail "hub status: data_port $(hub_data data_port), expected 0"
  "$HUB" status --state "$T/hub" | grepq "^media data: *no data path" ||
    fail "hub status does not say there is no data path"
  edge_log_has "media: the hub offers no data path; chunks go on the secure link" ||
    fail "the edge does not say the hub offers no data path"
  if edge_log_has "media: chunks go to"; then
    fail "the edge opened a data path: $(grep -F "chunks go to" "$T/car1/run.log")"
  fi
  no_integrity_event
  echo "media.data_listen = off: $MB MiB arrived identical on the secure link"
  ;;

forged_messages_dropped)
  media_hub_init
  media_edge_new car1
  DEV=$(edge_id car1)
  DEP=tcp://127.0.0.1:$DPORT
  # forge KIND COUNT [MAX]: ft_dforge sends only KIND (a chunk for the last
  # one of file a); the hub's count of dropped messages becomes COUNT (at
  # most MAX: the hub closes the connection after its first message, so
  # later ones on it may never be read).
  forge() {
    "$DFORGE" "$DEP" "$1" --device "$DEV" --file "$FILE_ID" --index $((MB - 1)) >>"$T/dforge.log" ||
      fail "ft_dforge $1 failed: $(tail -2 "$T/dforge.log")"
    wait_until 10 "the hub to count $2 dropped messages after the $1 message(s)" dropped_at_least "$2"
    sleep 0.5
    [ "$(hub_data data_dropped)" -le "${3:-$2}" ] ||
      fail "the hub counts $(hub_data data_dropped) dropped messages after the $1 message(s), expected $2 to ${3:-$2}"
    kill -0 "$HUB_PID" 2>/dev/null || fail "the hub died after the $1 message(s)"
  }
  dropped_at_least() {
    kill -0 "$HUB_PID" 2>/dev/null || fail "the hub died"
    [ "$(hub_data data_dropped)" -ge "$1" ]
  }
  ingest_file a.mp4 "$MB"
  ida=$FILE_ID
  wanta=$WANT
  hub_start
  edge_start car1
  # Once car1 is welcomed (its session open, with its token): (b) its device
  # ID, a wrong token and wrong data (if taken, the chunk would be asked again
  # or counted twice, not dropped), (c) no device and token, (a) three frames
  # of random bytes.
  wait_until 30 "car1's media session" hub_log_has "media: device $DEV connected"
  forge badtoken 1
  hub_log_has "media: 1 messages on the data path dropped so far" ||
    fail "the hub did not warn of the dropped message"
  # A chunk with device and token but no MAC is what an edge of media
  # protocol 1 sends: refused with a line that says so, the hub runs on.
  hub_log_has "media: refused a data-path connection from 127.0.0.1" ||
    fail "the hub did not log the refusal of a chunk without a MAC"
  hub_log_has "a chunk without a MAC (an edge from before media protocol 2)" ||
    fail "the refusal does not name an edge of an older protocol"
  forge noauth 2
  forge garbage 3 5
  wait_until 30 "file a complete at the hub" settled "$ida"
  check_arrived "$ida" "$wanta"
  # All of them, round after round (ft_dforge --rounds 0, until stopped),
  # from before car1 reconnects until another file has been pulled.
  edge_stop car1
  ingest_file b.mp4 $((4 * MB))
  "$DFORGE" "$DEP" all --device "$DEV" --file "$FILE_ID" --index $((4 * MB - 1)) --rounds 0 \
    >"$T/dforge-all.log" 2>&1 &
  FORGE_PID=$!
  PIDS+=("$FORGE_PID")
  edge_start car1
  wait_until 30 "file b complete at the hub" settled "$FILE_ID"
  kill -0 "$FORGE_PID" 2>/dev/null || fail "ft_dforge stopped early: $(cat "$T/dforge-all.log")"
  stop_pid "$FORGE_PID"
  sent=$(sed -n 's/^ft_dforge: sent \([0-9]*\) messages$/\1/p' "$T/dforge-all.log")
  [ "${sent:-0}" -gt 0 ] || fail "ft_dforge sent nothing: $(cat "$T/dforge-all.log")"
  wait_until 10 "the hub to count more dropped messages" dropped_at_least 10
  check_arrived "$FILE_ID" "$WANT"
  kill -0 "$HUB_PID" 2>/dev/null || fail "the hub is not running any more"
  no_reask
  no_integrity_event
  echo "forged data-path messages dropped (each kind counted, then $sent messages during a" \
    "transfer of $((4 * MB)) MiB: $(hub_data data_dropped) dropped in all); both files identical," \
    "the hub runs on"
  ;;

*)
  fail "unknown scenario \"$SCENARIO\" (see the head of tests/media/data_path.sh)"
  ;;
esac
