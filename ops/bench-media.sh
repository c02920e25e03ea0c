#!/bin/bash
# bench-media.sh: one 1 GiB file from a vehicle unit to the office, side by
# side in one run on the same file:
#   - fieldtrail: the edge has ingested it (timed apart: hash, encrypt, LMDB),
#     then edge -> hub sync over CurveZMQ until the hub has verified,
#     decrypted-and-checked and stored it and signed the receipt;
#   - rsync over ssh to localhost (an sshd of its own on 127.0.0.1);
#   - Syncthing (two instances on 127.0.0.1, a send-only and a receive-only
#     folder, discovery, relays and NAT off), from the scan request until the
#     receiving side has the whole file.
# Prints seconds, MB/s and CPU-seconds of both ends for each, and the ratios
# against rsync over ssh. Installs rsync, openssh-server and syncthing with
# apt-get if missing (this script only; the test suite never needs them).
#   FT_BUILD=build ops/bench-media.sh          BENCH_MB=1024 by default
#   BENCH_SKIP_SYNCTHING=1                     leaves out the Syncthing leg
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
FT_BUILD=${FT_BUILD:-$root/build}
BENCH_MB=${BENCH_MB:-1024}
HUB=$FT_BUILD/hub/fieldtrail-hub
EDGE=$FT_BUILD/edge/fieldtrail-edge
for b in "$HUB" "$EDGE"; do
  [ -x "$b" ] || { echo "bench-media: $b is not built (cmake --build $FT_BUILD)" >&2; exit 1; }
done
W=$(mktemp -d /tmp/ft-bench-media.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${BENCH_KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
need=()
command -v rsync >/dev/null || need+=(rsync)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v syncthing >/dev/null || [ -n "${BENCH_SKIP_SYNCTHING:-}" ] || need+=(syncthing)
command -v curl >/dev/null || need+=(curl)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench-media: installing ${need[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y "${need[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update >/dev/null && $sudo apt-get install -y "${need[@]}" >/dev/null; }
fi
free_port() {
  local p
  while :; do
    p=$((20000 + SRANDOM % 12000))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}
# cpu PID: user+sys CPU seconds of a live process (threads included), of
# the children it has reaped and of its live descendants (Syncthing runs its
# work in a child of the process started).
cpu() {
  local c k
  c=$(awk '{printf "%.2f", ($14+$15+$16+$17)/100}' "/proc/$1/stat" 2>/dev/null || echo 0)
  for k in $(pgrep -P "$1" 2>/dev/null); do c=$(echo "$c + $(cpu "$k")" | bc); done
  echo "$c"
}
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
waitfor() { # SECONDS WHAT CMD...
  local secs=$1 what=$2 t0
  shift 2
  t0=$(date +%s)
  until "$@"; do
    (($(date +%s) - t0 < secs)) || { echo "bench-media: timed out waiting for $what" >&2; exit 1; }
    sleep 0.1
  done
}

mb=$BENCH_MB
echo "bench-media: making a ${mb} MiB file of random bytes"
head -c $((16 << 20)) /dev/urandom >"$W/block"
for ((i = 0; i < (mb + 15) / 16; i++)); do printf 'blk%08d' "$i"; cat "$W/block"; done |
  head -c $((mb << 20)) >"$W/big.mp4"
rm -f "$W/block"
want=$(sha256sum "$W/big.mp4" | cut -d' ' -f1)
sync
echo "machine: $(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %8s %10s %14s %14s\n' "" "seconds" "MB/s" "CPU sender s" "CPU receiver s"
declare -A R_S R_CS R_CR
report() { # name seconds cpu_sender cpu_receiver
  R_S[$1]=$2 R_CS[$1]=$3 R_CR[$1]=$4
  printf '%-28s %8.1f %10.1f %14.2f %14.2f\n' "$1" "$2" \
    "$(echo "$mb * 1.048576 / $2" | bc -l)" "$3" "$4"
}

# --- fieldtrail ---------------------------------------------------------------
P=$(free_port); MP=$(free_port)
"$HUB" init --state "$W/hub" --listen "tcp://127.0.0.1:$P" --advertise 127.0.0.1 --json >"$W/init.json"
{
  echo "media.listen = tcp://127.0.0.1:$MP"
  echo "http = off"
  echo "alerts.publish = tcp://127.0.0.1:$(free_port)"
} >>"$W/hub/hub.conf"
KEY=$(grep -o '"hub_key":"[0-9a-f]*"' "$W/init.json" | cut -d'"' -f4)
AK=$(awk -F' *= *' '$1 == "archive_public" {print $2}' "$W/hub/hub.pub")
"$EDGE" init --state "$W/edge" --unit U --vehicle V --hub "tcp://127.0.0.1:$P" --hub-key "$KEY" \
  --archive-key "$AK" >/dev/null
echo "media.hub = tcp://127.0.0.1:$MP" >>"$W/edge/edge.conf"
"$HUB" enroll "$W/edge/device.pub" --unit U --vehicle V --state "$W/hub" >/dev/null
t0=$(now)
/usr/bin/time -f '%U %S' -o "$W/ingest.cpu" "$EDGE" ingest "$W/big.mp4" --recorder R \
  --state "$W/edge" >/dev/null 2>"$W/ingest.log" || { cat "$W/ingest.log" >&2; exit 1; }
ingest_s=$(since "$t0")
ingest_cpu=$(awk '{print $1 + $2}' "$W/ingest.cpu")
"$HUB" run --state "$W/hub" 2>"$W/hub.log" &
HP=$!; PIDS+=($HP)
waitfor 30 "the hub to listen" grep -q "pulling chunks" "$W/hub.log"
hub0=$(cpu $HP)
t0=$(now)
"$EDGE" run --state "$W/edge" 2>"$W/edge.log" &
EP=$!; PIDS+=($EP)
# The end is the hub's log line for the completed file (written after the
# receipt is committed): polling `media list` ten times a second would cost
# the two cores about a third of a CPU-second per second of transfer.
complete() { grep -q "media: file [0-9a-f]* complete:" "$W/hub.log"; }
waitfor 3600 "the hub to hold the file" complete
ft_s=$(since "$t0")
"$HUB" media list --state "$W/hub" --json | grep -q '"state":"complete"' ||
  { echo "bench-media: the hub logged the file complete but does not list it so" >&2; exit 1; }
ft_cs=$(cpu $EP)
ft_cr=$(echo "$(cpu $HP) - $hub0" | bc)
printf '%-28s %8.1f %10.1f %14.2f %14s\n' "fieldtrail ingest (edge)" "$ingest_s" \
  "$(echo "$mb * 1.048576 / $ingest_s" | bc -l)" "$ingest_cpu" "-"
report "fieldtrail sync" "$ft_s" "$ft_cs" "$ft_cr"
id=$("$HUB" media list --state "$W/hub" --json | grep -o '"file_id":"[0-9a-f]*"' | cut -d'"' -f4)
"$HUB" media get "$id" --out "$W/ft-got" --state "$W/hub" >/dev/null 2>&1
[ "$(sha256sum "$W/ft-got" | cut -d' ' -f1)" = "$want" ] ||
  { echo "bench-media: fieldtrail's copy differs" >&2; exit 1; }
rm -f "$W/ft-got"
kill $EP $HP; wait $EP $HP 2>/dev/null || true
PIDS=()
rm -rf "$W/hub" "$W/edge"

# --- rsync over ssh -------------------------------------------------------------
SP=$(free_port)
mkdir -p "$W/ssh" "$W/rsync-dst"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/id"
cp "$W/ssh/id.pub" "$W/ssh/authorized_keys"
chmod 600 "$W/ssh/authorized_keys"
[ -d /run/sshd ] || mkdir -p /run/sshd
/usr/sbin/sshd -D -e -p "$SP" -o ListenAddress=127.0.0.1 -h "$W/ssh/host" \
  -o "AuthorizedKeysFile=$W/ssh/authorized_keys" -o StrictModes=no -o PidFile="$W/ssh/pid" \
  2>"$W/sshd.log" &
SSHD=$!; PIDS+=($SSHD)
waitfor 10 "sshd to listen" bash -c "(exec 3<>/dev/tcp/127.0.0.1/$SP) 2>/dev/null"
ssh_opts="ssh -p $SP -i $W/ssh/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
# Logging in runs the remote account's shell start-up files, which can cost
# seconds on a developer's machine: timed apart and taken off rsync's time, so
# the comparison is with rsync at its best.
t0=$(now)
$ssh_opts 127.0.0.1 true
login_s=$(since "$t0")
s0=$(cpu $SSHD)
t0=$(now)
/usr/bin/time -f '%U %S' -o "$W/rsync.cpu" rsync -a -e "$ssh_opts" "$W/big.mp4" "127.0.0.1:$W/rsync-dst/"
sync
rs_s=$(echo "$(since "$t0") - $login_s" | bc)
printf '%-28s %8.1f   (taken off the rsync time below)\n' "ssh login (shell start-up)" "$login_s"
report "rsync over ssh" "$rs_s" "$(awk '{print $1 + $2}' "$W/rsync.cpu")" "$(echo "$(cpu $SSHD) - $s0" | bc)"
[ "$(sha256sum "$W/rsync-dst/big.mp4" | cut -d' ' -f1)" = "$want" ] ||
  { echo "bench-media: rsync's copy differs" >&2; exit 1; }
rm -rf "$W/rsync-dst"
kill $SSHD; wait $SSHD 2>/dev/null || true
PIDS=()

# --- Syncthing --------------------------------------------------------------------
if [ -z "${BENCH_SKIP_SYNCTHING:-}" ]; then
  export STNOUPGRADE=1 STNORESTART=1
  for side in a b; do
    syncthing generate --home="$W/st-$side" --no-default-folder --skip-port-probing >/dev/null 2>&1
    mkdir -p "$W/st-$side/data"
  done
  IDA=$(syncthing serve --home="$W/st-a" --device-id 2>/dev/null)
  IDB=$(syncthing serve --home="$W/st-b" --device-id 2>/dev/null)
  LA=$(free_port); LB=$(free_port); GA=$(free_port); GB=$(free_port)
  APIKEY=fieldtrail-bench-$$
  stconf() { # side folder-type listen gui
    cat >"$W/st-$1/config.xml" <<EOF
<configuration version="36">
  <folder id="bench" label="bench" path="$W/st-$1/data" type="$2" rescanIntervalS="3600" fsWatcherEnabled="false" ignorePerms="true">
    <device id="$IDA"></device>
    <device id="$IDB"></device>
  </folder>
  <device id="$IDA" name="a" compression="never"><address>tcp://127.0.0.1:$LA</address></device>
  <device id="$IDB" name="b" compression="never"><address>tcp://127.0.0.1:$LB</address></device>
  <gui enabled="true" tls="false"><address>127.0.0.1:$4</address><apikey>$APIKEY</apikey></gui>
  <options>
    <listenAddress>tcp://127.0.0.1:$3</listenAddress>
    <globalAnnounceEnabled>false</globalAnnounceEnabled>
    <localAnnounceEnabled>false</localAnnounceEnabled>
    <relaysEnabled>false</relaysEnabled>
    <natEnabled>false</natEnabled>
    <urAccepted>-1</urAccepted>
    <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
    <crashReportingEnabled>false</crashReportingEnabled>
    <startBrowser>false</startBrowser>
  </options>
</configuration>
EOF
  }
  stconf a sendonly "$LA" "$GA"
  stconf b receiveonly "$LB" "$GB"
  syncthing serve --home="$W/st-a" --no-browser --logfile="$W/st-a.log" >/dev/null 2>&1 &
  SA=$!; PIDS+=($SA)
  syncthing serve --home="$W/st-b" --no-browser --logfile="$W/st-b.log" >/dev/null 2>&1 &
  SB=$!; PIDS+=($SB)
  api() { curl -fsS -H "X-API-Key: $APIKEY" "http://127.0.0.1:$1$2" "${@:3}"; }
  connected() { api "$GA" /rest/system/connections 2>/dev/null | grep -q '"connected": *true'; }
  waitfor 60 "the two Syncthing instances to connect" connected
  mv "$W/big.mp4" "$W/st-a/data/big.mp4"
  a0=$(cpu $SA); b0=$(cpu $SB)
  t0=$(now)
  api "$GA" "/rest/db/scan?folder=bench" -X POST >/dev/null
  arrived() {
    [ -f "$W/st-b/data/big.mp4" ] && [ "$(stat -c %s "$W/st-b/data/big.mp4")" = $((mb << 20)) ]
  }
  waitfor 3600 "Syncthing to deliver the file" arrived
  st_s=$(since "$t0")
  report "Syncthing (scan + sync)" "$st_s" "$(echo "$(cpu $SA) - $a0" | bc)" "$(echo "$(cpu $SB) - $b0" | bc)"
  [ "$(sha256sum "$W/st-b/data/big.mp4" | cut -d' ' -f1)" = "$want" ] ||
    { echo "bench-media: Syncthing's copy differs" >&2; exit 1; }
fi

# --- ratios ------------------------------------------------------------------------
echo
ratio() { # name
  local n=$1
  echo "$n vs rsync over ssh: rate $(echo "${R_S[rsync over ssh]} / ${R_S[$n]}" | bc -l | xargs printf '%.2f')x," \
    "CPU per GB (both ends) $(echo "(${R_CS[$n]} + ${R_CR[$n]}) / (${R_CS[rsync over ssh]} + ${R_CR[rsync over ssh]})" | bc -l | xargs printf '%.2f')x"
}
ratio "fieldtrail sync"
[ -n "${BENCH_SKIP_SYNCTHING:-}" ] || ratio "Syncthing (scan + sync)"
echo "goal: fieldtrail sync at least 1.5x the rsync-over-ssh rate with less CPU per GB (CPU ratio < 1)"
