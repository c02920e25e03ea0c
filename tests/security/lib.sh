# lib.sh: helpers of the security tests (sourced, not a test). Builds on
# tests/sync/lib.sh (scratch directory, processes stopped by PID, hub and
# edge helpers): a hub on 127.0.0.1 with the alert PUB socket on, one real
# edge, and the figures the scripts print: the hub's descriptors and memory
# (/proc), the size of its store and of its log, how long a sync takes.

# shellcheck source=../sync/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../sync/lib.sh"
# shellcheck disable=SC2034
ATTACK=$FT_BUILD/tests/security/ft_attack
SUB=$FT_BUILD/tests/gaps/ft_sub
[ -x "$ATTACK" ] || fail "$ATTACK is not built"

# memory_bounds: sets KEEP_MIB, what a memory test lets stay in the hub after
# an attack. In the ASan tree the allocator keeps up to 256 MiB of freed
# blocks in its quarantine (to catch use after free), resident memory a test
# would count: a small quarantine keeps the figure about the hub's own memory
# (30 refused 16 MiB frames would still show as 480 MiB). Its shadow memory
# and redzones are not given back either: 32 MiB may stay there, 16 MiB
# otherwise (a plain build keeps about 1 MiB). Call before the hub starts.
memory_bounds() {
  KEEP_MIB=16
  if grep -q '^FT_SANITIZE:BOOL=ON' "$FT_BUILD/CMakeCache.txt" 2>/dev/null; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
    KEEP_MIB=32
  fi
}

# sec_hub_init: hub_init (tests/sync/lib.sh) plus the alert PUB socket on
# $PUB_PORT; one edge "car" enrolled and configured.
sec_hub_init() {
  hub_init
  PUB_PORT=$(free_port)
  hub_conf_try alerts.publish "tcp://127.0.0.1:$PUB_PORT"
  edge_new car
}

# hub_fds / hub_rss_kb / hub_nofile: descriptors open, resident memory (KiB),
# soft limit of descriptors of the running hub.
hub_fds() { find "/proc/$HUB_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
hub_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$HUB_PID/status"; }
hub_nofile() { awk '/^Max open files/ { print $4 }' "/proc/$HUB_PID/limits"; }
# store_bytes: bytes of the hub store's files (LMDB never shrinks them).
store_bytes() { du -sb "$T/hub/db" | cut -f1; }
log_bytes() { stat -c %s "$T/hub/hub.log"; }

# sync_time N START: imports N records into car (numbered from START) and
# prints the seconds until the hub holds them all (fails after 60 s).
sync_time() {
  local n=$1 from=$2 t0 t1 want
  want=$(($(edge_head car) + n))
  t0=$(date +%s.%N)
  edge_records car "$n" "$from"
  local start=$SECONDS
  until [ "$(hub_held car)" = "$want" ]; do
    [ $((SECONDS - start)) -lt $((60 * FT_SYNC_SLOW)) ] || fail "the edge did not sync $n records in 60 s"
    sleep 0.1
  done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}

# le A B: true if the decimal A <= B.
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# The dashboard and a logged-in user polling it (sec_web_on, poll_start,
# poll_stop, ...): tests/security/poller.sh.
# shellcheck source=poller.sh
source "$(dirname "${BASH_SOURCE[0]}")/poller.sh"

# sec_hub_start [ARGS...]: hub_start with the dashboard on a free port;
# sets URL (http://127.0.0.1:PORT) and HTTP_PORT.
sec_hub_start() {
  rm -f "$T/hub/web/url"
  hub_start --http 127.0.0.1:0 "$@"
  web_url_wait
}
