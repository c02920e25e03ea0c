# rgw.sh: a throw-away Ceph RGW for tests (sourced, not a test): one
# monitor, one memstore OSD and radosgw, all on 127.0.0.1, everything in one
# directory, from Debian's packages (ceph-mon, ceph-osd, radosgw; installed
# by ops/install-deps.sh). Works as root or as an ordinary user: no system
# paths, no keyrings (cephx off: loopback only), no systemd. About 11 s on 2
# cores.
#
#   rgw_start DIR   starts it; sets RGW_ENDPOINT (http://127.0.0.1:PORT),
#                   RGW_ACCESS_KEY, RGW_SECRET_KEY, RGW_REGION and RGW_PIDS
#                   (monitor, OSD, radosgw). Returns 77 with the reason on
#                   stderr when it cannot start (packages missing), 1 on a
#                   failure after that.
#   rgw_bucket NAME [lock]  creates a bucket (with Object Lock when "lock").
#   rgw_down / rgw_up       stops radosgw (the store is unreachable) and
#                           starts it again on the same port.
#   rgw_stop        stops everything rgw_start started (by PID) and removes
#                   nothing (the caller's scratch directory holds it).
#   rgw_s3 ARGS...  curl with SigV4 against the store (for checks): rgw_s3
#                   -X GET "$RGW_ENDPOINT/bucket/key".
#
# Settings that make a one-machine cluster come up: `mon data avail crit =
# 0` (the monitor does not refuse to run on a full-looking test disk), `osd
# crush update on start = false` (the OSD is placed in the CRUSH map by
# rgw_start, no hook at start), one replica, memstore (no disk formatting).

RGW_PIDS=()

rgw_log() { echo "rgw: $*" >&2; }

# rgw_port: a free port on 127.0.0.1 (free_port when the test library has it).
rgw_port() {
  if declare -F free_port >/dev/null; then
    free_port
    return
  fi
  local p
  while :; do
    p=$((20000 + SRANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

rgw_start() {
  RGW_DIR=$1
  local b
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool; do
    if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/bin/$b" ]; then
      rgw_log "cannot start Ceph RGW: $b is not installed (ops/install-deps.sh installs ceph-mon, ceph-osd and radosgw)"
      return 77
    fi
  done
  mkdir -p "$RGW_DIR"/{mon.a,osd.0,run,log,rgw}
  RGW_MON_PORT=$(rgw_port)
  RGW_PORT=$(rgw_port)
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  RGW_CONF=$RGW_DIR/ceph.conf
  cat >"$RGW_CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$RGW_MON_PORT
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $RGW_DIR/run
admin socket = $RGW_DIR/run/\$name.asok
log file = $RGW_DIR/log/\$name.log
pid file = $RGW_DIR/run/\$name.pid
crash dir = $RGW_DIR/log
mon data avail crit = 0
mon data avail warn = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 2000
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pg bits = 3
osd pgp bits = 3
osd crush chooseleaf type = 0
osd crush update on start = false
osd objectstore = memstore
memstore device bytes = 4294967296
osd op num threads per shard = 1
osd op num shards = 1
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $RGW_DIR/rgw
rgw enable usage log = false
rgw dns name = 127.0.0.1
# radosgw asks for a secure monitor session by default, which needs cephx.
ms mon client mode = crc secure
[mon.a]
mon data = $RGW_DIR/mon.a
[osd.0]
osd data = $RGW_DIR/osd.0
osd journal = $RGW_DIR/osd.0/journal
CONF
  local t0=$SECONDS
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$RGW_MON_PORT]" "$RGW_DIR/monmap" \
    >"$RGW_DIR/log/setup.log" 2>&1 || { rgw_log "monmaptool failed"; cat "$RGW_DIR/log/setup.log" >&2; return 1; }
  ceph-authtool --create-keyring "$RGW_DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' \
    >>"$RGW_DIR/log/setup.log" 2>&1
  ceph-mon -c "$RGW_CONF" --mkfs -i a --monmap "$RGW_DIR/monmap" --keyring "$RGW_DIR/mon.keyring" \
    >>"$RGW_DIR/log/setup.log" 2>&1 || { rgw_log "ceph-mon --mkfs failed"; cat "$RGW_DIR/log/setup.log" >&2; return 1; }
  ceph-mon -c "$RGW_CONF" -i a -f >>"$RGW_DIR/log/mon.out" 2>&1 &
  RGW_PIDS+=($!)
  RGW_MON_PID=$!
  local osd_uuid
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  local id
  id=$(timeout 30 ceph -c "$RGW_CONF" osd new "$osd_uuid" 2>>"$RGW_DIR/log/setup.log") ||
    { rgw_log "the monitor did not answer (ceph osd new)"; rgw_stop; return 1; }
  [ "$id" = 0 ] || { rgw_log "unexpected OSD id $id"; rgw_stop; return 1; }
  ceph-osd -c "$RGW_CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$RGW_DIR/log/setup.log" 2>&1 ||
    { rgw_log "ceph-osd --mkfs failed"; cat "$RGW_DIR/log/setup.log" >&2; rgw_stop; return 1; }
  ceph -c "$RGW_CONF" osd crush add osd.0 1.0 root=default >>"$RGW_DIR/log/setup.log" 2>&1 ||
    { rgw_log "cannot place osd.0 in the CRUSH map"; rgw_stop; return 1; }
  ceph-osd -c "$RGW_CONF" -i 0 -f >>"$RGW_DIR/log/osd.out" 2>&1 &
  RGW_PIDS+=($!)
  RGW_OSD_PID=$!
  RGW_ACCESS_KEY=ftTESTACCESSKEY00001
  RGW_SECRET_KEY=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | cut -c1-40)
  RGW_REGION=default
  rgw_up || { rgw_stop; return 1; }
  # The user (radosgw-admin waits for the OSD to be up with its pools).
  timeout 60 radosgw-admin -c "$RGW_CONF" user create --uid=fieldtrail --display-name=fieldtrail \
    --access-key="$RGW_ACCESS_KEY" --secret="$RGW_SECRET_KEY" >>"$RGW_DIR/log/setup.log" 2>&1 ||
    { rgw_log "radosgw-admin user create failed"; tail -20 "$RGW_DIR/log/setup.log" >&2; rgw_stop; return 1; }
  rgw_log "Ceph RGW up at $RGW_ENDPOINT in $((SECONDS - t0)) s (logs: $RGW_DIR/log)"
}

# rgw_up: starts radosgw on RGW_PORT and waits until it answers HTTP.
rgw_up() {
  radosgw -c "$RGW_CONF" -n client.rgw -f >>"$RGW_DIR/log/rgw.out" 2>&1 &
  RGW_PIDS+=($!)
  RGW_GW_PID=$!
  RGW_ENDPOINT=http://127.0.0.1:$RGW_PORT
  local i
  for i in $(seq 600); do
    if curl -s -o /dev/null "$RGW_ENDPOINT/" 2>/dev/null; then
      return 0
    fi
    kill -0 "$RGW_GW_PID" 2>/dev/null || { rgw_log "radosgw exited"; tail -20 "$RGW_DIR/log/client.rgw.log" >&2; return 1; }
    sleep 0.1
  done
  rgw_log "radosgw did not answer on $RGW_ENDPOINT within 60 s"
  return 1
}

rgw_down() {
  [ -n "${RGW_GW_PID:-}" ] || return 0
  kill "$RGW_GW_PID" 2>/dev/null || true
  local i
  for i in $(seq 100); do
    kill -0 "$RGW_GW_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$RGW_GW_PID" 2>/dev/null || true
  wait "$RGW_GW_PID" 2>/dev/null || true
  RGW_GW_PID=
}

rgw_stop() {
  local p i
  for p in "${RGW_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${RGW_PIDS[@]}"; do
    for i in $(seq 50); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  RGW_PIDS=()
}

rgw_s3() {
  curl -sS --aws-sigv4 "aws:amz:$RGW_REGION:s3" --user "$RGW_ACCESS_KEY:$RGW_SECRET_KEY" "$@"
}

rgw_bucket() {
  local name=$1 lock=${2:-}
  local h=()
  [ "$lock" = lock ] && h=(-H "x-amz-bucket-object-lock-enabled: true")
  rgw_s3 -f -X PUT "${h[@]}" "$RGW_ENDPOINT/$name" -o /dev/null
}
