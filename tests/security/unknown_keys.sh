#!/usr/bin/env bash
# 20 s of CurveZMQ handshakes with fresh, unknown client keys against the
# hub's (public) transport key while a real edge syncs 200 records: the
# store grows by less than 1 MiB, the sync takes less than twice its time
# without the attack, `status` shows one line per key with its count (the
# table is bounded), the log says it at a bounded rate and the signed audit
# log has aggregated entries (one a minute), not one per attempt; a
# logged-in dashboard user polling throughout is answered in under 2 s (p95).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sec_hub_init
sec_web_on
edge_records car 20
sec_hub_start
edge_start car
wait_until 30 "first sync" all_synced car
base=$(sync_time 200 20)
sleep 3
store0=$(store_bytes)
log0=$(log_bytes)
audit0=$("$HUB" status --state "$T/hub" --json | jget hublog_entries)
poll_start
"$ATTACK" unknownkeys "$PORT" "$HUB_KEY" 20 4 >"$T/keys.out" &
PIDS+=("$!")
A=$!
sleep 5
took=$(sync_time 200 220)
wait "$A"
poll_stop
sleep 4 # the ledger's last batch
store1=$(store_bytes)
log1=$(log_bytes)
st=$("$HUB" status --state "$T/hub")
lines=$(grep -c "^refused unknown:" <<<"$st" || true)
attempts=$(sed -n 's/^unknownkeys: \([0-9]*\) handshakes.*/\1/p' "$T/keys.out")
counted=$("$HUB" status --state "$T/hub" --json | grep -o '"count":[0-9]*' | cut -d: -f2 |
  awk '{ s += $1 } END { print s + 0 }')
audit1=$("$HUB" status --state "$T/hub" --json | jget hublog_entries)
edge_stop car
hub_stop
"$HUB" verify --state "$T/hub" >/dev/null || fail "the hub's log does not verify"
# Audit entries of refusals: their action in the hub log's file (an upper
# bound: LMDB may keep an old copy of a page).
refusal_audits=$(grep -a -o "connection_refused" "$T/hub/hublog/data.mdb" | wc -l)
echo "attack: $(cat "$T/keys.out")"
echo "sync of 200 records: ${base} s unloaded, ${took} s under attack"
echo "store grew $((store1 - store0)) bytes; log grew $((log1 - log0)) bytes; status: $lines lines for $counted refusals counted; hub log: $((audit1 - audit0)) new entries (alerts and audit), $refusal_audits of them audit entries of refused connections"
[ "$attempts" -ge 100 ] || fail "the attack made only $attempts handshakes"
[ $((store1 - store0)) -lt 1048576 ] || fail "the store grew by $((store1 - store0)) bytes"
# Twice the unloaded time (at least 1 s). In the ASan tree (FT_SYNC_SLOW > 1)
# instrumentation slows the hub's handshake refusals more than its sync, so
# the bound there is three times: the plain tree holds the issue's figure.
factor=2
[ "$FT_SYNC_SLOW" -gt 1 ] && factor=3
limit=$(awk -v b="$base" -v f="$factor" 'BEGIN { printf "%.2f", (b < 0.5 ? 0.5 : b) * f }')
le "$took" "$limit" || fail "the sync took ${took} s under attack (bound $limit s: $factor x ${base} s, at least $factor x 0.5 s)"
[ "$lines" -le 1025 ] || fail "status shows $lines refusal lines"
[ "$counted" -ge $((attempts * 9 / 10)) ] || fail "status counts $counted of $attempts refusals"
[ "$refusal_audits" -ge 1 ] && [ "$refusal_audits" -le 3 ] ||
  fail "$refusal_audits audit entries of refused connections for 20 s (want 1 to 3: one a minute and one at stop)"
[ $((log1 - log0)) -lt 100000 ] || fail "the log grew by $((log1 - log0)) bytes"
check_converged car
