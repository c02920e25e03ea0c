#!/usr/bin/env bash
# Officers of a vehicle (docs/vehicle.md "Officers"), with the real
# `fieldtrail-edge officer` commands and a running screen: bad IDs, short
# PINs and a second `add` are refused and change nothing; only an Argon2id
# hash is kept (officers.json, 0600); three wrong PINs are free, the fourth
# locks the officer out (429 with the wait), the right PIN too, and the
# lockout survives a restart of `run`; `passwd` ends it and the old PIN no
# longer works; `remove` ends sign-ins. Every change and sign-in is an entry
# in the signed device log, which verifies.
set -euo pipefail
source "$FT_SRC/tests/sync/lib.sh"
command -v curl >/dev/null || fail "curl is needed (ops/install-deps.sh installs it)"

hub_init # the edge is enrolled; the hub never runs here
edge_new car
S=$T/car
head_seq() { "$EDGE" status --state "$S" --json | jget head_seq; }

"$EDGE" officer list --state "$S" | grepq 'no officers yet' || fail "an empty list does not say so"

# Refusals: nothing written.
h0=$(head_seq)
rc_of "$EDGE" officer add 'bad id!' --state "$S" </dev/null 2>"$T/err"
[ "$RC" = 2 ] && grepq 'an officer ID is' <"$T/err" || fail "a bad ID: exit $RC, $(cat "$T/err")"
rc_of "$EDGE" officer add ZF-0107 --state "$S" <<<'12345' 2>"$T/err"
[ "$RC" = 1 ] && grepq 'a PIN has 6 to 64 characters' <"$T/err" || fail "a short PIN: exit $RC, $(cat "$T/err")"
rc_of "$EDGE" officer add ZF-0107 --state "$S" </dev/null 2>"$T/err"
[ "$RC" = 1 ] && grepq 'no PIN given' <"$T/err" || fail "no PIN: exit $RC, $(cat "$T/err")"
[ ! -e "$S/officers.json" ] || fail "a refused add wrote officers.json"
[ "$(head_seq)" = "$h0" ] || fail "a refused add wrote to the log"

"$EDGE" officer add ZF-0107 --name 张三 --state "$S" <<<'246810' >"$T/out" || fail "add: $(cat "$T/out")"
grepq 'officer ZF-0107 added' <"$T/out" || fail "add does not say so"
[ "$(stat -c %a "$S/officers.json")" = 600 ] || fail "officers.json is not mode 0600"
grepq 'argon2id' <"$S/officers.json" || fail "the PIN is not kept as an Argon2id hash"
grep -q '246810' "$S/officers.json" && fail "the PIN itself is in officers.json"
h1=$(head_seq)
cp "$S/officers.json" "$T/officers.before"
rc_of "$EDGE" officer add ZF-0107 --state "$S" <<<'135791' 2>"$T/err"
[ "$RC" = 1 ] && grepq 'exists already' <"$T/err" || fail "a second add: exit $RC, $(cat "$T/err")"
cmp -s "$S/officers.json" "$T/officers.before" || fail "a refused second add changed officers.json"
[ "$(head_seq)" = "$h1" ] || fail "a refused second add wrote to the log"
rc_of "$EDGE" officer passwd ZF-0999 --state "$S" <<<'135791' 2>"$T/err"
[ "$RC" = 1 ] && grepq 'no officer ZF-0999' <"$T/err" || fail "passwd of nobody: exit $RC, $(cat "$T/err")"
"$EDGE" officer list --state "$S" --json >"$T/list.json"
grepq '"id":"ZF-0107","name":"张三"' <"$T/list.json" || fail "list: $(cat "$T/list.json")"
grepq '"locked":false' <"$T/list.json" || fail "a new officer is listed as locked"
grep -q '246810\|argon2' "$T/list.json" && fail "list shows the PIN or its hash"

# The screen.
screen_up() {
  rm -f "$S/ui/url"
  edge_start car --ui 127.0.0.1:0
  for _ in $(seq $((100 * FT_SYNC_SLOW))); do
    [ -s "$S/ui/url" ] && break
    sleep 0.1
  done
  [ -s "$S/ui/url" ] || fail "the screen did not start"
  URL=$(head -n1 "$S/ui/url")
  URL=${URL%/}
}
login() { # PIN -> HTTP status; the answer in $T/login.json
  curl -s -o "$T/login.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Origin: $URL" --data '{"officer":"ZF-0107","pin":"'"$1"'"}' "$URL/api/login"
}
screen_up
[ "$(login 246810)" = 200 ] || fail "the right PIN: $(cat "$T/login.json")"
grepq '"id":"ZF-0107"' <"$T/login.json" || fail "the session does not name the officer"
for i in 1 2 3; do
  [ "$(login 000000)" = 401 ] || fail "wrong PIN $i: $(cat "$T/login.json")"
done
[ "$(login 000000)" = 429 ] || fail "the fourth wrong PIN did not lock: $(cat "$T/login.json")"
grepq '"wait_s":30' <"$T/login.json" || fail "the first lockout is not 30 s: $(cat "$T/login.json")"
[ "$(login 246810)" = 429 ] || fail "a locked-out officer signed in with the right PIN"
grepq 'too many wrong PINs: try again in' <"$T/login.json" || fail "the lockout does not say why"
"$EDGE" officer list --state "$S" --json | grepq '"locked":true' || fail "list does not show the lockout"

# A restart does not end it.
edge_stop car
screen_up
[ "$(login 246810)" = 429 ] || fail "a restart of run ended the lockout: $(cat "$T/login.json")"

# passwd ends it; the old PIN is gone.
"$EDGE" officer passwd ZF-0107 --state "$S" <<<'975310' | grepq 'has a new PIN' || fail "passwd"
[ "$(login 246810)" = 401 ] || fail "the old PIN still works: $(cat "$T/login.json")"
[ "$(login 975310)" = 200 ] || fail "the new PIN: $(cat "$T/login.json")"

# remove ends sign-ins.
"$EDGE" officer remove ZF-0107 --state "$S" | grepq 'removed' || fail "remove"
[ "$(login 975310)" = 401 ] || fail "a removed officer signed in: $(cat "$T/login.json")"
rc_of "$EDGE" officer remove ZF-0107 --state "$S" 2>"$T/err"
[ "$RC" = 1 ] && grepq 'no officer ZF-0107' <"$T/err" || fail "a second remove: exit $RC"
edge_stop car

"$EDGE" log --state "$S" --json >"$T/log.json"
for a in officer_add officer_signin officer_locked officer_pin_changed officer_remove; do
  grepq "\"action\":\"$a\"" <"$T/log.json" || fail "no $a in the signed log"
done
grep -q '246810\|975310' "$T/log.json" && fail "a PIN is in the log"
"$EDGE" verify --state "$S" >/dev/null || fail "the log does not verify"
