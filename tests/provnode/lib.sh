# lib.sh: helpers for the provincial node's tests (sourced, not a test), on
# the provincial test library (tests/province/lib.sh: pg_start, psql_q, ...;
# itself on tests/faults/lib.sh).
#
#   schema_apply          applies hub/province/schema.sql to the test database.
#   county_new NAME       a county hub in $T/NAME on a free port (its own
#                         state, keys and log), not yet running.
#   county_edge C NAME U  an edge in $T/C-NAME enrolled at county C for unit U.
#   county_sync C NAME... starts county C's hub, runs each edge until the hub
#                         acknowledged everything, stops the hub.
#   county_forward C      forwards county C's store and hub log into
#                         PostgreSQL with the county hub's own forwarder
#                         (`fieldtrail-hub province forward --once`).
#   EDGE_SKEW[C-NAME]=S   county_sync runs that edge with its clock S seconds
#                         behind (libfaketime), so its county measures +S s.
#   alerts_county FILE C...   the counties' alerts the province evaluates too:
#                         those of cases, caseless records and media (not the
#                         clock, silence and integrity rules), every state
#                         (id|rule|article|county|case|state, case '' for
#                         none; sorted).
#   alerts_prov FILE      the province's, the same way (each alert's last
#                         event; its own integrity alerts left out).
#   prov_converge C...    the cross-tier convergence check (below).
#   pg_as_superuser SQL   SQL in a session with triggers off
#                         (session_replication_role = replica), as a
#                         superuser with a hand on the database could.

# shellcheck source=../province/lib.sh
. "${FT_SRC:?FT_SRC is not set: run this test through ctest}/tests/province/lib.sh"

declare -A COUNTY_EP COUNTY_KEY COUNTY_PORT EDGE_SKEW

schema_apply() {
  psql_admin fieldtrail -f "$FT_SRC/hub/province/schema.sql" >/dev/null ||
    fail "the provincial schema did not apply"
}

county_new() {
  local c=$1 port
  port=$(free_port)
  "$HUB" init --state "$T/$c" --listen "tcp://127.0.0.1:$port" --advertise 127.0.0.1 --json \
    >"$T/$c.init.json" || fail "hub init $c failed"
  COUNTY_KEY[$c]=$(jget hub_key <"$T/$c.init.json")
  COUNTY_EP[$c]="tcp://127.0.0.1:$port"
  COUNTY_PORT[$c]=$port
  printf 'http = off\nmedia.listen = tcp://127.0.0.1:%s\nmedia.data_listen = tcp://127.0.0.1:%s\n' \
    "$(free_port)" "$(free_port)" >>"$T/$c/hub.conf"
}

county_edge() {
  local c=$1 name=$2 unit=$3
  "$EDGE" init --state "$T/$c-$name" --unit "$unit" --vehicle "car-$name" --hub "${COUNTY_EP[$c]}" \
    --hub-key "${COUNTY_KEY[$c]}" >/dev/null || fail "edge init $c-$name failed"
  "$HUB" enroll "$T/$c-$name/device.pub" --unit "$unit" --vehicle "car-$name" --state "$T/$c" \
    >/dev/null || fail "enroll $c-$name failed"
}

county_sync() {
  local c=$1 name pid i
  shift
  bg "" "$T/$c/hub.log" "$HUB" run --state "$T/$c" --http off --publish off "$@"
  pid=$BG_PID
  for i in $(seq $((150 * FT_SLOW))); do
    bash -c "exec 3<>/dev/tcp/127.0.0.1/${COUNTY_PORT[$c]}" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "county hub $c exited at start-up"
    sleep 0.1
  done
  for name in "$T/$c"-*; do
    [ -d "$name" ] || continue
    local skew=${EDGE_SKEW[${name##*/}]:-} pre=()
    if [ -n "$skew" ]; then
      local lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
      [ -f "$lib" ] || lib=$(find /usr/lib -name 'libfaketime.so.1' 2>/dev/null | sed -n 1p)
      [ -n "$lib" ] && [ -f "$lib" ] ||
        fail "libfaketime is not installed (ops/install-deps.sh installs faketime)"
      pre=(env LD_PRELOAD="$lib" FAKETIME="-$skew" DONT_FAKE_MONOTONIC=1
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
    fi
    "${pre[@]}" "$EDGE" run --state "$name" --until-synced --timeout $((60 * FT_SLOW)) \
      2>>"$name/run.log" || fail "edge $name did not sync"
  done
  stop_pid "$pid"
}

county_forward() {
  grep -q '^\[province\]' "$T/$1/hub.conf" || prov_conf "$T/$1" "$1"
  "$HUB" province forward --once --state "$T/$1" >>"$T/forward.log" 2>&1 ||
    fail "the forwarder of county $1 failed: $(tail -n 3 "$T/forward.log")"
  prov_caught_up "$T/$1" "$1" || fail "county $1 is not all in the province after forwarding"
}

pg_as_superuser() {
  psql_admin fieldtrail -At -c "SET session_replication_role = replica; $1"
}

alerts_county() {
  local out=$1 c
  shift
  for c in "$@"; do
    "$HUB" alerts --state "$T/$c" --json | python3 -c '
import json, sys
for l in sys.stdin:
    a = json.loads(l)
    if a.get("case") or a.get("kind") not in ("clock", "silence", "integrity"):
        print("|".join([a["id"], a["rule"], a["article"], sys.argv[1], a.get("case") or "",
                        a["state"]]))
' "$c"
  done | LC_ALL=C sort >"$out"
}
alerts_prov() {
  "$HUB" alerts --store "$PG_URL" --json | python3 -c '
import json, sys
for l in sys.stdin:
    a = json.loads(l)
    if a["kind"] != "integrity":
        print("|".join([a["id"], a["rule"], a["article"], a["county"], a["case"], a["state"]]))
' | LC_ALL=C sort >"$1"
}

# prov_no_dup_events: no alert event was written twice (one alert, one
# state, one evaluation time).
prov_no_dup_events() {
  local dups
  dups=$(psql_q "SELECT county || ' ' || alert_id || ' ' || state || ' x' || count(*) FROM
    ft.prov_alert_events GROUP BY county, alert_id, state, at HAVING count(*) > 1")
  [ -z "$dups" ] || fail "alert events written more than once: $dups"
}

# prov_converge C...: the cross-tier convergence check, after the counties
# C... (county hubs in $T/C, stopped or running) forwarded and a provincial
# node evaluated at the counties' evaluation time:
#   - every entry and hub-log entry each county holds is at the province
#     exactly once, byte for byte, and nothing else of it (prov_same);
#   - every forwarded signature verifies (`fieldtrail-hub verify --store`);
#   - the province's alerts equal the counties' for the cases both hold and
#     for every caseless record and media item (docs/province.md "Gap
#     engine"): every alert's last state, resolved and justified ones
#     included. The one difference
#     allowed is docs/province.md's: an alert that opened and resolved at a
#     county while its case arrived piece by piece is that county's history
#     (resolved there, never raised at the province); it is counted apart.
# Prints one verdict line; fails the test otherwise.
prov_converge() {
  local c entries=0 n
  for c in "$@"; do
    prov_same "$T/$c" "$c"
    n=$(county_entries "$T/$c")
    entries=$((entries + n))
  done
  "$HUB" verify --store "$PG_URL" >"$T/converge.verify" 2>&1 ||
    fail "provincial verify does not pass: $(tail -n 5 "$T/converge.verify")"
  alerts_county "$T/converge.county" "$@"
  alerts_prov "$T/converge.prov"
  # the cases both hold
  psql_q "SELECT DISTINCT county || '|' || case_id FROM ft.prov_index WHERE case_id <> ''" |
    LC_ALL=C sort >"$T/converge.cases"
  python3 - "$T/converge.county" "$T/converge.prov" "$T/converge.cases" >"$T/converge.out" <<'PY' ||
import sys
def rows(p):
    d = {}
    for l in open(p, encoding="utf-8"):
        f = l.rstrip("\n").split("|")
        d[(f[3], f[0])] = f
    return d
county, prov = rows(sys.argv[1]), rows(sys.argv[2])
cases = {tuple(l.rstrip("\n").split("|", 1)) for l in open(sys.argv[3], encoding="utf-8")}
bad, history, same = [], 0, 0
for k, f in county.items():
    if f[4] and (f[3], f[4]) not in cases:
        continue
    p = prov.get(k)
    if p is None and f[5] == "resolved":
        history += 1
    elif p != f:
        bad.append("county  " + "|".join(f) + "\n  province " + ("|".join(p) if p else "(none)"))
    else:
        same += 1
for k, p in prov.items():
    if k not in county:
        bad.append("county  (none)\n  province " + "|".join(p))
print("alerts equal=%d county_history=%d differ=%d" % (same, history, len(bad)))
for b in bad[:10]:
    print(b)
sys.exit(1 if bad else 0)
PY
    { cat "$T/converge.out" >&2; fail "the province's alerts differ from the counties'"; }
  [ "$(psql_q "SELECT count(*) FROM ft.prov_case_state WHERE evaluated < changes")" = 0 ] ||
    fail "cases are left unevaluated at the province"
  [ "$(psql_q "SELECT count(*) FROM ft.prov_unit_state WHERE evaluated < changes")" = 0 ] ||
    fail "caseless records or media are left unevaluated at the province"
  prov_no_dup_events
  echo "prov_converge: OK counties=$# entries=$entries $(head -n 1 "$T/converge.out") $(tail -n 1 "$T/converge.verify")"
}
