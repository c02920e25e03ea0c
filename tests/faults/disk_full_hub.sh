#!/usr/bin/env bash
# Disk full at the hub: the hub's state lives on a small tmpfs while two
# edges send records and media that do not fit. The hub must not lose or
# half-store anything and must not acknowledge what it could not commit;
# if it dies it is restarted (and that is reported). Then the disk grows
# (remount) and everything converges: every entry once, media identical.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
small_fs "$T/disk" 16
hub_init
# Move the hub's state onto the small disk (hub_init made it in $T/hub).
cp -a "$T/hub/." "$T/disk/"
rm -rf "$T/hub"
ln -s "$T/disk" "$T/hub"
for v in car1 car2; do
  edge_new "$v"
  edge_records "$v" 4000
done
edge_media car1 3000 2
edge_media car2 3000 1
HUB_ARGS=()
hub_start
EDGE_ARGS=(--heartbeat-ms 500 --reconnect-max-ms 500)
for v in car1 car2; do
  edge_start "$v" "${EDGE_ARGS[@]}"
done
sleep $((8 * FT_SLOW))
revive
used=$(df -m --output=used "$T/disk" | tail -1 | tr -d ' ')
held=$("$HUB" status --state "$T/hub" --json | jget entries)
full=no
# The crash list too: when the hub dies on the full disk, its log cannot be
# copied aside there, but revive quoted the log's last line in $T/crashes.
cat "$T"/disk/hub.log* "$T/crashes" 2>/dev/null | grep -qi 'is full\|no space\|input/output error' &&
  full=yes
# The hub's own log lives on that disk too, so its message may not fit:
# a disk used to its last MiB is proof enough that it filled.
[ "$used" -ge 15 ] && full=yes
echo "hub disk of 16 MiB: ${used} MiB used, $held entries held, full reported: $full"
[ "$full" = yes ] || fail "the hub's disk never filled (raise the sizes)"
# Nothing the hub acknowledged may be missing from its store.
for v in car1 car2; do
  acked=$("$EDGE" status --state "$T/$v" --json | jget acked_seq)
  [ "$acked" -le "$(hub_held "$v")" ] || fail "$v: the hub acknowledged $acked entries but holds $(hub_held "$v")"
done

grow_fs "$T/disk" 256
echo "hub disk grown to 256 MiB"
wait_until 90 "logs at the hub" alive_and logs_synced car1 car2
wait_until 120 "media at the hub" alive_and media_complete 3
crash_report
converge car1 car2
