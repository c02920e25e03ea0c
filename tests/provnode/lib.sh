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
#   pg_as_superuser SQL   SQL in a session with triggers off
#                         (session_replication_role = replica), as a
#                         superuser with a hand on the database could.

# shellcheck source=../province/lib.sh
. "${FT_SRC:?FT_SRC is not set: run this test through ctest}/tests/province/lib.sh"

declare -A COUNTY_EP COUNTY_KEY COUNTY_PORT

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
    "$EDGE" run --state "$name" --until-synced --timeout $((60 * FT_SLOW)) 2>>"$name/run.log" ||
      fail "edge $name did not sync"
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
