#!/usr/bin/env bash
# A new edge's Hello while another edge has a large backlog (docs/benchmarks.md
# "Issue 20, item 3"): with sync.group_entries = 16 every group is one turn
# of 16 entries, so car1's backlog takes hundreds of group commits. car2
# arrives meanwhile: its Hello is served before the round (a fresh turn,
# hub/sync/fair.h), its Welcome leaves with the next commit, and its few
# records are stored and receipted while car1 still has most of its backlog
# left. Then both converge: nothing lost or doubled, no integrity event.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N=${FT_SYNC_RECORDS:-$((12000 / FT_SYNC_SCALE))}

hub_init
echo "sync.group_entries = 16" >>"$T/hub/hub.conf"
edge_new car1
edge_new car2
edge_records car1 "$N"
edge_records car2 5
hub_start --log-level debug
edge_start car1 --batch 256 --window 4 --heartbeat-ms 500
id1=$(edge_id car1)
id2=$(edge_id car2)
held_some() { [ "$(hub_held car1)" -gt 0 ]; }
wait_until 60 "car1 started syncing" held_some
"$EDGE" run --state "$T/car2" --until-synced --timeout $((60 * FT_SYNC_SLOW)) \
  2>>"$T/car2/run.log" || fail "car2 did not sync beside car1's backlog (see $T/car2/run.log)"
held1=$(hub_held car1)
echo "car2 synced while the hub held $held1 of car1's $N entries"
wait_until 120 "both edges synced" all_synced car1 car2
# The order of the hub's answers (its log, in the order they left): car2's
# Welcome and its receipt came before car1's backlog was done.
line_of() { { grep -n "$1" "$T/hub/hub.log" || true; } | sed -n 1p | cut -d: -f1; }
welcome2=$(line_of "device $id2 .* connected")
stored2=$(line_of "device $id2: 5 entries stored")
last1=$(line_of "device $id1: [0-9]* entries stored (head $N)")
[ -n "$welcome2" ] && [ -n "$stored2" ] && [ -n "$last1" ] ||
  fail "car2's Welcome, its entries or car1's last entries are not in the hub log"
[ "$welcome2" -lt "$stored2" ] && [ "$stored2" -lt "$last1" ] ||
  fail "car2 was answered only after car1's whole backlog (lines $welcome2, $stored2, $last1)"
check_converged car1 car2
