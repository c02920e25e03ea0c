# lib.sh: helpers of the media integration tests (sourced, not a test).
# Builds on tests/sync/lib.sh (scratch dir $T, free ports, PID-only cleanup).
#
# FT_MEDIA_BIG_MB is the size of the "1 GiB" file: 1024 in the normal build;
# the ASan build shrinks it to 128 unless the variable is set.

# shellcheck source=../sync/lib.sh
. "$FT_SRC/tests/sync/lib.sh"

if [ -z "${FT_MEDIA_BIG_MB:-}" ]; then
  FT_MEDIA_BIG_MB=1024
  [ "$FT_SYNC_SLOW" -gt 1 ] && FT_MEDIA_BIG_MB=128
fi

# media_hub_init: hub_init plus a media endpoint on a free port (MPORT) and
# the chunk data path on another (DPORT): set, so that the default (MPORT + 1)
# never meets a port another test picked.
media_hub_init() {
  hub_init
  MPORT=$(free_port)
  DPORT=$(free_port)
  while [ "$DPORT" = "$MPORT" ] || [ "$DPORT" = "$PORT" ]; do DPORT=$(free_port); done
  {
    echo "media.listen = tcp://127.0.0.1:$MPORT"
    echo "media.data_listen = tcp://127.0.0.1:$DPORT"
    echo "alerts.publish = tcp://127.0.0.1:$(free_port)"
    echo "http = off"
  } >>"$T/hub/hub.conf"
  ARCHIVE_KEY=$(awk -F' *= *' '$1 == "archive_public" {print $2}' "$T/hub/hub.pub")
  [ -n "$ARCHIVE_KEY" ] || fail "no archive_public in hub.pub"
}

# media_edge_new NAME: edge_new plus the archive key and media endpoint, and
# short inbox times: a file unchanged for 0.3 s is taken, and leaves the
# inbox once unchanged for 1.5 s (tests/media/inbox_*.sh use the defaults).
media_edge_new() {
  edge_new "$1"
  {
    echo "archive_key = $ARCHIVE_KEY"
    echo "media.hub = tcp://127.0.0.1:$MPORT"
    echo "media.stable_ms = 300"
    echo "media.settle_ms = 1500"
  } >>"$T/$1/edge.conf"
  mkdir -p "$T/$1/inbox"
}

# big_file PATH MB: a file of MB MiB of random bytes, made quickly (one
# 16 MiB random block, each copy made unique by its own header).
big_file() {
  local path=$1 mb=$2 i
  head -c $((16 << 20)) /dev/urandom >"$T/block"
  : >"$path"
  for ((i = 0; i < mb / 16; i++)); do
    printf 'fieldtrail test block %08d ' "$i" >>"$path"
    cat "$T/block" >>"$path"
  done
  truncate -s $((mb << 20)) "$path"
}

# edge_chunks NAME: chunks in edge NAME's store (0 while it cannot be read).
edge_chunks() {
  "$FT_BUILD/tests/media/ft_mtool" "$T/$1/db" count mchunks 2>/dev/null || echo 0
}

# kill_ingest_at NAME FILE CHUNKS LOG: `fieldtrail-edge ingest FILE` on edge
# NAME (recorder BC-7, output in LOG), killed with kill -9 as soon as its
# store holds CHUNKS chunks, or left to end by itself if it gets there first
# (the caller checks). It runs at the lowest priority (nice execs it: $! is
# the edge) and is stopped before the kill, so that on loaded cores the poll
# is not starved while the ingest runs on.
kill_ingest_at() {
  local name=$1 file=$2 want=$3 log=$4 ing
  nice -n 19 "$EDGE" ingest "$file" --recorder BC-7 --state "$T/$name" >"$log" 2>&1 &
  ing=$!
  PIDS+=("$ing")
  for _ in $(seq 6000); do
    [ "$(edge_chunks "$name")" -ge "$want" ] && break
    kill -0 "$ing" 2>/dev/null || break
    sleep 0.01
  done
  kill -STOP "$ing" 2>/dev/null || true
  kill -9 "$ing" 2>/dev/null || true
  wait "$ing" 2>/dev/null || true
}

# hub_media_json: `fieldtrail-hub media list --json` lines.
hub_media_json() {
  "$HUB" media list --state "$T/hub" --json
}

# hub_complete_count: files complete at the hub.
hub_complete_count() {
  hub_media_json | grep -c '"state":"complete"' || true
}

# wait_complete N SECONDS: until the hub holds N complete files.
wait_complete() {
  local n=$1 secs=$2
  wait_until "$secs" "$n media files complete at the hub" test_complete "$n"
}
test_complete() {
  [ "$(hub_complete_count)" -ge "$1" ]
}

# check_identical SRC_SHA256 FILE_ID: the hub's decrypted copy has this hash.
check_identical() {
  local want=$1 id=$2 got
  "$HUB" media get "$id" --out "$T/got.bin" --state "$T/hub" 2>>"$T/get.log" ||
    fail "media get $id failed: $(tail -2 "$T/get.log")"
  got=$(sha256sum "$T/got.bin" | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "file $id differs at the hub: $got, expected $want"
  rm -f "$T/got.bin"
  # The signed content hash is the plain SHA-256 of the file (media format 2),
  # so `sha256sum` of the original checks it.
  got=$("$HUB" media list --state "$T/hub" --json | grep -o "\"file_id\":\"$id\".*" |
    grep -o '"content_hash":"[0-9a-f]*"' | sed -n 1p | cut -d'"' -f4)
  [ "$got" = "$want" ] || fail "file $id: content_hash $got in the manifest, sha256sum $want"
}
