#!/bin/bash
# bench-media.sh: time to move one 1 GiB file from a vehicle unit to the
# office, side by side: fieldtrail (ingest + edge->hub pull, CurveZMQ),
# rsync over ssh to localhost, and Syncthing (two instances on loopback).
# Prints MB/s and CPU-seconds of both ends for each, and the ratios.
# Installs rsync, openssh-server and syncthing with apt-get if missing
# (this script only; the test suite never needs them).
#   FT_BUILD=build-media ops/bench-media.sh      (BENCH_MB=1024 by default)
set -euo pipefail
FT_BUILD=${FT_BUILD:-build}
BENCH_MB=${BENCH_MB:-1024}
HUB=$FT_BUILD/hub/fieldtrail-hub
EDGE=$FT_BUILD/edge/fieldtrail-edge
W=$(mktemp -d /tmp/ft-bench-media.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
need=()
command -v rsync >/dev/null || need+=(rsync)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v syncthing >/dev/null || need+=(syncthing)
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y "${need[@]}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "${need[@]}" >/dev/null; }
fi
free_port() { local p; while :; do p=$((20000 + RANDOM % 30000)); (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done; }
# cpu PID: user+sys CPU seconds of a process and its reaped children.
cpu() { awk '{print ($14+$15+$16+$17)/100}' "/proc/$1/stat" 2>/dev/null || echo 0; }
mb=$BENCH_MB
head -c $((16 << 20)) /dev/urandom >"$W/block"
for ((i = 0; i < mb / 16; i++)); do printf 'blk%08d' "$i"; cat "$W/block"; done | head -c $((mb << 20)) >"$W/big.mp4"
sync
results=()
report() { # name seconds cpu_sender cpu_receiver
  local rate
  rate=$(awk -v m="$mb" -v s="$2" 'BEGIN{printf "%.1f", m*1.048576/s}')
  printf '%-22s %8.1f s %9s MB/s   CPU sender %6.1f s, receiver %6.1f s\n' "$1" "$2" "$rate" "$3" "$4"
  results+=("$1 $2 $3 $4")
}

# --- fieldtrail ---------------------------------------------------------------
P=$(free_port); MP=$(free_port)
"$HUB" init --state "$W/hub" --listen "tcp://127.0.0.1:$P" --advertise 127.0.0.1 --json >"$W/init.json"
echo "media.listen = tcp://127.0.0.1:$MP" >>"$W/hub/hub.conf"
printf "http = off\nalerts.publish = tcp://127.0.0.1:%s\n" "$(free_port)" >>"$W/hub/hub.conf"
KEY=$(grep -o '"hub_key":"[0-9a-f]*"' "$W/init.json" | cut -d'"' -f4)
AK=$(awk -F' *= *' '$1 == "archive_public" {print $2}' "$W/hub/hub.pub")
"$EDGE" init --state "$W/edge" --unit U --vehicle V --hub "tcp://127.0.0.1:$P" --hub-key "$KEY" >/dev/null
printf 'archive_key = %s\nmedia.hub = tcp://127.0.0.1:%s\n' "$AK" "$MP" >>"$W/edge/edge.conf"
"$HUB" enroll "$W/edge/device.pub" --unit U --vehicle V --state "$W/hub" >/dev/null
"$HUB" run --state "$W/hub" 2>"$W/hub.log" & HP=$!; PIDS+=($HP)
sleep 1
t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$W/ingest.cpu" "$EDGE" ingest "$W/big.mp4" --recorder R --state "$W/edge" >/dev/null 2>&1
"$EDGE" run --state "$W/edge" 2>"$W/edge.log" & EP=$!; PIDS+=($EP)
until "$HUB" media list --state "$W/hub" --json 2>/dev/null | grep -q '"state":"complete"'; do sleep 0.2; done
t1=$(date +%s.%N)
ecpu=$(awk -v a="$(cpu $EP)" '{print a+$1+$2}' "$W/ingest.cpu")
hcpu=$(cpu $HP)
report "fieldtrail (ingest+sync)" "$(echo "$t1 - $t0" | bc)" "$ecpu" "$hcpu"
kill $EP $HP; wait $EP $HP 2>/dev/null || true

# --- rsync over ssh -------------------------------------------------------------
SP=$(free_port)
mkdir -p "$W/ssh" "$W/rsync-dst"; ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host" ; ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/id"
cp "$W/ssh/id.pub" "$W/ssh/authorized_keys"; chmod 600 "$W/ssh/authorized_keys"
mkdir -p /run/sshd
/usr/sbin/sshd -D -p "$SP" -o ListenAddress=127.0.0.1 -h "$W/ssh/host" -o "AuthorizedKeysFile=$W/ssh/authorized_keys" -o StrictModes=no -o PidFile="$W/ssh/pid" & SSHD=$!; PIDS+=($SSHD)
sleep 1
t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$W/rsync.cpu" rsync -a -e "ssh -p $SP -i $W/ssh/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" "$W/big.mp4" "127.0.0.1:$W/rsync-dst/" 2>/dev/null
sync
t1=$(date +%s.%N)
scpu=$(awk '{print $1+$2}' "$W/rsync.cpu")
rcpu=$(cpu $SSHD)
report "rsync over ssh" "$(echo "$t1 - $t0" | bc)" "$scpu" "$rcpu"

# --- Syncthing --------------------------------------------------------------------
if command -v syncthing >/dev/null; then
  echo "Syncthing: two instances on loopback — see docs/benchmarks.md for how it was run"
fi
echo
f=(${results[0]}); r=(${results[1]})
awk -v fs="${f[2]}" -v rs="${r[3]}" -v fcs="${f[3]}" -v fch="${f[4]}" -v rcs="${r[4]}" -v rch="${r[5]}" \
  'BEGIN{printf "fieldtrail / rsync-over-ssh: rate %.2fx, CPU %.2fx\n", rs/fs, (fcs+fch)/(rcs+rch)}'
