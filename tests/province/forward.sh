#!/usr/bin/env bash
# forward.sh: county hubs forwarding into the provincial PostgreSQL, with
# real processes (hub, edges, postgres). FT_PROV_SCENARIO picks one:
#   two_edges     a county hub with two edges (records and media) forwards
#                 as `run` commits; the province holds every entry and hub
#                 log entry once, byte for byte; each file key re-sealed to
#                 the province's archive key and the re-sealing in the hub
#                 log; status and /metrics show no lag (promtool passes).
#   kill9         the forwarding hub is killed -9 again and again while it
#                 sends small batches: nothing lost, nothing twice.
#   pg_restart    PostgreSQL stopped while the hub forwards (and while
#                 entries keep arriving), then started: caught up; the hub
#                 logged the outage once and the return once; status showed
#                 the outage; also a hub started while PostgreSQL is down.
#   bad_config    unparseable url, wrong password, no such database, a bad
#                 archive key: `run` refuses at start-up naming the hub.conf
#                 line, never printing the password.
#   restore       the county hub restored from a backup older than the
#                 province's checkpoint: noticed at start, everything sent
#                 again, nothing received after the restore skipped.
#   bad_key       an edge seals its file keys to a wrong key: its manifest
#                 travels, its key does not (a warning), the rest goes on.
#   two_counties  two county hubs into one PostgreSQL, each its own rows; a
#                 third hub claiming a county name already taken is refused.
set -euo pipefail
. "$FT_SRC/tests/province/lib.sh"

pg_start
prov_keys

# base_county: the hub of $T/hub with edges a and b, records imported.
base_county() {
  hub_init
  edge_new a
  edge_new b
  edge_records a "$1"
  edge_records b "$1" 1000
}

case ${FT_PROV_SCENARIO:?} in
two_edges)
  base_county 40
  edge_media a 64 2
  edge_media b 32 1
  HTTP_PORT=$(free_port)
  prov_conf "$T/hub" east "archive_key = $PROV_ARCHIVE_PK" "interval_ms = 200"
  printf 'http_metrics_token = %s\n' metricsecret12345678901234567890 >"$T/extra.conf"
  # http_metrics_token is a top-level key: put it before the section.
  { cat "$T/extra.conf"; cat "$T/hub/hub.conf"; } >"$T/hub.conf.new" && mv "$T/hub.conf.new" "$T/hub/hub.conf"
  hub_start
  stop_pid "$HUB_PID"
  bg "" "$T/hub/hub.log" "$HUB" run --state "$T/hub" --http "127.0.0.1:$HTTP_PORT" --publish off
  HUB_PID=$BG_PID
  wait_until 30 "the hub listening" hub_listening
  edge_start a
  edge_start b
  wait_until 60 "both logs at the hub" logs_synced a b
  wait_until 90 "three media files at the hub" media_complete 3
  edge_records a 20 500 # more while forwarding
  wait_until 60 "both logs at the hub" logs_synced a b
  wait_until 60 "the province caught up" prov_caught_up "$T/hub" east
  prov_same "$T/hub" east
  # Media: one row per manifest, one re-sealed key per file, each in the hub log.
  [ "$(prov_count media_files east)" = 3 ] || fail "media_files holds $(prov_count media_files east) rows, not 3"
  [ "$(prov_count file_keys east)" = 3 ] || fail "file_keys holds $(prov_count file_keys east) rows, not 3"
  [ "$(psql_q "SELECT count(DISTINCT archive_pk) FROM ft.file_keys WHERE archive_pk = '\\x$PROV_ARCHIVE_PK'")" = 1 ] ||
    fail "the keys are not sealed to the province's archive key"
  [ "$(psql_q "SELECT count(*) FROM ft.file_keys k JOIN ft.hub_entries h ON h.county = k.county
        AND h.epoch = k.hublog_epoch AND h.seq = k.hublog_seq AND h.kind = 'audit'
        AND position(encode(k.file_id, 'hex')::bytea IN h.raw) > 0")" = 3 ] ||
    fail "a re-sealed key has no entry of its own in the forwarded hub log"
  [ "$(psql_q "SELECT count(*) FROM ft.enrolments WHERE county = 'east' AND NOT revoked")" = 2 ] ||
    fail "the two enrolments are not in the province"
  # Each sealed key opens with the province's archive key to the file key
  # the county hub holds: ft_dump cannot open it, `media get` can decrypt
  # with the county's key; the province key check is in provstatus_test.
  st=$("$HUB" status --state "$T/hub" --json)
  [ "$(jget behind <<<"${st#*\"province\":}")" = 0 ] || fail "status: forwarding behind: $st"
  [ "$(jget state <<<"${st#*\"province\":}")" = forwarding ] || fail "status: not forwarding: $st"
  "$HUB" status --state "$T/hub" | grepq '^province: .*county east .*forwarding; checkpoint [0-9]*, 0 entries behind' ||
    fail "status shows no forwarding line"
  curl -s -H "Authorization: Bearer metricsecret12345678901234567890" \
    "http://127.0.0.1:$HTTP_PORT/metrics" >"$T/metrics.txt"
  grep -q '^fieldtrail_province_behind_entries 0$' "$T/metrics.txt" || fail "/metrics: no forwarding lag gauge"
  grep -q '^fieldtrail_province_up 1$' "$T/metrics.txt" || fail "/metrics: forwarder not up"
  if command -v promtool >/dev/null; then
    promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 || { cat "$T/promtool.out" >&2; fail "promtool refused /metrics"; }
    [ ! -s "$T/promtool.out" ] || { cat "$T/promtool.out" >&2; fail "promtool has remarks on /metrics"; }
  fi
  # The dashboard's sync data (the sync page's card) has the same.
  printf '%s\n' 'staff-password-1234' | "$HUB" user add staff --role staff --state "$T/hub" >/dev/null
  curl -s -c "$T/jar" -H 'Content-Type: application/json' \
    --data '{"user":"staff","password":"staff-password-1234"}' "http://127.0.0.1:$HTTP_PORT/api/login" >/dev/null
  curl -s -b "$T/jar" "http://127.0.0.1:$HTTP_PORT/api/sync" >"$T/sync.json"
  prov=$(sed 's/.*"province":{/{/' "$T/sync.json")
  [ "$(jget county <<<"$prov")" = east ] && [ "$(jget behind <<<"$prov")" = 0 ] &&
    [ "$(jget state <<<"$prov")" = forwarding ] || fail "/api/sync: no forwarding state: $(cut -c1-300 "$T/sync.json")"
  converge a b
  ;;
kill9)
  base_county 1500
  # The county first holds both logs, then forwards them: each kill -9
  # falls as soon as the province has taken more than before (so at least
  # the first ones land mid-stream whatever the machine's speed).
  hub_start
  edge_start a
  edge_start b
  wait_until 120 "both logs at the hub" logs_synced a b
  hub_stop
  prov_conf "$T/hub" east "batch_entries = 20" "interval_ms = 20"
  total=$(county_entries "$T/hub")
  mid=0
  last=0
  more_than_last() {
    n=$(prov_count entries east)
    [ "$n" -gt "$last" ] || [ "$n" -ge "$total" ]
  }
  for i in 1 2 3 4 5 6; do
    hub_start
    wait_until 60 "the province takes more after restart $i" more_than_last
    hub_kill9
    n=$(prov_count entries east)
    echo "kill -9 $i: the province holds $n of $total"
    if [ "$n" -gt 0 ] && [ "$n" -lt "$total" ]; then
      mid=$((mid + 1))
    fi
    last=$n
  done
  hub_start
  [ "$mid" -gt 0 ] || fail "no kill -9 fell in the middle of forwarding (make the batches smaller)"
  wait_until 120 "the province caught up" prov_caught_up "$T/hub" east
  prov_same "$T/hub" east
  # The province's checkpoint lost (a database restored from an older
  # backup): everything is sent again and absorbed, nothing twice.
  dup0=$("$HUB" status --state "$T/hub" --json | sed 's/.*"province":{/{/' | jget duplicates_absorbed)
  psql_q "UPDATE ft.checkpoints SET position = 0 WHERE county = 'east'" >/dev/null
  absorbed() {
    [ "$("$HUB" status --state "$T/hub" --json | sed 's/.*"province":{/{/' | jget duplicates_absorbed)" -ge $((dup0 + total)) ]
  }
  wait_until 120 "every entry sent again" absorbed
  prov_same "$T/hub" east
  converge a b
  ;;
pg_restart)
  base_county 100
  prov_conf "$T/hub" east "interval_ms = 100" "retry_max_ms = 500"
  pg_stop # the hub starts while PostgreSQL is down
  hub_start
  # The forwarder connects on its own thread, maybe after the hub listens.
  said_at_start() { grepq 'PostgreSQL is not reachable yet' <"$T/hub/hub.log"; }
  wait_until 30 "a warning about PostgreSQL at start" said_at_start
  edge_start a
  edge_start b
  wait_until 60 "both logs at the hub" logs_synced a b
  pg_up
  wait_until 60 "the province caught up" prov_caught_up "$T/hub" east
  # Down while forwarding: entries keep coming in.
  pg_stop
  edge_records a 200 5000
  edge_records b 200 6000
  wait_until 60 "both logs at the hub" logs_synced a b
  sleep 2 # several retries
  st=$("$HUB" status --state "$T/hub" --json)
  prov=${st#*\"province\":}
  [ "$(jget state <<<"$prov")" = waiting ] || fail "status while PostgreSQL is down: $prov"
  [ "$(jget behind <<<"$prov")" -ge 400 ] || fail "status does not show the lag: $prov"
  jget last_error <<<"$prov" | grepq . || fail "status shows no last error"
  pg_up
  wait_until 60 "the province caught up again" prov_caught_up "$T/hub" east
  prov_same "$T/hub" east
  # Each outage logged once (the first by the start-up warning), each return once.
  start=$(grep -c 'PostgreSQL is not reachable yet' "$T/hub/hub.log" || true)
  down=$(grep -c 'cannot reach PostgreSQL' "$T/hub/hub.log" || true)
  back=$(grep -c 'reachable again' "$T/hub/hub.log" || true)
  [ "$start" = 1 ] && [ "$down" = 1 ] && [ "$back" = 2 ] ||
    fail "two outages logged as $start + $down and their ends $back times, not 1 + 1 and 2"
  converge a b
  ;;
bad_config)
  hub_init
  cp "$T/hub/hub.conf" "$T/hub.conf.base"
  # run_refused WHAT PATTERN [section lines]: `run` exits non-zero at once
  # with a message matching PATTERN that names the file and line.
  run_refused() {
    local what=$1 pat=$2 rc=0
    shift 2
    cp "$T/hub.conf.base" "$T/hub/hub.conf"
    printf '%s\n' "[province]" "$@" >>"$T/hub/hub.conf"
    timeout 60 "$HUB" run --state "$T/hub" --http off --publish off >"$T/run.out" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$T/run.out" >&2; fail "$what: run did not refuse (exit $rc)"; }
    grepq -E "$pat" <"$T/run.out" || { cat "$T/run.out" >&2; fail "$what: not the expected message"; }
    grepq "hub.conf line [0-9]" <"$T/run.out" || { cat "$T/run.out" >&2; fail "$what: the message names no line"; }
    if grepq "$PG_PASSWORD" <"$T/run.out"; then
      fail "$what: the password was printed"
    fi
    echo "$what: $(tail -n 1 "$T/run.out")"
  }
  good=${PG_URL#postgresql://}
  run_refused "unparseable url" "not a valid PostgreSQL URL|port that is not a number" \
    "url = postgresql://ft:$PG_PASSWORD@127.0.0.1:$PG_PORT/fieldtrail?nosuchoption=1" "county = east"
  run_refused "wrong password" "password authentication failed" \
    "url = postgresql://ft:wrong$PG_PASSWORD@127.0.0.1:$PG_PORT/fieldtrail" "county = east"
  run_refused "no such database" 'database "nosuchdb" does not exist' \
    "url = postgresql://ft:$PG_PASSWORD@127.0.0.1:$PG_PORT/nosuchdb" "county = east"
  run_refused "bad archive key" "province.archive_key must be" \
    "url = postgresql://$good" "county = east" "archive_key = 1234"
  run_refused "no county" "needs county = NAME" "url = postgresql://$good"
  # status shows the rest, names the line, and exits 1 (as for every
  # mistake run would refuse).
  rc=0
  "$HUB" status --state "$T/hub" >"$T/status.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat "$T/status.out" >&2; fail "status with a bad [province] exits $rc, not 1"; }
  grepq 'hub.conf line [0-9]*: the \[province\] section needs county' <"$T/status.out" ||
    { cat "$T/status.out" >&2; fail "status does not name the bad [province] line"; }
  # The url holds a password: a hub.conf others can read is warned about.
  cp "$T/hub.conf.base" "$T/hub/hub.conf"
  printf '%s\n' "[province]" "url = postgresql://$good" "county = east" >>"$T/hub/hub.conf"
  chmod 644 "$T/hub/hub.conf"
  "$HUB" status --state "$T/hub" >"$T/status.out" 2>&1 || true
  grepq 'province.url' <"$T/status.out" || { cat "$T/status.out" >&2; fail "no warning for a readable hub.conf holding province.url"; }
  if grepq "$PG_PASSWORD" <"$T/status.out"; then
    fail "status printed the password"
  fi
  [ "$(psql_q "SELECT count(*) FROM ft.counties")" = 0 ] 2>/dev/null || true
  ;;
bad_key)
  # An edge sealing its file keys to a wrong archive key: the manifest is
  # forwarded, its key is not (with a warning), and the rest goes on.
  hub_init
  edge_new a
  sed -i "s/^archive_key = .*/archive_key = $PROV_ARCHIVE_PK/" "$T/a/edge.conf"
  edge_records a 10
  edge_media a 16 1
  edge_new b
  edge_media b 16 1
  edge_records b 10 100
  prov_conf "$T/hub" east "archive_key = $PROV_ARCHIVE_PK" "interval_ms = 100"
  hub_start
  edge_start a
  edge_start b
  wait_until 60 "both logs at the hub" logs_synced a b
  wait_until 60 "the province caught up" prov_caught_up "$T/hub" east
  prov_same "$T/hub" east
  [ "$(prov_count media_files east)" = 2 ] || fail "media_files holds $(prov_count media_files east) rows, not 2"
  [ "$(prov_count file_keys east)" = 1 ] || fail "file_keys holds $(prov_count file_keys east) rows, not 1 (b's)"
  grepq 'does not open with this hub.s archive key' <"$T/hub/hub.log" || fail "no warning for the key that does not open"
  ;;
restore)
  # The county hub restored from a backup older than the province's
  # checkpoint: it notices at start, sends everything again, and nothing
  # it receives after the restore is skipped.
  base_county 50
  prov_conf "$T/hub" east "interval_ms = 100"
  hub_start
  edge_start a
  edge_start b
  wait_until 60 "both logs at the hub" logs_synced a b
  wait_until 60 "the province caught up" prov_caught_up "$T/hub" east
  hub_stop
  cp -a "$T/hub" "$T/hub.backup"
  hub_start
  edge_records a 30 500
  edge_records b 30 600
  wait_until 60 "both logs at the hub" logs_synced a b
  wait_until 60 "the province caught up" prov_caught_up "$T/hub" east
  edge_stop a
  edge_stop b
  hub_stop
  rm -rf "$T/hub"
  cp -a "$T/hub.backup" "$T/hub"
  : >"$T/hub/hub.log"
  hub_start
  wait_until 30 "the restore noticed" grep -q 'does not name the entry this hub.s store holds' "$T/hub/hub.log"
  edge_start a
  edge_start b
  edge_records a 20 800
  wait_until 60 "both logs at the hub again" logs_synced a b
  # Entries: every one the restored hub holds is in the province, byte for
  # byte (the hub log forked at the restore: both branches are there).
  prov_entries_all() {
    "$DUMP" entries "$T/hub" | sort >"$T/county.now"
    psql_q "SELECT encode(device, 'hex') || '|' || ft.u64(epoch) || '|' || ft.u64(seq) || '|' ||
              encode(raw, 'hex') FROM ft.entries WHERE county = 'east'" | sort >"$T/prov.now"
    cmp -s "$T/county.now" "$T/prov.now"
  }
  wait_until 60 "every entry of the restored hub in the province" prov_entries_all
  [ "$(wc -l <"$T/county.now")" = 180 ] || fail "the restored hub holds $(wc -l <"$T/county.now") entries, not 180"
  grepq 'hub log .*does not name the entry this hub.s log holds' <"$T/hub/hub.log" ||
    fail "the restored hub log was not noticed"
  # Every entry of the restored hub log is in the province too (beside the
  # branch it lost).
  hublog_all() {
    "$DUMP" hublog "$T/hub" | sort >"$T/county.hl"
    psql_q "SELECT encode(device, 'hex') || '|' || ft.u64(epoch) || '|' || ft.u64(seq) || '|' ||
              encode(raw, 'hex') FROM ft.hub_entries WHERE county = 'east'" | sort >"$T/prov.hl"
    [ -z "$(comm -23 "$T/county.hl" "$T/prov.hl")" ]
  }
  wait_until 60 "the restored hub log in the province" hublog_all
  converge a b
  ;;
two_counties)
  base_county 30
  # As in a deployment (docs/operations.md "Provincial deployment"): the
  # owner applies the schema, then makes the counties' roles, then the
  # county hubs start. (A GRANT on the tables while a forwarder makes a month
  # partition fails "tuple concurrently updated"; an administrator repeats it.)
  "$HUB" province init-db --url "$PG_URL" >/dev/null
  psql_q "CREATE ROLE county_west LOGIN PASSWORD 'westpw';
    GRANT USAGE ON SCHEMA ft TO county_west;
    GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA ft TO county_west;
    GRANT UPDATE ON ft.checkpoints TO county_west;
    GRANT TEMPORARY ON DATABASE fieldtrail TO county_west" >/dev/null
  prov_conf "$T/hub" east "interval_ms = 100"
  hub_start
  edge_start a
  edge_start b
  # A second county: its own hub and edge, in $T/west.
  T0=$T
  EAST_PID=$HUB_PID
  EAST_PORT=$PORT
  T=$T0/west
  mkdir -p "$T"
  PORT=""
  hub_init
  edge_new c
  edge_records c 50 3000
  # West connects as a role that may only insert (made above).
  {
    echo "[province]"
    echo "url = postgresql://county_west:westpw@127.0.0.1:$PG_PORT/fieldtrail"
    echo "county = west"
    echo "interval_ms = 100"
  } >>"$T/hub/hub.conf"
  hub_start
  edge_start c
  WEST=$T
  T=$T0
  wait_until 60 "east's logs at its hub" logs_synced a b
  T=$WEST
  wait_until 60 "west's log at its hub" logs_synced c
  T=$T0
  wait_until 60 "east caught up" prov_caught_up "$T/hub" east
  wait_until 60 "west caught up" prov_caught_up "$WEST/hub" west
  prov_same "$T/hub" east
  prov_same "$WEST/hub" west
  # The restricted role makes a month partition through ft.ensure_month, owned by the owner,
  # and cannot change what it sent.
  PGPASSWORD=westpw "$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" -U county_west -d fieldtrail \
    -c "SELECT ft.ensure_month('entries', '2031-05-02+00')" | grepq '^entries_203105$' ||
    fail "a county role cannot make a month partition"
  [ "$(psql_q "SELECT tableowner FROM pg_tables WHERE tablename = 'entries_203105'")" = ft ] ||
    fail "the partition is not the owner's"
  if PGPASSWORD=westpw "$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" -U county_west -d fieldtrail \
    -c "UPDATE ft.checkpoints SET position = 0 WHERE county = 'west'; DELETE FROM ft.entries WHERE county = 'west'" \
    >/dev/null 2>&1; then
    fail "a county role could delete its entries"
  fi
  [ "$(psql_q "SELECT string_agg(county, ',' ORDER BY county) FROM ft.counties")" = "east,west" ] ||
    fail "ft.counties is not east and west"
  [ "$(psql_q "SELECT count(*) FROM ft.checkpoints WHERE stream = 'entries' AND position > 0")" = 2 ] ||
    fail "not one entries checkpoint per county"
  # A third hub calling itself east is refused (and sends nothing).
  "$HUB" init --state "$T/third" --listen "tcp://127.0.0.1:$(free_port)" >/dev/null
  prov_conf "$T/third" east
  rc=0
  "$HUB" province forward --once --state "$T/third" >"$T/third.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat "$T/third.out" >&2; fail "a second hub forwarding as east was not refused (exit $rc)"; }
  grepq 'already has a county "east" whose hub has another signing key' <"$T/third.out" ||
    { cat "$T/third.out" >&2; fail "unexpected message for a county name taken"; }
  T=$WEST
  converge c
  T=$T0
  converge a b
  : "$EAST_PID" "$EAST_PORT"
  ;;
*)
  fail "unknown scenario $FT_PROV_SCENARIO"
  ;;
esac
