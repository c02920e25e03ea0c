# lib.sh: helpers of the retention, bundle and archive tests (sourced, not a
# test). Builds on tests/media/lib.sh (and so tests/sync/lib.sh): scratch dir
# $T, free ports, PID-only cleanup, a hub with a media endpoint, edges with
# the archive key. Media go through the real ingest path (`fieldtrail-edge
# ingest`, small random files with JSON sidecars) and the real transfer.
#
# Times: records and captures are dated relative to the real clock (a day or
# two ago), and the retention job's clock is injected with --now as Unix
# milliseconds relative to the real clock (ms_at DAYS), so the tests do not
# age.

# shellcheck source=../media/lib.sh
. "$FT_SRC/tests/media/lib.sh"
# shellcheck disable=SC2034
VERIFY=$FT_BUILD/hub/fieldtrail-verify
[ -x "$VERIFY" ] || fail "$VERIFY is not built"

# ms_at DAYS: Unix ms of the real clock plus DAYS days (may be negative).
ms_at() {
  echo $((($(date +%s) + $1 * 86400) * 1000))
}
# day_at DAYS: the UTC date (YYYY-MM-DD) DAYS days from now.
day_at() {
  date -u -d "$1 day" +%Y-%m-%d
}

# clip NAME FILE RECORDER SIDECAR_JSON: ingests a small random file (with
# that sidecar) at edge NAME; prints its file ID.
clip() {
  local name=$1 file=$T/$2 rec=$3 side=$4 out
  head -c $((40000 + RANDOM)) /dev/urandom >"$file"
  printf '%s\n' "$side" >"$file.json"
  out=$("$EDGE" ingest "$file" --recorder "$rec" --state "$T/$name" --json 2>>"$T/ingest.log") ||
    fail "ingest of $2 failed: $(tail -n 3 "$T/ingest.log")"
  jget file_id <<<"$out"
}

# sync_all N EDGE...: runs the hub and the edges until the hub holds N
# complete media files and every edge's log, then stops them and brings the
# case index up to date.
sync_all() {
  local n=$1 e
  shift
  hub_start
  for e in "$@"; do
    edge_start "$e"
  done
  wait_complete "$n" 90
  wait_until 60 "every edge synced" all_synced "$@"
  for e in "$@"; do
    edge_stop "$e"
  done
  hub_stop
  "$HUB" evaluate --state "$T/hub" --now "$(ms_at 0)" >>"$T/evaluate.log" 2>&1 ||
    fail "evaluate failed: $(tail -n 3 "$T/evaluate.log")"
}

# has_media ID: the hub hands out media ID (its blob is there).
has_media() {
  "$HUB" media get "$1" --out "$T/got.bin" --state "$T/hub" >/dev/null 2>&1
  local rc=$?
  rm -f "$T/got.bin"
  return $rc
}

# verify_ok PATH: fieldtrail-verify accepts PATH.
verify_ok() {
  "$VERIFY" "$@" >"$T/verify.out" 2>&1 || fail "fieldtrail-verify refused $*: $(cat "$T/verify.out")"
  grep -q 'verdict: nothing altered, missing or added' "$T/verify.out" ||
    fail "no OK verdict for $*: $(cat "$T/verify.out")"
}

# verify_bad PATH WHAT ITEM: fieldtrail-verify exits 1 and names ITEM as WHAT.
verify_bad() {
  local path=$1 what=$2 item=$3
  rc_of "$VERIFY" "$path"
  "$VERIFY" "$path" >"$T/verify.out" 2>&1 || true
  [ "$RC" = 1 ] || fail "fieldtrail-verify exited $RC on a bundle with $what $item: $(cat "$T/verify.out")"
  grep -q "PROBLEMS FOUND" "$T/verify.out" || fail "no problem verdict: $(cat "$T/verify.out")"
  grep -E "^ *$what +[^ ]*$item" "$T/verify.out" >/dev/null ||
    fail "the verifier did not name $item as $what: $(cat "$T/verify.out")"
}

# refused REASON CMD...: CMD exits 1 and says REASON (a grep pattern).
refused() {
  local reason=$1 out
  shift
  RC=0
  out=$("$@" 2>&1) || RC=$?
  [ "$RC" = 1 ] || fail "not refused (exit $RC): $*: $out"
  grep -q -- "$reason" <<<"$out" || fail "refused without saying \"$reason\": $out"
}
