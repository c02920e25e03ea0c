#!/usr/bin/env bash
# Fair share commits a batch over several groups (docs/protocol.md "Fair
# share"): with sync.group_entries = 24 and turns of 16 entries, a batch of
# 40 is committed as 32 + 8. The hub sends a receipt for each committed
# prefix; the edge takes it (its window keeps the batch in flight until the
# rest is covered). Then kill -9 of the hub, FT_SYNC_KILLS times (default 8),
# while batches are half committed: afterwards every entry is at the hub once,
# every edge holds a receipt for its head, and no integrity event was raised.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SEED=${FT_SYNC_SEED:-$(( $(date +%s) % 100000 ))}
KILLS=${FT_SYNC_KILLS:-8}
N=${FT_SYNC_RECORDS:-$((12000 / FT_SYNC_SCALE))}
echo "seed $SEED (repeat with FT_SYNC_SEED=$SEED), $KILLS kills, $N records"
RANDOM=$SEED

hub_init
echo "sync.group_entries = 24" >>"$T/hub/hub.conf"

# 1. One batch of 40 over two groups: receipts for 32, then for 40.
edge_new car1
edge_records car1 40
hub_start --log-level debug
"$EDGE" run --state "$T/car1" --until-synced --timeout 60 --batch 40 --window 1 \
  2>>"$T/car1/run.log" || fail "car1 did not sync (see $T/car1/run.log)"
id1=$(edge_id car1)
grep -q "device $id1: 32 entries stored (head 32)" "$T/hub/hub.log" ||
  fail "the first group did not commit the batch's first 32 entries: $(grep "device $id1:" "$T/hub/hub.log")"
grep -q "device $id1: 8 entries stored (head 40)" "$T/hub/hub.log" ||
  fail "the second group did not commit the batch's other 8: $(grep "device $id1:" "$T/hub/hub.log")"
[ "$(jget unacked <<<"$("$EDGE" status --state "$T/car1" --json)")" = 0 ] ||
  fail "car1 holds no receipt for its head"
check_converged car1
echo "a batch of 40 committed as 32 + 8, a receipt for each; the edge holds the one for its head"

# 2. kill -9 of the hub while batches are half committed.
hub_stop
edge_new car2
edge_records car2 "$N"
edge_start car2 --batch 40 --window 4 --heartbeat-ms 500 --reconnect-max-ms 400
ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
split=0
for k in $(seq "$KILLS"); do
  hub_start
  sleep "$(ms $((50 + RANDOM % 350)))"
  hub_kill9
  held=$(hub_held car2)
  # the batches start at 1, 41, 81...: a count that is no multiple of 40
  # means the kill fell between the groups of one batch
  if [ $((held % 40)) -ne 0 ]; then split=$((split + 1)); fi
  echo "kill $k: hub holds $held of car2's $N entries"
done
echo "$split of $KILLS kills fell between the two parts of a batch"
hub_start
wait_until 120 "car2 synced after the last restart" all_synced car2
check_converged car1 car2
