# lib.sh: helpers for the provincial-tier tests (sourced, not a test): a
# throw-away PostgreSQL 15 per test, on top of the fault tests' library
# (tests/faults/lib.sh: $T, hub_init, edge_new, edge_records, converge,
# wait_until, ...).
#
#   pg_start [NAME]   initdb into $T/NAME (default pg) and starts postgres on
#                     127.0.0.1 on a free port, unix socket in $T/NAME/run.
#                     Sets PG_PORT, PG_DIR, PG_SOCK, PG_PID, PG_URL
#                     (postgresql://ft:PASSWORD@127.0.0.1:PORT/fieldtrail, the
#                     database created) and PG_PASSWORD. Returns 77 with the
#                     reason (skip) only when PostgreSQL 15 is not installed.
#   pg_stop           fast shutdown (SIGINT) of the postgres PG_PID names,
#                     waits until it is gone.
#   pg_restart        pg_stop, then the same data directory on the same port.
#   pg_kill9          SIGKILL of the postmaster (its children follow), for
#                     crash tests; pg_up starts it again.
#   pg_up             starts the stopped server again (same dir and port).
#   psql_q SQL        runs SQL in the test database over the unix socket as
#                     the superuser, prints unaligned tuples only (-At).
#
# Who runs postgres: postgres refuses to run as root, and CI runs the tests
# as root. Then the server runs as `nobody` (setpriv, which execs, so the PID
# is the postmaster's own and stopping it by PID works); its directory is
# chown'ed to nobody and $FT_TEST_TMP and $T made traversable (o+x). As an
# ordinary user it runs as that user.
#
# Authentication: the superuser `ft` with a random password; loopback TCP
# asks for it (scram-sha-256), the unix socket trusts (for psql_q). Every
# server this library started is stopped on exit (by PID), before the fault
# library's own clean-up.

# shellcheck source=../faults/lib.sh
. "${FT_SRC:?FT_SRC is not set: run this test through ctest}/tests/faults/lib.sh"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PIDS=() # every postmaster started (the last is PG_PID)
declare -A PG_PID_OF # data directory -> pid of its running postmaster

# The fault library's on_exit, run after ours.
eval "faults_on_exit() $(declare -f on_exit | tail -n +2)"
on_exit() {
  local rc=$? d
  # No errexit and no ERR trap while cleaning up: a failing step must not
  # end the clean-up before the processes are stopped.
  set +e
  trap - ERR
  for d in "${!PG_PID_OF[@]}"; do
    pg_stop_dir "$d"
  done
  (exit "$rc") # faults_on_exit reads the test's status from $?
  faults_on_exit
}

pg_log() { echo "pg: $*" >&2; }

# pg_as CMD...: CMD as the user postgres runs as (nobody when we are root).
pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid nobody --regid nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local name=${1:-pg}
  if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/postgres" ]; then
    skip "PostgreSQL 15 is not installed ($PG_BIN/initdb; ops/install-deps.sh installs postgresql-15)"
  fi
  PG_DIR=$T/$name
  PG_SOCK=$PG_DIR/run
  mkdir -p "$PG_DIR/data" "$PG_SOCK"
  PG_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    # nobody must reach its directory: the scratch areas (ours) become
    # traversable, not readable.
    chmod o+x "$FT_TEST_TMP" "$T"
    chown -R nobody:nogroup "$PG_DIR"
    pg_as test -w "$PG_DIR/data" ||
      fail "postgres runs as nobody, which cannot reach $PG_DIR: make its parent directories traversable (o+x)"
  fi
  chmod 700 "$PG_DIR/data"
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U ft --pwfile="$PG_DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; fail "initdb failed"; }
  PG_PORT=$(free_port)
  cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
fsync = on
max_connections = 50
shared_buffers = 32MB
logging_collector = off
log_min_messages = warning
CONF
  pg_up
  psql_admin postgres -c 'CREATE DATABASE fieldtrail' >/dev/null || fail "CREATE DATABASE failed"
  PG_URL="postgresql://ft:$PG_PASSWORD@127.0.0.1:$PG_PORT/fieldtrail"
}

# pg_up: starts postgres on PG_DIR (initialised by pg_start) and waits until
# it answers on its socket.
pg_up() {
  [ -z "${PG_PID_OF[$PG_DIR]:-}" ] || fail "pg_up: postgres in $PG_DIR is already running"
  # Started directly (not through a function, which would fork a
  # subshell): $! is then the postmaster's own PID (setpriv execs).
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid nobody --regid nogroup --clear-groups -- \
      "$PG_BIN/postgres" -D "$PG_DIR/data" >>"$PG_DIR/postgres.log" 2>&1 &
  else
    "$PG_BIN/postgres" -D "$PG_DIR/data" >>"$PG_DIR/postgres.log" 2>&1 &
  fi
  PG_PID=$!
  PG_PIDS+=("$PG_PID")
  PG_PID_OF[$PG_DIR]=$PG_PID
  local i
  for i in $(seq $((300 * FT_SLOW))); do
    if "$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT" -U ft -d postgres 2>/dev/null; then
      return 0
    fi
    kill -0 "$PG_PID" 2>/dev/null || { tail -n 20 "$PG_DIR/postgres.log" >&2; fail "postgres exited at start-up"; }
    sleep 0.1
  done
  fail "postgres did not answer within $((30 * FT_SLOW)) s"
}

# pg_stop_dir DIR: fast shutdown of the postmaster of DIR (SIGINT: ends the
# sessions, checkpoints), SIGKILL after 20 s.
pg_stop_dir() {
  local d=$1 pid=${PG_PID_OF[$1]:-} i
  [ -n "$pid" ] || return 0
  kill -INT "$pid" 2>/dev/null || true
  for i in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PG_PID_OF[$d]"
}
pg_stop() { pg_stop_dir "$PG_DIR"; }
pg_restart() {
  pg_stop
  pg_up
}
pg_kill9() {
  local pid=${PG_PID_OF[$PG_DIR]:-}
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # The backends notice their postmaster is gone and exit; wait for them
  # to release the shared memory before a restart.
  local i
  for i in $(seq 100); do
    [ -f "$PG_DIR/data/postmaster.pid" ] || break
    pg_as "$PG_BIN/pg_ctl" status -D "$PG_DIR/data" >/dev/null 2>&1 || break
    sleep 0.1
  done
  unset "PG_PID_OF[$PG_DIR]"
}

# psql_admin DB ARGS...: psql as the superuser over the unix socket.
psql_admin() {
  local db=$1
  shift
  PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" \
    -U ft -d "$db" "$@"
}
# psql_q SQL: the unaligned result rows of SQL in the test database.
psql_q() {
  psql_admin fieldtrail -At -c "$1"
}

# ---- county hubs forwarding ----

# shellcheck disable=SC2034 # used by the scripts that source this file
DUMP=$FT_BUILD/tests/tools/ft_dump

# prov_keys: an archive key pair for the province (a hub's, made with
# `fieldtrail-hub init` in $T/provkeys); sets PROV_ARCHIVE_PK.
prov_keys() {
  "$HUB" init --state "$T/provkeys" --listen tcp://127.0.0.1:1 >/dev/null || fail "init of the province's keys failed"
  PROV_ARCHIVE_PK=$(sed -n 's/^archive_public = //p' "$T/provkeys/hub.pub")
}

# prov_conf STATE COUNTY [LINE...]: a [province] section at the end of
# STATE/hub.conf forwarding into PG_URL as COUNTY, with the lines given.
prov_conf() {
  local state=$1 county=$2 l
  shift 2
  {
    echo "[province]"
    echo "url = $PG_URL"
    echo "county = $county"
    for l in "$@"; do
      echo "$l"
    done
  } >>"$state/hub.conf"
}

# prov_count TABLE COUNTY: rows of ft.TABLE from COUNTY.
prov_count() {
  psql_q "SELECT count(*) FROM ft.$1 WHERE county = '$2'"
}

# county_entries STATE: entries the county hub holds; county_hublog STATE:
# its hub log's length.
county_entries() { "$HUB" status --state "$1" --json | jget entries; }
county_hublog() { "$HUB" status --state "$1" --json | jget hublog_entries; }

# prov_caught_up STATE COUNTY: the province holds every entry and every
# hub log entry of the county hub.
prov_caught_up() {
  [ "$(prov_count entries "$2")" = "$(county_entries "$1")" ] &&
    [ "$(prov_count hub_entries "$2")" = "$(county_hublog "$1")" ]
}

# prov_same_now STATE COUNTY: the province holds, byte for byte, what the
# county hub holds now (device entries and hub log); on a difference it
# leaves the first lines of the diff in $T/prov_same.diff and returns 1.
prov_same_now() {
  local state=$1 county=$2 what table
  for what in entries hublog; do
    table=entries
    [ "$what" = hublog ] && table=hub_entries
    "$DUMP" "$what" "$state" | sort >"$T/county.$county.$what" || fail "ft_dump $what failed"
    psql_q "SELECT encode(device, 'hex') || '|' || ft.u64(epoch) || '|' || ft.u64(seq) || '|' ||
              encode(raw, 'hex') FROM ft.$table WHERE county = '$county'" |
      sort >"$T/prov.$county.$what"
    [ -s "$T/county.$county.$what" ] || fail "the county hub holds no $what"
    if ! cmp -s "$T/county.$county.$what" "$T/prov.$county.$what"; then
      {
        echo "the province's $table of $county differ from the county hub's $what:"
        diff "$T/county.$county.$what" "$T/prov.$county.$what" | cut -c1-120 | sed -n 1,10p
      } >"$T/prov_same.diff" || true
      return 1
    fi
  done
}

# prov_same STATE COUNTY: what the province holds of the county is, byte
# for byte, what the county hub holds (device entries and hub log), each
# row once. The county hub's engine may still append alert events to its
# own log after prov_caught_up saw the counts equal, so a difference is
# given 30 s to be forwarded before it fails the test.
prov_same() {
  local state=$1 county=$2 limit=$((30 * ${FT_SLOW:-1})) start=$SECONDS
  until prov_same_now "$state" "$county"; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      cat "$T/prov_same.diff" >&2
      fail "the province does not hold what the county hub $county holds (after ${limit}s)"
    fi
    sleep 0.5
  done
  [ "$(psql_q "SELECT count(*) - count(DISTINCT (device, epoch, seq)) FROM ft.entries")" = 0 ] ||
    fail "an entry is in the province twice"
  [ "$(psql_q "SELECT count(*) FROM ft.entries WHERE date_trunc('milliseconds', at) <>
         date_trunc('milliseconds', ft.hlc_time(hlc))")" = 0 ] || fail "an entry's at is not its own time"
  echo "province holds $(wc -l <"$T/county.$county.entries") entries and $(wc -l <"$T/county.$county.hublog") hub log entries of $county, byte for byte"
}
