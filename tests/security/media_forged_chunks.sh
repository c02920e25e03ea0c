#!/usr/bin/env bash
# Someone on the path of the chunk data path reads the edge's token (and
# whole messages) off the plain link and sends chunks of his own with it: a
# sniffed token and device, fresh sequence numbers, random data and a random
# MAC; the sniffed DataHello and a sniffed chunk again (replays). The hub
# drops every one before hashing it (no "does not match the signed manifest"
# line, no integrity event, nothing refused), counts them (`status`:
# data_forged), closes the attacker's connections, and the file arrives
# identical: the SHA-256 of what `fieldtrail-hub media get` exports is the
# original's; a logged-in dashboard user polling throughout is answered in
# under 2 s (p95). ft_attack forge is the relay the edge's data path goes through
# (media.data_advertise) and the forger.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/media_lib.sh"
sec_hub_init
sec_media_ports
sec_media_edge car
sec_media_file car 64
PPORT=$(free_port)
hub_conf_try media.data_advertise "$PPORT"
grep -q "^media.data_advertise = $PPORT" "$T/hub/hub.conf" || fail "media.data_advertise not taken"
"$ATTACK" forge "$PPORT" "$DPORT" $((20 * FT_SYNC_SLOW)) "$FILE_ID" 64 >"$T/forge.out" 2>"$T/forge.log" &
A=$!
PIDS+=("$A")
wait_until 10 "ft_attack forge listens" grep -q "listening" "$T/forge.log"
echo "http_metrics_token = forge-test-metrics" >>"$T/hub/hub.conf"
sec_web_on
sec_hub_start
poll_start
edge_start car
wait_until 60 "the file at the hub" media_complete "$FILE_ID"
wait "$A" || fail "ft_attack forge saw no token: $(cat "$T/forge.out" "$T/forge.log")"
poll_stop
sleep 1
kill -0 "$HUB_PID" || fail "the hub died"
forged=$(media_pulling data_forged)
dropped=$(media_pulling data_dropped)
closed=$(media_pulling data_conns_closed)
echo "attacker: $(cat "$T/forge.out")"
echo "hub: $dropped data-path messages dropped, $forged of them forged or replayed under the current token; $closed connections closed unproven; $(media_pulling data_reasked) chunks asked again on the secure link"
sent=$(sed -n 's/^forge: \([0-9]*\) forged chunks.*/\1/p' "$T/forge.out")
[ "${sent:-0}" -ge 5 ] || fail "the attacker sent too few forged chunks: $(cat "$T/forge.out")"
[ "$forged" -ge 5 ] || fail "the hub counts $forged forged messages"
[ "$closed" -ge 5 ] || fail "the hub closed only $closed unproven connections"
if grep -qF "does not match the signed manifest" "$T/hub/hub.log"; then
  fail "a data-path chunk was hashed: $(grep -F "does not match" "$T/hub/hub.log" | head -1)"
fi
grep -qF "forged or replayed under a current token, none hashed or stored" "$T/hub/hub.log" ||
  fail "the hub did not log the dropped messages"
metrics=$(curl -s -H "Authorization: Bearer forge-test-metrics" "$URL/metrics")
m=$(sed -n 's/^fieldtrail_media_data_forged_total \([0-9]*\)$/\1/p' <<<"$metrics")
[ "${m:-0}" -ge "$forged" ] || fail "/metrics: fieldtrail_media_data_forged_total '${m:-}', status says $forged"
echo "/metrics: fieldtrail_media_data_forged_total $m"
events=$("$HUB" status --state "$T/hub" --json | jget integrity_events)
[ "$events" = 0 ] || fail "integrity events recorded: $events"
sec_media_identical "$FILE_ID" "$WANT"
echo "64 MiB arrived identical (SHA-256 $WANT) while forged and replayed chunks were dropped unhashed"
