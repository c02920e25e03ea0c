#!/bin/bash
# Cut the link at 10 random (seeded) points of a 1 GiB transfer by kill -9 of
# the edge or the hub (side chosen by the seed too), restart it, and check the
# file arrives byte-identical and that the chunks sent more than once are at
# most 10 in total (counted from the edge's per-chunk trace, FT_MEDIA_TRACE).
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
RANDOM=${FT_MEDIA_SEED:-4242}

media_hub_init
# The default window (1 request in flight per edge): a cut loses at most the
# chunk on the wire; chunks the hub wrote after its last checkpoint are found
# again in the partial when it restarts.
media_edge_new car1
big_file "$T/big.mp4" "$FT_MEDIA_BIG_MB"
want=$(sha256sum "$T/big.mp4" | cut -d' ' -f1)
"$EDGE" ingest "$T/big.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest"
rm -f "$T/big.mp4"
n=$FT_MEDIA_BIG_MB
export FT_MEDIA_TRACE=1
hub_start
edge_start car1
held() {
  hub_media_json | jget chunks_held
}
points=()
for i in $(seq 10); do points+=($((RANDOM % (n - 10) + 5))); done
mapfile -t points < <(printf '%s\n' "${points[@]}" | sort -n)
for p in "${points[@]}"; do
  wait_until $((60 + n / 8)) "hub holds $p chunks" sh -c "[ \"\$(\"$HUB\" media list --state \"$T/hub\" --json | awk -F'\"chunks_held\":' '{split(\$2,a,\",\"); print a[1]+0}')\" -ge $p ]"
  if ((RANDOM % 2)); then
    side=hub; hub_kill9; hub_start
  else
    side=edge; edge_kill9 car1; edge_start car1
  fi
  echo "cut at chunk $p of $n: kill -9 of the $side"
done
wait_complete 1 $((120 + n / 4))
served=$(grep -c "media: served chunk" "$T/car1/run.log" || true)
resent=$((served - n))
echo "chunks sent: $served for $n chunks; re-sent: $resent (limit 10)"
id=$(hub_media_json | jget file_id)
check_identical "$want" "$id"
[ "$resent" -le 10 ] || fail "$resent chunks were sent more than once (limit 10)"
echo "byte-identical after 10 cuts"
