#!/usr/bin/env bash
# Disk full at the hub: the hub's state lives on a 16 MiB tmpfs while two
# edges send records and media that do not fit. The hub must stay up - the
# same process from start to end, a crash fails the test - and:
#   - pause media pulling with one clear message, shown by `status`;
#   - keep taking log records while its store can commit;
#   - when the store is full too, refuse batches with one clear message
#     (the edges keep their entries) and never acknowledge what it did not
#     store;
#   - resume by itself when the disk grows (remount): every entry once, media
#     byte-identical, no partial left behind (the checker decides).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
small_fs "$T/disk" 16
hub_init
# Move the hub's state onto the small disk (hub_init made it in $T/hub).
cp -a "$T/hub/." "$T/disk/"
rm -rf "$T/hub"
ln -s "$T/disk" "$T/hub"
# The hub's log is kept off the small disk (as a service manager's journal
# would be), so that what the hub says about the full disk can be read.
HUB_LOG=$T/hub-run.log
: >"$HUB_LOG"
ln -s "$HUB_LOG" "$T/disk/hub.log"
for v in car1 car2; do
  edge_new "$v"
  edge_records "$v" 800
done
edge_media car1 3000 2
edge_media car2 3000 1
hub_start
HUB_FIRST=$HUB_PID
EDGE_ARGS=(--heartbeat-ms 500 --reconnect-max-ms 500)
for v in car1 car2; do
  edge_start "$v" "${EDGE_ARGS[@]}"
done

# up_and CMD...: the hub is still the process started above (it must not die:
# no restart here), edges are revived if they died (reported), then CMD.
up_and() {
  kill -0 "$HUB_FIRST" 2>/dev/null ||
    fail "the hub (pid $HUB_FIRST) died: $(grep -m1 -E 'ERROR: AddressSanitizer|runtime error:' "$HUB_LOG" || tail -n 1 "$HUB_LOG")"
  revive
  [ "$HUB_PID" = "$HUB_FIRST" ] || fail "the hub was restarted"
  "$@"
}
said() { grep -q -- "$1" "$HUB_LOG"; }
times_said() { grep -c -- "$1" "$HUB_LOG" || true; }
hub_json() { "$HUB" status --state "$T/hub" --json; }
pulling() { hub_json | grep -o '"pulling":{[^}]*}' | grep -o '"state":"[a-z]*"' | cut -d'"' -f4; }
held_bytes() { hub_json | grep -o '"bytes_held":[0-9]*' | awk -F: '{s += $2} END {print s + 0}'; }
acks_only_stored() {
  local v acked
  for v in car1 car2; do
    acked=$("$EDGE" status --state "$T/$v" --json | jget acked_seq)
    [ "$acked" -le "$(hub_held "$v")" ] ||
      fail "$v: the hub acknowledged $acked entries but holds $(hub_held "$v")"
  done
}
PAUSED="media pulling paused"

# 1. Media fills the disk down to what is kept for the log: pulling pauses.
wait_until 60 "media pulling to pause on the full disk" up_and said "$PAUSED"
said "the hub's storage is full" || fail "the pause does not say that the storage is full: $(grep -m1 "$PAUSED" "$HUB_LOG")"
grep -m1 "$PAUSED" "$HUB_LOG"
[ "$(pulling)" = paused ] || fail "hub status --json does not show pulling paused: $(hub_json)"
"$HUB" status --state "$T/hub" | grep "media PAUSED" ||
  fail "hub status does not show that media pulling is paused"
echo "media held when paused: $(held_bytes) bytes; disk: $(df -m --output=used "$T/disk" | tail -1 | tr -d ' ') of 16 MiB used"

# 2. Log records keep flowing while media waits.
edge_records car1 500 800
wait_until 60 "records made during the pause at the hub" up_and logs_synced car1 car2
acks_only_stored
echo "500 records made during the pause are at the hub; media still $(pulling)"
[ "$(pulling)" = paused ] || fail "media pulling resumed on a disk that is still full"

# 3. The store fills too: batches are refused with one clear message and the
# edge keeps its entries.
edge_records car2 10000 800
wait_until 90 "the hub's store to refuse batches" up_and said "the hub's store is full"
grep -m1 "the hub's store is full" "$HUB_LOG"
sleep $((6 * FT_SLOW)) # at least one retry of media pulling on the full disk
up_and acks_only_stored
car2_head=$(edge_head car2)
echo "car2 holds $car2_head entries, the hub $(hub_held car2); media $(pulling)"
[ "$(hub_held car2)" -lt "$car2_head" ] || fail "the hub's store never filled (raise the record count)"
n=$(times_said "$PAUSED")
[ "$n" -eq 1 ] || fail "media pulling paused $n times on one full disk (one message expected)"
n=$(times_said "the hub's store is full")
[ "$n" -le 2 ] || fail "the full store was reported $n times (a flood)"
n=$(times_said "cannot write a chunk\|cannot commit received chunks")
[ "$n" -le 1 ] || fail "$n chunk write/commit errors logged while paused (a flood)"

# 4. The disk grows: everything resumes by itself, in the same process.
grow_fs "$T/disk" 256
echo "hub disk grown to 256 MiB"
wait_until 90 "logs at the hub" up_and logs_synced car1 car2
wait_until 120 "media at the hub" up_and media_complete 3
said "media pulling resumed" || fail "the hub did not say that media pulling resumed"
grep -m1 "media pulling resumed" "$HUB_LOG"
[ "$(times_said "$PAUSED")" -eq 1 ] || fail "media pulling paused again after the disk grew"
[ "$(pulling)" = running ] || fail "hub status does not show pulling running: $(hub_json)"
left=$(find "$T/disk/blobs/partial" -type f | wc -l)
[ "$left" -eq 0 ] || fail "$left partial blob(s) left after every file completed"
up_and acks_only_stored
echo "hub pid $HUB_FIRST up throughout"
crash_report
converge car1 car2
