#!/usr/bin/env bash
# The hub sends its rule pack, signed, in the sync Welcome, and the vehicle's
# screen judges by it (docs/vehicle.md "The rule pack"): an office pack that
# asks for 50 % battery makes a checkout at 40 % a readiness alert on the
# screen (the default pack, 30 %, would not); the pack is kept in
# STATE/hub.rules (0600); after the hub is gone and the edge restarted, the
# screen still judges by it; a changed byte in the kept file makes the screen
# go back to the built-in default and say why; a screen that never heard
# from the hub judges by the default.
set -euo pipefail
source "$FT_SRC/tests/sync/lib.sh"
command -v curl >/dev/null || fail "curl is needed (ops/install-deps.sh installs it)"

hub_init
sed 's/^min battery: 30$/min battery: 50/' "$FT_SRC/hub/gaps/rulepack/default.rules" \
  >"$T/office.rules"
grepq '^min battery: 50$' <"$T/office.rules" || fail "the office pack was not made"
# An office pack well over the 64 KiB of any other message from the hub
# (a pack may have 256 KiB): 200 KiB of comments.
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "# office note %04d: %080d\n", i, 0 }' \
  >>"$T/office.rules"
[ "$(stat -c %s "$T/office.rules")" -gt 200000 ] || fail "the office pack is not large"
printf 'rules = %s\n' "$T/office.rules" >>"$T/hub/hub.conf"
edge_new car
printf '246810\n' | "$EDGE" officer add ZF-0107 --state "$T/car" >/dev/null

# screen_up: waits for the screen's address (run writes it), signs ZF-0107
# in; sets URL, jar, CSRF and leaves /api/login's answer in $T/me.json.
screen_up() {
  for _ in $(seq $((100 * FT_SYNC_SLOW))); do
    [ -s "$T/car/ui/url" ] && break
    sleep 0.1
  done
  [ -s "$T/car/ui/url" ] || fail "the screen did not start"
  URL=$(head -n1 "$T/car/ui/url")
  URL=${URL%/}
  jar=$T/jar
  rm -f "$jar"
  curl -s -c "$jar" -H 'Content-Type: application/json' -H "Origin: $URL" \
    --data '{"officer":"ZF-0107","pin":"246810"}' "$URL/api/login" >"$T/me.json"
  CSRF=$(jget csrf <"$T/me.json")
  [ -n "$CSRF" ] || fail "cannot sign in: $(cat "$T/me.json")"
}
post() {
  curl -s -b "$jar" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
    --data "$1" "$URL/api/records"
}
checkout() { # RECORDER BATTERY_PCT -> the answer
  post '{"record":{"type":"recorder_checkout","time":"2026-03-02T08:00:00+08:00","fields":{"recorder":"'"$1"'","battery_pct":'"$2"',"free_mb":9000}}}'
}

rm -f "$T/car/ui/url"
edge_start car --ui 127.0.0.1:0
screen_up
grepq '"from":"default"' <"$T/me.json" || fail "before any sync the screen should judge by the default pack"

hub_start
for _ in $(seq $((200 * FT_SYNC_SLOW))); do
  [ -s "$T/car/hub.rules" ] && break
  sleep 0.1
done
[ -s "$T/car/hub.rules" ] || fail "the edge did not keep the hub's rule pack"
grepq '^min battery: 50$' <"$T/car/hub.rules" || fail "the kept pack is not the office's"
[ "$(stat -c %a "$T/car/hub.rules")" = 600 ] || fail "the kept pack is not mode 0600"
curl -s -b "$jar" "$URL/api/me" | grepq '"from":"hub"' || fail "the screen does not judge by the hub's pack"
curl -s -b "$jar" "$URL/api/today?from=0&to=0" | grepq '"rules":{"from":"hub","note":""}' ||
  fail "today's page does not say the rules are the hub's"

checkout DSJ-1 40 >"$T/co.json"
grepq '"rule":"13"' <"$T/co.json" || fail "40 % under the office's 50 % raised nothing: $(cat "$T/co.json")"
curl -s -b "$jar" "$URL/api/today?from=0&to=0" | grepq '"battery_low":true' ||
  fail "the recorder is not flagged by the office's limit"

# The hub goes away and the edge restarts: the kept pack is still the one.
hub_stop
edge_stop car
grepq '^min battery: 50$' <"$T/car/hub.rules" || fail "the kept pack is gone after the hub stopped"
rm -f "$T/car/ui/url"
edge_start car --ui 127.0.0.1:0
screen_up
grepq '"from":"hub"' <"$T/me.json" ||
  fail "after a restart with no hub the screen no longer judges by the hub's pack: $(cat "$T/me.json")"
checkout DSJ-2 45 >"$T/co2.json"
grepq '"rule":"13"' <"$T/co2.json" ||
  fail "after a restart, 45 % under the office's 50 % raised nothing: $(cat "$T/co2.json")"
curl -s -b "$jar" "$URL/api/today?from=0&to=0" | grepq '"battery_low":true' ||
  fail "after a restart the recorders are not flagged by the office's limit"

# A changed byte: not used, and said so.
sed -i 's/^min battery: 50$/min battery: 10/' "$T/car/hub.rules"
curl -s -b "$jar" "$URL/api/me" >"$T/me2.json"
grepq '"from":"default"' <"$T/me2.json" || fail "a changed pack is still used: $(cat "$T/me2.json")"
grepq 'signature does not verify' <"$T/me2.json" || fail "the screen does not say why"
curl -s -b "$jar" "$URL/api/today?from=0&to=0" >"$T/today3.json"
grepq '"rules":{"from":"default","note":"its signature does not verify' <"$T/today3.json" ||
  fail "today's page does not say the hub's rules are not used and why"
grepq '"battery_low":false' <"$T/today3.json" && ! grepq '"battery_low":true' <"$T/today3.json" ||
  fail "back on the default pack, 40 % and 45 % should be enough"
grep -q "the hub's rule pack is not used" "$T/car/run.log" || fail "run did not log the refusal"
