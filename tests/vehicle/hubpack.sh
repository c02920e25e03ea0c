#!/usr/bin/env bash
# The hub sends its rule pack, signed, in the sync Welcome, and the vehicle's
# screen judges by it (docs/vehicle.md "The rule pack"): an office pack that
# asks for 50 % battery makes a checkout at 40 % a readiness alert on the
# screen (the default pack, 30 %, would not); the pack is kept in
# STATE/hub.rules; a changed byte in it makes the screen go back to the
# built-in default and say why; a screen that never heard from the hub
# judges by the default.
set -euo pipefail
source "$FT_SRC/tests/sync/lib.sh"
command -v curl >/dev/null || fail "curl is needed (ops/install-deps.sh installs it)"

hub_init
sed 's/^min battery: 30$/min battery: 50/' "$FT_SRC/hub/gaps/rulepack/default.rules" \
  >"$T/office.rules"
grepq '^min battery: 50$' <"$T/office.rules" || fail "the office pack was not made"
printf 'rules = %s\n' "$T/office.rules" >>"$T/hub/hub.conf"
edge_new car
printf '246810\n' | "$EDGE" officer add ZF-0107 --state "$T/car" >/dev/null

edge_start car --ui 127.0.0.1:0
for _ in $(seq $((100 * FT_SYNC_SLOW))); do
  [ -s "$T/car/ui/url" ] && break
  sleep 0.1
done
URL=$(head -n1 "$T/car/ui/url")
URL=${URL%/}
jar=$T/jar
curl -s -c "$jar" -H 'Content-Type: application/json' -H "Origin: $URL" \
  --data '{"officer":"ZF-0107","pin":"246810"}' "$URL/api/login" >"$T/me.json"
grepq '"from":"default"' <"$T/me.json" || fail "before any sync the screen should judge by the default pack"
CSRF=$(jget csrf <"$T/me.json")

hub_start
for _ in $(seq $((200 * FT_SYNC_SLOW))); do
  [ -s "$T/car/hub.rules" ] && break
  sleep 0.1
done
[ -s "$T/car/hub.rules" ] || fail "the edge did not keep the hub's rule pack"
grepq '^min battery: 50$' <"$T/car/hub.rules" || fail "the kept pack is not the office's"
[ "$(stat -c %a "$T/car/hub.rules")" = 600 ] || fail "the kept pack is not mode 0600"
curl -s -b "$jar" "$URL/api/me" | grepq '"from":"hub"' || fail "the screen does not judge by the hub's pack"

post() {
  curl -s -b "$jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
    --data "$1" "$URL/api/records"
}
post '{"record":{"type":"recorder_checkout","time":"2026-03-02T08:00:00+08:00","fields":{"recorder":"DSJ-1","battery_pct":40,"free_mb":9000}}}' >"$T/co.json"
grepq '"rule":"13"' <"$T/co.json" || fail "40 % under the office's 50 % raised nothing: $(cat "$T/co.json")"
curl -s -b "$jar" "$URL/api/today?from=0&to=0" | grepq '"battery_low":true' ||
  fail "the recorder is not flagged by the office's limit"

# A changed byte: not used, and said so.
sed -i 's/^min battery: 50$/min battery: 10/' "$T/car/hub.rules"
curl -s -b "$jar" "$URL/api/me" >"$T/me2.json"
grepq '"from":"default"' <"$T/me2.json" || fail "a changed pack is still used: $(cat "$T/me2.json")"
grepq 'signature does not verify' <"$T/me2.json" || fail "the screen does not say why"
curl -s -b "$jar" "$URL/api/today?from=0&to=0" | grepq '"battery_low":false' ||
  fail "back on the default pack, 40 % should be enough"
grep -q "the hub's rule pack is not used" "$T/car/run.log" || fail "run did not log the refusal"
