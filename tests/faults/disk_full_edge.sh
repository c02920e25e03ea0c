#!/usr/bin/env bash
# Disk full at the edge: the edge's state lives on a 12 MiB tmpfs. The
# vehicle imports records and ingests media until the disk is full; each
# command says "storage is full" and stores nothing half-way, the running
# sync daemon keeps sending what was stored, and the log still verifies.
# Then the disk grows (remount), work resumes, and everything converges.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
hub_init
small_fs "$T/disk" 12
EDGE_DIR_NAME=disk/car1
edge_new disk/car1
hub_start
EDGE_ARGS=(--heartbeat-ms 500 --reconnect-max-ms 500)
edge_start disk/car1 "${EDGE_ARGS[@]}"

full=0 n=0 media=0
for i in $(seq 60); do
  rc=0
  "$SIM" gen car1 200 "$n" | "$EDGE" import - --state "$T/disk/car1" >"$T/import.out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    grep -qi 'full' "$T/import.out" || fail "import failed, but not for a full disk: $(cat "$T/import.out")"
    full=$((full + 1))
    break
  fi
  n=$((n + 200))
  head -c $((1024 * 1024)) /dev/urandom >"$T/clip$i.mp4"
  rc=0
  "$EDGE" ingest "$T/clip$i.mp4" --recorder DSJ-1 --state "$T/disk/car1" >"$T/ingest.out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    grep -qi 'full' "$T/ingest.out" || fail "ingest failed, but not for a full disk: $(cat "$T/ingest.out")"
    full=$((full + 1))
    break
  fi
  media=$((media + 1))
done
[ "$full" -gt 0 ] || fail "the 12 MiB disk never filled"
echo "disk full after $n records and $media media files: $(tail -1 "$T/import.out" "$T/ingest.out" 2>/dev/null | grep -i full | head -1)"
"$EDGE" verify --state "$T/disk/car1" >/dev/null || fail "the edge's log does not verify after the disk filled"
revive
wait_until 60 "what was stored is at the hub" alive_and logs_synced disk/car1

grow_fs "$T/disk" 64
"$SIM" gen car1 300 "$n" | "$EDGE" import - --state "$T/disk/car1" >/dev/null 2>&1 ||
  fail "import after the disk grew failed"
edge_media disk/car1 500 1
media=$((media + 1))
echo "disk grown to 64 MiB: 300 more records and a clip stored"
wait_until 60 "logs at the hub" alive_and logs_synced disk/car1
wait_until 90 "media at the hub" alive_and media_complete "$media"
crash_report
converge disk/car1
