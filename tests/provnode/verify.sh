#!/usr/bin/env bash
# A provincial node's verify over PostgreSQL: two real county hubs, each with
# two edges that synced real records, forward into a throw-away PostgreSQL 15
# with their own forwarder (the exact signed bytes of their stores and hub
# logs). `fieldtrail-hub verify --store URL` (and with `store =` in a config)
# passes; then, as a superuser could, one entry's bytes are altered in
# place (the append-only trigger refuses the UPDATE first), a forged copy of
# another entry is inserted into a fresh month partition, and a third row is
# deleted: verify names each by county, device, epoch and seq, and nothing
# else. A wrong password and a store that is not a URL are refused in plain
# words, without the password.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pg_start
schema_apply
county_new ca
county_new cb
county_edge ca v1 unit-ca-1
county_edge ca v2 unit-ca-2
county_edge cb v1 unit-cb-1
county_edge cb v2 unit-cb-1
for e in ca-v1 ca-v2 cb-v1 cb-v2; do
  "$SIM" gen "$e" 12 0 | "$EDGE" import - --state "$T/$e" >/dev/null || fail "import into $e failed"
done
county_sync ca
county_sync cb
county_forward ca
county_forward cb
n=$(psql_q "SELECT count(*) FROM ft.entries")
[ "$n" -ge 48 ] || fail "expected at least 48 forwarded entries, got $n"

out=$("$HUB" verify --store "$PG_URL") || fail "verify of an honest province failed: $out"
grepq "provincial store OK: 2 counties, 4 device logs, $n entries verified" <<<"$out" ||
  fail "unexpected verdict: $out"
printf 'store = %s\n' "$PG_URL" >"$T/prov.conf"
"$HUB" verify --config "$T/prov.conf" --json >"$T/ok.json" || fail "verify with store = failed"
[ "$(jget ok <"$T/ok.json")" = true ] || fail "not ok: $(cat "$T/ok.json")"
[ "$(jget counties <"$T/ok.json")" = 2 ] || fail "counties: $(cat "$T/ok.json")"

# 1. One byte of an officer's number in entry 3 of one of cb's devices, altered in place.
hex_b=$(psql_q "SELECT encode(device, 'hex') FROM ft.entries WHERE county = 'cb' AND seq = 3 AND position('\\x5a462d'::bytea in raw) > 0 ORDER BY device LIMIT 1")
if psql_q "UPDATE ft.entries SET kind = kind WHERE county = 'cb'" 2>"$T/update.err"; then
  fail "an UPDATE of forwarded rows was not refused"
fi
grepq "append-only" "$T/update.err" || fail "the refusal does not say why: $(cat "$T/update.err")"
pg_as_superuser "UPDATE ft.entries SET raw = overlay(raw placing '\\x59'::bytea from position('\\x5a462d'::bytea in raw) for 1) WHERE county = 'cb' AND device = '\\x$hex_b'::bytea AND seq = 3" >/dev/null
# 2. A forged copy of ca's entry 2 of one device, in a new partition (2031-01).
hex_a=$(psql_q "SELECT encode(device, 'hex') FROM ft.entries WHERE county = 'ca' ORDER BY device LIMIT 1")
psql_q "SELECT ft.ensure_month('entries', '2031-01-15')" >/dev/null
psql_q "INSERT INTO ft.entries (device, epoch, seq, at, hlc, county, arrival, kind, raw) SELECT device, epoch, seq, '2031-01-15', hlc, county, arrival, kind, overlay(raw placing '\\x59'::bytea from position('\\x5a462d'::bytea in raw) for 1) FROM ft.entries WHERE county = 'ca' AND device = '\\x$hex_a'::bytea AND seq = 2" >/dev/null
# 3. Entry 5 of that device deleted.
pg_as_superuser "DELETE FROM ft.entries WHERE county = 'ca' AND device = '\\x$hex_a'::bytea AND seq = 5" >/dev/null

if "$HUB" verify --store "$PG_URL" >"$T/bad.txt" 2>&1; then
  fail "verify passed a tampered province: $(cat "$T/bad.txt")"
fi
cat "$T/bad.txt"
"$HUB" verify --store "$PG_URL" --json >"$T/bad.json" && fail "verify --json passed a tampered province"
ids() { for e in "$@"; do "$EDGE" status --state "$T/$e" --json | jget device_id; done | paste -sd, -; }
python3 - "$T/bad.json" "$(ids ca-v1 ca-v2)" "$(ids cb-v1 cb-v2)" <<'PY' ||
import json, sys
o = json.load(open(sys.argv[1]))
ca, cb = sys.argv[2].split(","), sys.argv[3].split(",")
assert o["ok"] is False, o
got = sorted((d["county"], d.get("seq", 0), d["reason"]) for d in o["damaged"])
want = [("ca", 2, "bad_signature"), ("ca", 5, "missing_seq"), ("cb", 3, "bad_signature")]
rest = [g for g in got if g not in want]
assert all(w in got for w in want), got
# the deleted row is also one arrival number short of ca's checkpoint
assert len(rest) == 1 and rest[0][0] == "ca" and rest[0][2] == "missing_rows", got
for d in o["damaged"]:
    if "device_id" in d:
        assert d["device_id"] in (ca if d["county"] == "ca" else cb), d
PY
  fail "verify did not name exactly the three damaged rows: $(cat "$T/bad.json")"
epoch_b=$(psql_q "SELECT ft.u64(epoch) FROM ft.entries WHERE county = 'cb' AND device = '\\x$hex_b'::bytea AND seq = 3")
line=$(grep "county cb" "$T/bad.txt") || fail "no line names county cb"
grepq "epoch $epoch_b  seq 3: entry 3: the signature does not verify" <<<"$line" ||
  fail "the line does not give epoch, seq and why: $line"
grepq "$(python3 -c 'import json,sys; print([d["device_id"] for d in json.load(open(sys.argv[1]))["damaged"] if d["county"] == "cb"][0])' "$T/bad.json")" <<<"$line" ||
  fail "the line does not name the device: $line"

# The provincial engine takes in nothing it cannot verify: the altered entry
# and the missing one stop their devices' logs there, and it says which.
"$HUB" evaluate --store "$PG_URL" --now 2026-06-01T00:00:00+08:00 --node n1 --json \
  >"$T/eval.json" 2>"$T/eval.err" || fail "evaluate failed: $(cat "$T/eval.err")"
[ "$(jget refused <"$T/eval.json")" -ge 2 ] || fail "the engine refused too little: $(cat "$T/eval.json")"
grepq "county cb, device .*, seq 3: entry 3: the signature does not verify" "$T/eval.err" ||
  fail "the engine did not name the altered entry: $(cat "$T/eval.err")"
taken=$(psql_q "SELECT count(*) FROM ft.prov_index WHERE county = 'cb' AND device = '\\x$hex_b'::bytea AND seq >= 3")
[ "$taken" = 0 ] || fail "$taken entries from the altered one on were taken in"

# Wrong settings, plain words, no password.
if "$HUB" verify --store "postgresql://ft:not-the-password@127.0.0.1:$PG_PORT/fieldtrail" \
  >"$T/wrong.txt" 2>&1; then
  fail "verify with a wrong password passed"
fi
grepq "cannot connect to PostgreSQL at 127.0.0.1:$PG_PORT" "$T/wrong.txt" ||
  fail "no plain refusal: $(cat "$T/wrong.txt")"
if grepq "not-the-password" "$T/wrong.txt"; then
  fail "the password was printed: $(cat "$T/wrong.txt")"
fi
rc=0
"$HUB" verify --store "$T/nowhere" >"$T/nourl.txt" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a store that is not a URL should be a usage error (2), got $rc"
grepq "not a PostgreSQL URL" "$T/nourl.txt" || fail "no plain refusal: $(cat "$T/nourl.txt")"
