#!/usr/bin/env bash
# The slow-link scenario: one vehicle comes back to a 1 Mbit/s link (tbf)
# with 300 ms round trip (ft_proxy, 150 ms +- 20 ms each way) and 2 % loss
# (nftables), holding a day's records and a media backlog. Measures, from
# link-up: when the day's records are at the hub, when their alerts are
# (the gap engine raised an alert on the day's last case), and when the
# media backlog is complete; then records made WHILE media is moving, and
# how long they take. Records must not wait behind media: the day's records
# must arrive before the media is complete, and a late record within
# FT_SLOW_LATE_MAX seconds (default 20) although media fills the link.
#
# Sizes (CI default small; ops/slow-link.sh runs the long version):
#   FT_SLOW_MEDIA_MB   media backlog in MiB (default 3), files of up to 256 MiB
#   FT_SLOW_RECORDS    the day's records (default 200)
#   FT_SLOW_WAIT_MEDIA 1 = wait for the whole backlog and check it (default)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
seed_init
MEDIA_MB=${FT_SLOW_MEDIA_MB:-3}
RECORDS=${FT_SLOW_RECORDS:-200}
WAIT_MEDIA=${FT_SLOW_WAIT_MEDIA:-1}
LATE_MAX=${FT_SLOW_LATE_MAX:-20}
netns_pair
EDGE_NS_DEFAULT=$NS_EDGE
hub_init
PP=$(free_port)
edge_new car1 "tcp://127.0.0.1:$PP" "tcp://127.0.0.1:$((PP + 2))"
# Chunks of FT_SLOW_CHUNK_KB (default 1024 KiB, the product's chunk): one
# chunk needs 8+ s at 1 Mbit/s, which the media link's heartbeat (5 s, 120 s
# timeout) and the hub's request timeout (30 s of silence from the edge) allow.
echo "chunk_kb = ${FT_SLOW_CHUNK_KB:-1024}" >>"$T/car1/edge.conf"
if [ "$MEDIA_MB" -gt 512 ]; then
  echo "map_size_mb = $((MEDIA_MB * 2 + 1024))" >>"$T/car1/edge.conf"
fi

# The backlog: media first (recorded during the day), then the day's records.
left=$MEDIA_MB
files=0
while [ "$left" -gt 0 ]; do
  mb=$((left > 256 ? 256 : left))
  edge_media car1 $((mb * 1024)) 1
  left=$((left - mb))
  files=$((files + 1))
done
edge_records car1 "$RECORDS"
last_case=$(printf 'CAR1-2026-%05d' $(((RECORDS - 1) / 10)))
head0=$(edge_head car1)
echo "backlog: $RECORDS records and $files media file(s), $MEDIA_MB MiB; $head0 log entries"

# Link: down until the hub and the edge run, then up with the slow profile.
partition on
rate 1000
# The chunk data path (hub port + 3) through a proxy of its own too.
echo "media.data_advertise = $((PP + 3))" >>"$T/hub/hub.conf"
hub_start
proxy_start sync "$PP" "$PORT" --seed "$SEED" --delay-ms 150 --jitter-ms 20
proxy_start media $((PP + 2)) $((PORT + 2)) --seed $((SEED + 1)) --delay-ms 150 --jitter-ms 20
proxy_start data $((PP + 3)) $((PORT + 3)) --seed $((SEED + 2)) --delay-ms 150 --jitter-ms 20
EDGE_ARGS=(--heartbeat-ms 2000 --reconnect-max-ms 2000)
edge_start car1 "${EDGE_ARGS[@]}"
sleep 2
loss 2 # replaces the partition: 2 % loss both ways from now on
t0=$(now_ms)
echo "link up: 1 Mbit/s, 300 ms round trip, 2 % loss"

alerts_for_case() {
  [ -n "$("$HUB" alerts --case "$last_case" --brief --state "$T/hub" 2>/dev/null)" ]
}
t_rec="" t_alert="" t_media=""
deadline=$((SECONDS + 300 * FT_SLOW))
until [ -n "$t_rec" ] && [ -n "$t_alert" ]; do
  revive
  if [ -z "$t_rec" ] && [ "$(hub_held car1)" = "$head0" ]; then
    t_rec=$(($(now_ms) - t0))
  fi
  if [ -z "$t_alert" ] && alerts_for_case; then
    t_alert=$(($(now_ms) - t0))
  fi
  if [ -z "$t_media" ] && media_complete "$files"; then
    t_media=$(($(now_ms) - t0))
  fi
  [ $SECONDS -lt $deadline ] || fail "records or alerts not at the hub after $((300 * FT_SLOW)) s"
  sleep 0.2
done
sec() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
echo "slow link: the day's $RECORDS records at the hub $(sec "$t_rec") s after link-up, their alerts $(sec "$t_alert") s"
[ -z "$t_media" ] || fail "the media backlog was complete ($(sec "$t_media") s) before the records: records waited behind media?"

# Records made while media fills the link.
late0=$(($(now_ms)))
edge_records car1 10 "$RECORDS"
head1=$(edge_head car1)
t_late=""
until [ -n "$t_late" ]; do
  revive
  if [ "$(hub_held car1)" = "$head1" ]; then
    t_late=$(($(now_ms) - late0))
  fi
  [ $(($(now_ms) - late0)) -lt $((LATE_MAX * 1000 * FT_SLOW)) ] ||
    fail "10 records made during the media transfer not at the hub within $((LATE_MAX * FT_SLOW)) s: they wait behind media"
  sleep 0.2
done
busy=no
media_complete "$files" || busy=yes
echo "slow link: 10 records made during the media transfer (media still moving: $busy) at the hub $(sec "$t_late") s later"

if [ "$WAIT_MEDIA" = 1 ]; then
  limit=$((MEDIA_MB * 20 + 120))
  wait_until "$limit" "the media backlog at the hub" alive_and media_complete "$files"
  t_media=$(($(now_ms) - t0))
  kbps=$((MEDIA_MB * 1048576 * 8 / t_media))
  echo "slow link: media backlog of $MEDIA_MB MiB complete $(sec "$t_media") s after link-up ($kbps kbit/s of 1000)"
  crash_report
  converge car1
else
  crash_report
  converge --no-media car1
fi
echo "slow-link figures: records=$RECORDS t_records_s=$(sec "$t_rec") t_alerts_s=$(sec "$t_alert") t_late_records_s=$(sec "$t_late") media_mib=$MEDIA_MB t_media_s=$( [ -n "$t_media" ] && sec "$t_media" || echo n/a)"
