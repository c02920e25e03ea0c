#!/bin/bash
# State directories written before the row codec are still read. A hub and
# an edge are stopped with one file complete and one half pulled; every
# file row, at the hub (STATE/mediadb) and at the edge (STATE/db), is then
# rewritten as the raw C struct of version 1 (ft_rowtool, with its own
# frozen copies of those structs). After that:
#   - `media list` shows both files, and a retention dry run plans both;
#   - the restarted hub resumes the half-pulled file from its row and the
#     chunks it held, and completes it byte for byte;
#   - the edge lists its file of version 1 as pending, serves its chunks and
#     takes the hub's receipt for it (both files acknowledged).
# Pruning a file row of version 1 at the edge is in edge/mstore_test.c.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
ROWTOOL=$FT_BUILD/tests/media/ft_rowtool
PROXY=$FT_BUILD/tests/faults/ft_proxy

# Chunks go one at a time through a proxy that delays each way by 100 ms (no
# data path), so that the hub can be stopped with file a half pulled.
media_hub_init
sed -i 's|^media.data_listen = .*|media.data_listen = off|' "$T/hub/hub.conf"
media_edge_new car1
PPORT=$(free_port)
sed -i "s|^media.hub = .*|media.hub = tcp://127.0.0.1:$PPORT|" "$T/car1/edge.conf"
"$PROXY" --listen "127.0.0.1:$PPORT" --to "127.0.0.1:$MPORT" --delay-ms 100 >"$T/proxy.log" 2>&1 &
PIDS+=("$!")
head -c $((3 << 20)) /dev/urandom >"$T/b.mp4"
big_file "$T/a.mp4" 32
want_a=$(sha256sum "$T/a.mp4" | cut -d' ' -f1)
want_b=$(sha256sum "$T/b.mp4" | cut -d' ' -f1)
id_b=$("$EDGE" ingest "$T/b.mp4" --recorder R1 --state "$T/car1" --json 2>/dev/null | jget file_id)
id_a=$("$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" --json 2>/dev/null | jget file_id)
[ ${#id_a} = 32 ] && [ ${#id_b} = 32 ] || fail "ingest gave no file IDs: $id_a $id_b"

# Pull until b is complete and a is partly held, then stop both.
hub_start
edge_start car1
held_of() { hub_media_json | grep "\"file_id\":\"$1\"" | jget chunks_held; }
part_way() {
  local h
  h=$(held_of "$id_a")
  [ "$(hub_complete_count)" -ge 1 ] && [ "$h" != null ] && [ "$h" -ge 8 ]
}
wait_until 120 "file b complete and 8 chunks of file a held" part_way
kill -STOP "${EDGE_PID[car1]}"
hub_stop
kill -CONT "${EDGE_PID[car1]}"
stop_pid "${EDGE_PID[car1]}"
held=$(held_of "$id_a")
[ "$held" -lt 32 ] || fail "file a arrived whole before the stop: no partial to resume"

# Every file row back to version 1.
[ "$("$ROWTOOL" "$T/hub/mediadb" files)" = 2 ] || fail "expected 2 hub file rows rewritten"
[ "$("$ROWTOOL" "$T/car1/db" mfiles)" = 2 ] || fail "expected 2 edge file rows rewritten"

# Listed and planned from rows of version 1.
list=$(hub_media_json)
[ "$(grep -c . <<<"$list")" = 2 ] || fail "media list shows $(grep -c . <<<"$list") files, not 2"
grep "\"file_id\":\"$id_b\"" <<<"$list" | grepq '"state":"complete"' || fail "b not complete: $list"
grep "\"file_id\":\"$id_a\"" <<<"$list" | grepq '"state":"pulling"' || fail "a not pulling: $list"
[ "$(held_of "$id_a")" = "$held" ] || fail "a's row says $(held_of "$id_a") chunks held, not $held"
"$HUB" retention --dry-run --all --state "$T/hub" --json >"$T/dry.json" || fail "retention dry run failed"
grepq "$id_a" <"$T/dry.json" || fail "retention does not see file a"
grepq "$id_b" <"$T/dry.json" || fail "retention does not see file b"
"$HUB" status --state "$T/hub" --json | grepq '"rows_unreadable":0' ||
  fail "status counts unreadable rows"
"$EDGE" status --state "$T/car1" --json | grepq '"files_pending":1' ||
  fail "the edge does not count file a pending from its row of version 1"

# Resumed (straight to the hub now): a completes; the hub took its row and
# the chunks it held.
sed -i "s|^media.hub = .*|media.hub = tcp://127.0.0.1:$MPORT|" "$T/car1/edge.conf"
hub_start
edge_start car1
wait_complete 2 180
grepq "1 files in progress" <"$T/hub/hub.log" || fail "the hub did not resume file a from its row"
check_identical "$want_a" "$id_a"
check_identical "$want_b" "$id_b"
acked() { "$EDGE" status --state "$T/car1" --json | grepq -E '"files_acked":2|"files_pruned":[12]'; }
wait_until 60 "the edge holds both receipts" acked
grepq "cannot be read" <"$T/hub/hub.log" && fail "the hub said a row cannot be read"
grepq "cannot be read" <"$T/car1/run.log" && fail "the edge said a row cannot be read"
echo "rows of version 1: listed, planned, $held of 32 chunks resumed, both files complete and acknowledged"
