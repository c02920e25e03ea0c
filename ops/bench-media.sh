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
#
# The legs run BENCH_ROUNDS times (3 by default), each round in another
# order, after BENCH_WARMUP rounds (1) that are printed but not counted: on a
# virtual machine, the first writes into memory the guest has not touched
# yet, or a leg that runs right after another one's files were deleted (the
# page cache warm), moved a leg's time by up to half. Each round is printed;
# the summary takes each leg's median, and the ratios come with their range
# over the counted rounds.
#   FT_BUILD=build ops/bench-media.sh          BENCH_MB=1024, BENCH_ROUNDS=3
#   BENCH_SKIP_SYNCTHING=1                     leaves out the Syncthing leg
#   BENCH_PROFILE=DIR                          records the hub and the edge with
#                                              `perf record -g` during the counted
#                                              fieldtrail legs and prints where
#                                              their CPU time goes (DIR keeps the
#                                              perf.data files)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
FT_BUILD=${FT_BUILD:-$root/build}
BENCH_MB=${BENCH_MB:-1024}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_WARMUP=${BENCH_WARMUP:-1}
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
  rm -f "/dev/shm/ft-bench-warm.$$"
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
# forget PID...: those processes were ended and reaped; cleanup leaves them.
forget() {
  local p keep=()
  for p in "${PIDS[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
now() { date +%s.%N; }
# warm: writes twice the file's size into /dev/shm and frees it, right before
# a leg's timed part. A virtual machine that hands freed memory back to its
# host (virtio-balloon free page reporting) makes the next first touch of it
# slow: without this, whichever leg wrote into such memory lost up to half
# its speed in the kernel's page-cache copy (seen in perf), and the order of
# the legs decided the result. Every leg gets the same warm start.
warm() {
  [ -d /dev/shm ] || return 0
  dd if=/dev/zero of="/dev/shm/ft-bench-warm.$$" bs=1M count=$((2 * BENCH_MB)) status=none 2>/dev/null || true
  rm -f "/dev/shm/ft-bench-warm.$$"
}
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
for ((i = 0; i < (mb + 15) / 16; i++)); do printf 'blk%08d' "$i"; cat "$W/block"; done >"$W/big.mp4"
truncate -s $((mb << 20)) "$W/big.mp4" # not `| head -c`: SIGPIPE under pipefail
rm -f "$W/block"
want=$(sha256sum "$W/big.mp4" | cut -d' ' -f1)
sync
echo "machine: $(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
FMT='%-28s %8s %10s %14s %14s\n'
printf "$FMT" "" "seconds" "MB/s" "CPU sender s" "CPU receiver s"
row() { # name seconds cpu_sender cpu_receiver ("-": none)
  local r=$4
  [ "$r" = - ] || r=$(printf '%.2f' "$r")
  printf '%-28s %8.1f %10.1f %14.2f %14s\n' "$1" "$2" "$(echo "$mb * 1.048576 / $2" | bc -l)" \
    "$3" "$r"
}
# Per leg, one line per counted round: "seconds cpu_sender cpu_receiver";
# note NAME S CS CR prints a round's figures and keeps them if it counts.
declare -A RES
COUNTED=1
note() {
  [ "$COUNTED" = 1 ] && RES[$1]+="$2 $3 $4"$'\n'
  row "$@"
}

# --- fieldtrail: set up once, the edge ingests the file (timed apart) ----------
P=$(free_port); MP=$(free_port); DP=$(free_port)
F0=$W/ft0
"$HUB" init --state "$F0/hub" --listen "tcp://127.0.0.1:$P" --advertise 127.0.0.1 --json >"$W/init.json"
{
  echo "media.listen = tcp://127.0.0.1:$MP"
  echo "media.data_listen = tcp://127.0.0.1:$DP"
  echo "http = off"
  echo "alerts.publish = tcp://127.0.0.1:$(free_port)"
} >>"$F0/hub/hub.conf"
KEY=$(grep -o '"hub_key":"[0-9a-f]*"' "$W/init.json" | cut -d'"' -f4)
AK=$(awk -F' *= *' '$1 == "archive_public" {print $2}' "$F0/hub/hub.pub")
"$EDGE" init --state "$F0/edge" --unit U --vehicle V --hub "tcp://127.0.0.1:$P" --hub-key "$KEY" \
  --archive-key "$AK" >/dev/null
echo "media.hub = tcp://127.0.0.1:$MP" >>"$F0/edge/edge.conf"
"$HUB" enroll "$F0/edge/device.pub" --unit U --vehicle V --state "$F0/hub" >/dev/null
t0=$(now)
/usr/bin/time -f '%U %S' -o "$W/ingest.cpu" "$EDGE" ingest "$W/big.mp4" --recorder R \
  --state "$F0/edge" >/dev/null 2>"$W/ingest.log" || { cat "$W/ingest.log" >&2; exit 1; }
ingest_s=$(since "$t0")
ingest_cpu=$(awk '{print $1 + $2}' "$W/ingest.cpu")
sync
row "fieldtrail ingest (edge)" "$ingest_s" "$ingest_cpu" "-"

# leg_fieldtrail: a copy of the ingested pair; edge -> hub sync until the hub
# has verified, checked and stored the file and signed the receipt.
leg_fieldtrail() {
  local F=$W/ft HP EP hub0 t0 s cs cr id
  rm -rf "$F"
  cp -a "$F0" "$F"
  sync
  warm
  "$HUB" run --state "$F/hub" 2>"$F/hub.log" &
  HP=$!; PIDS+=($HP)
  waitfor 30 "the hub to listen" grep -q "pulling chunks" "$F/hub.log"
  hub0=$(cpu $HP)
  t0=$(now)
  "$EDGE" run --state "$F/edge" 2>"$F/edge.log" &
  EP=$!; PIDS+=($EP)
  local perfs=()
  if [ -n "${BENCH_PROFILE:-}" ] && [ "$COUNTED" = 1 ]; then
    mkdir -p "$BENCH_PROFILE"
    perf record -q -F 499 -g -o "$BENCH_PROFILE/hub.perf" -p "$HP" 2>/dev/null &
    perfs+=($!)
    perf record -q -F 499 -g -o "$BENCH_PROFILE/edge.perf" -p "$EP" 2>/dev/null &
    perfs+=($!)
  fi
  # The end is the hub's log line for the completed file (written after the
  # receipt is committed): polling `media list` ten times a second would
  # cost the two cores about a third of a CPU-second per second.
  waitfor 3600 "the hub to hold the file" grep -q "media: file [0-9a-f]* complete:" "$F/hub.log"
  s=$(since "$t0")
  cs=$(cpu $EP)
  cr=$(echo "$(cpu $HP) - $hub0" | bc)
  if [ ${#perfs[@]} -gt 0 ]; then
    kill -INT "${perfs[@]}" 2>/dev/null || true
    wait "${perfs[@]}" 2>/dev/null || true
  fi
  note "fieldtrail sync" "$s" "$cs" "$cr"
  id=$("$HUB" media list --state "$F/hub" --json | grep '"state":"complete"' |
    grep -o '"file_id":"[0-9a-f]*"' | cut -d'"' -f4)
  [ -n "$id" ] || { echo "bench-media: the hub logged the file complete but does not list it so" >&2; exit 1; }
  "$HUB" media get "$id" --out "$W/ft-got" --state "$F/hub" >/dev/null 2>&1
  [ "$(sha256sum "$W/ft-got" | cut -d' ' -f1)" = "$want" ] ||
    { echo "bench-media: fieldtrail's copy differs" >&2; exit 1; }
  rm -f "$W/ft-got"
  kill $EP $HP; wait $EP $HP 2>/dev/null || true
  forget $EP $HP
  rm -rf "$F"
}

# --- rsync over ssh: an sshd of its own on 127.0.0.1 -----------------------------
SP=$(free_port)
mkdir -p "$W/ssh"
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

# leg_rsync: rsync over ssh into an empty directory, then sync(1). Logging in
# runs the remote account's shell start-up files, which can cost seconds on
# a developer's machine: timed apart and taken off rsync's time, so the
# comparison is with rsync at its best.
leg_rsync() {
  local t0 login_s login_cpu s0 s cr
  rm -rf "$W/rsync-dst"
  mkdir -p "$W/rsync-dst"
  sync
  warm
  s0=$(cpu $SSHD)
  t0=$(now)
  $ssh_opts 127.0.0.1 true
  login_s=$(since "$t0")
  sleep 1 # sshd reaps the login's session
  # The login's CPU at the sshd end (the shell's start-up files run again
  # for rsync's session): taken off rsync's receiver CPU, like its time.
  login_cpu=$(echo "$(cpu $SSHD) - $s0" | bc)
  s0=$(cpu $SSHD)
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$W/rsync.cpu" rsync -a -e "$ssh_opts" "$W/big.mp4" "127.0.0.1:$W/rsync-dst/"
  sync
  s=$(echo "$(since "$t0") - $login_s" | bc)
  cr=$(echo "$(cpu $SSHD) - $s0 - $login_cpu" | bc)
  note "rsync over ssh" "$s" "$(awk '{print $1 + $2}' "$W/rsync.cpu")" "$cr"
  printf '%-28s %8.1f %25s %14.2f   (taken off rsync above)\n' "  ssh login (shell start-up)" \
    "$login_s" "" "$login_cpu"
  [ "$(sha256sum "$W/rsync-dst/big.mp4" | cut -d' ' -f1)" = "$want" ] ||
    { echo "bench-media: rsync's copy differs" >&2; exit 1; }
  rm -rf "$W/rsync-dst"
}

# --- Syncthing: two fresh instances on 127.0.0.1 per round ------------------------
export STNOUPGRADE=1 STNORESTART=1
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
leg_syncthing() {
  local side SA SB a0 b0 t0 s cs cr
  rm -rf "$W/st-a" "$W/st-b"
  for side in a b; do
    syncthing generate --home="$W/st-$side" --no-default-folder --skip-port-probing >/dev/null 2>&1
    mkdir -p "$W/st-$side/data"
  done
  IDA=$(syncthing serve --home="$W/st-a" --device-id 2>/dev/null)
  IDB=$(syncthing serve --home="$W/st-b" --device-id 2>/dev/null)
  LA=$(free_port); LB=$(free_port); GA=$(free_port); GB=$(free_port)
  stconf a sendonly "$LA" "$GA"
  stconf b receiveonly "$LB" "$GB"
  syncthing serve --home="$W/st-a" --no-browser --logfile="$W/st-a.log" >/dev/null 2>&1 &
  SA=$!; PIDS+=($SA)
  syncthing serve --home="$W/st-b" --no-browser --logfile="$W/st-b.log" >/dev/null 2>&1 &
  SB=$!; PIDS+=($SB)
  api() { curl -fsS -H "X-API-Key: $APIKEY" "http://127.0.0.1:$1$2" "${@:3}"; }
  connected() { local c; c=$(api "$GA" /rest/system/connections 2>/dev/null) && grep -q '"connected": *true' <<<"$c"; }
  waitfor 60 "the two Syncthing instances to connect" connected
  ln "$W/big.mp4" "$W/st-a/data/big.mp4" 2>/dev/null || cp "$W/big.mp4" "$W/st-a/data/big.mp4"
  sync
  warm
  a0=$(cpu $SA); b0=$(cpu $SB)
  t0=$(now)
  api "$GA" "/rest/db/scan?folder=bench" -X POST >/dev/null
  arrived() {
    [ -f "$W/st-b/data/big.mp4" ] && [ "$(stat -c %s "$W/st-b/data/big.mp4")" = $((mb << 20)) ]
  }
  waitfor 3600 "Syncthing to deliver the file" arrived
  s=$(since "$t0")
  cs=$(echo "$(cpu $SA) - $a0" | bc); cr=$(echo "$(cpu $SB) - $b0" | bc)
  note "Syncthing (scan + sync)" "$s" "$cs" "$cr"
  [ "$(sha256sum "$W/st-b/data/big.mp4" | cut -d' ' -f1)" = "$want" ] ||
    { echo "bench-media: Syncthing's copy differs" >&2; exit 1; }
  kill $SA $SB; wait $SA $SB 2>/dev/null || true
  forget $SA $SB
  rm -rf "$W/st-a" "$W/st-b"
}

LEGS=(fieldtrail rsync)
[ -n "${BENCH_SKIP_SYNCTHING:-}" ] || LEGS+=(syncthing)
for ((r = -BENCH_WARMUP; r < BENCH_ROUNDS; r++)); do
  if ((r < 0)); then
    COUNTED=0
    echo "warm-up round (not counted)"
  else
    COUNTED=1
    echo "round $((r + 1)) of $BENCH_ROUNDS"
  fi
  for ((k = 0; k < ${#LEGS[@]}; k++)); do
    "leg_${LEGS[((r % ${#LEGS[@]}) + ${#LEGS[@]} + k) % ${#LEGS[@]}]}"
  done
done

# --- summary: each leg's median round, ratios with their range -----------------
# median NAME FIELD: the median of FIELD (1 seconds, 2 and 3 CPU) over rounds.
median() {
  printf '%s' "${RES[$1]}" | awk -v f="$2" 'NF {print $f}' | sort -g |
    awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo
echo "median of $BENCH_ROUNDS rounds:"
printf "$FMT" "" "seconds" "MB/s" "CPU sender s" "CPU receiver s"
row "fieldtrail ingest (edge)" "$ingest_s" "$ingest_cpu" "-"
for n in "fieldtrail sync" "rsync over ssh" "Syncthing (scan + sync)"; do
  [ -n "${RES[$n]:-}" ] || continue
  printf '%-28s %8.1f %10.1f %14.2f %14.2f\n' "$n" "$(median "$n" 1)" \
    "$(echo "$mb * 1.048576 / $(median "$n" 1)" | bc -l)" "$(median "$n" 2)" "$(median "$n" 3)"
done
echo
# ratio NAME: rate and CPU-per-GB ratios against rsync, from the medians, and
# the range of the same ratios taken round by round.
ratio() {
  local n=$1
  paste -d' ' <(printf '%s' "${RES[$n]}" | awk NF) <(printf '%s' "${RES[rsync over ssh]}" | awk NF) |
    awk -v name="$n" -v ms="$(median "$n" 1)" -v mc="$(echo "$(median "$n" 2) + $(median "$n" 3)" | bc)" \
      -v rs="$(median "rsync over ssh" 1)" \
      -v rc="$(echo "$(median "rsync over ssh" 2) + $(median "rsync over ssh" 3)" | bc)" '
      { r = $4 / $1; c = ($2 + $3) / ($5 + $6)
        if (NR == 1 || r < rmin) rmin = r; if (NR == 1 || r > rmax) rmax = r
        if (NR == 1 || c < cmin) cmin = c; if (NR == 1 || c > cmax) cmax = c }
      END { printf "%s vs rsync over ssh: rate %.2fx (rounds %.2f-%.2f), CPU per GB (both ends) %.2fx (rounds %.2f-%.2f)\n",
              name, rs / ms, rmin, rmax, mc / rc, cmin, cmax }'
}
ratio "fieldtrail sync"
[ -n "${BENCH_SKIP_SYNCTHING:-}" ] || ratio "Syncthing (scan + sync)"
echo "goal: fieldtrail sync at least 2x the rsync-over-ssh rate with at most 0.5x its CPU per GB"
# Where the fieldtrail leg's CPU goes (the last counted round), by library
# and by function, for the hub and the edge.
if [ -n "${BENCH_PROFILE:-}" ]; then
  for side in hub edge; do
    f=$BENCH_PROFILE/$side.perf
    [ -s "$f" ] || continue
    echo
    echo "profile of the $side (perf record -g, last counted fieldtrail leg): by library"
    perf report -i "$f" --no-children --sort dso -g none 2>/dev/null | awk '!/^#/ && NF && n++ < 8'
    echo "by function (self)"
    perf report -i "$f" --no-children --sort dso,sym -g none 2>/dev/null | awk '!/^#/ && NF && n++ < 14'
  done
fi
