#!/bin/bash
# FT_MEDIA_SCENARIO:
#   sidecar_halves  a clip whose sidecar is written in two halves with a 3 s
#                   pause (default settings): the clip waits for the whole
#                   sidecar, and its case, officer and times are in the
#                   manifest; a sidecar that stays broken is refused once and
#                   its clip taken without it.
#   failure_once    an unreadable file and a too-large file stay in the inbox
#                   for 60 s of `run` (with a restart in the middle): exactly
#                   one ingest_failed event each, `status` lists both with the
#                   reason, and a good file beside them is taken.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

SCENARIO=${FT_MEDIA_SCENARIO:-sidecar_halves}
media_hub_init
media_edge_new car1
IN=$T/car1/inbox/BC-5
mkdir -p "$IN"

case $SCENARIO in
sidecar_halves)
  sed -i '/^media.stable_ms/d; /^media.settle_ms/d' "$T/car1/edge.conf"
  echo "media.settle_ms = 8000" >>"$T/car1/edge.conf" # how long a broken sidecar holds its clip
  hub_start
  edge_start car1
  side='{"officer":"ZF-0107","case":"NDG-2026-031","cause":"非法占地","party":"某公司","start":"2026-03-02T09:30:00+08:00","end":"2026-03-02T09:40:00+08:00"}'
  half=$((${#side} / 2))
  head -c 500000 /dev/urandom >"$T/clip.mp4"
  printf '%s' "${side:0:$half}" >"$IN/clip.mp4.json"
  cp "$T/clip.mp4" "$IN/clip.mp4"
  sleep 3 # longer than media.stable_ms (2 s): the clip is complete, its sidecar is not
  "$EDGE" log --state "$T/car1" --json | grep -c '"kind":"media"' >"$T/n" || true
  [ "$(cat "$T/n")" = 0 ] || fail "the clip was taken before its sidecar was whole"
  printf '%s\n' "${side:$half}" >>"$IN/clip.mp4.json"
  wait_complete 1 60
  m=$(hub_media_json | grep '"name":"clip.mp4"')
  [ "$(jget case <<<"$m")" = NDG-2026-031 ] || fail "the case of the sidecar is not in the manifest: $m"
  [ "$(jget officer <<<"$m")" = ZF-0107 ] || fail "the officer of the sidecar is not in the manifest"
  [ "$(jget start <<<"$m")" = 2026-03-02T09:30:00+08:00 ] || fail "start not from the sidecar: $m"
  [ "$(jget end <<<"$m")" = 2026-03-02T09:40:00+08:00 ] || fail "end not from the sidecar: $m"
  [ "$(jget cause <<<"$m")" = 非法占地 ] || fail "cause not from the sidecar"
  [ "$(jget time_source <<<"$m")" = sidecar ] || fail "time source not the sidecar"
  wait_until 20 "the clip and its sidecar leave the inbox" test ! -e "$IN/clip.mp4.json"
  echo "a sidecar written in two halves held its clip back until it was whole"

  # A sidecar that never becomes whole holds its clip for media.settle_ms,
  # then is refused (once) and the clip is taken without it.
  head -c 300000 /dev/urandom >"$IN/lone.mp4"
  printf '{"case": "C-9", ' >"$IN/lone.mp4.json"
  wait_complete 2 60
  grepq "lone.mp4.json is not a complete JSON object" "$T/car1/run.log" ||
    fail "the broken sidecar was not named"
  sleep 2
  "$EDGE" log --state "$T/car1" --json >"$T/log.jsonl"
  [ "$(grep '"ingest_refused"' "$T/log.jsonl" | grep -c 'lone.mp4.json' || true)" = 1 ] ||
    fail "the broken sidecar was not refused exactly once"
  [ -e "$IN/lone.mp4.json" ] || fail "the refused sidecar was removed"
  echo "a sidecar that stayed broken was refused once and its clip taken without it"
  ;;
failure_once)
  # A file the edge cannot read: mode 000, and the edge runs without the
  # capabilities that let root read it anyway.
  head -c 200000 /dev/urandom >"$IN/locked.mp4"
  chmod 000 "$IN/locked.mp4"
  # A file larger than 30000 chunks of 64 KiB (sparse: nothing is written).
  echo "chunk_kb = 64" >>"$T/car1/edge.conf"
  truncate -s 3G "$IN/huge.mp4"
  head -c 100000 /dev/urandom >"$IN/good.mp4"
  touch -d '-5 sec' "$IN/locked.mp4" "$IN/huge.mp4" "$IN/good.mp4"
  run_edge() {
    if [ "$(id -u)" = 0 ]; then
      setpriv --inh-caps=-dac_override,-dac_read_search \
        --bounding-set=-dac_override,-dac_read_search \
        "$EDGE" run --state "$T/car1" 2>>"$T/car1/run.log" &
    else
      "$EDGE" run --state "$T/car1" 2>>"$T/car1/run.log" &
    fi
    EDGE_PID[car1]=$!
    PIDS+=("$!")
  }
  hub_start
  run_edge
  sleep 30
  edge_stop car1
  run_edge
  sleep 31
  edge_stop car1
  "$EDGE" log --state "$T/car1" --json >"$T/log.jsonl"
  n_locked=$(grep '"ingest_failed"' "$T/log.jsonl" | grep -c 'locked.mp4' || true)
  n_huge=$(grep '"ingest_failed"' "$T/log.jsonl" | grep -c 'huge.mp4' || true)
  [ "$n_locked" = 1 ] || fail "expected one ingest_failed event for the unreadable file, got $n_locked"
  [ "$n_huge" = 1 ] || fail "expected one ingest_failed event for the too-large file, got $n_huge"
  grep '"ingest_failed"' "$T/log.jsonl" | grep 'locked.mp4' | grepq "ermission denied" ||
    fail "the event does not say the file cannot be read"
  grep '"ingest_failed"' "$T/log.jsonl" | grep 'huge.mp4' | grepq "too large" ||
    fail "the event does not say the file is too large"
  [ "$(grep -c 'huge.mp4 cannot be ingested' "$T/car1/run.log")" = 1 ] ||
    fail "the failure was logged more than once"
  "$EDGE" status --state "$T/car1" >"$T/status.txt"
  grep FAILED "$T/status.txt" | grepq "locked.mp4: it cannot be opened: Permission denied" ||
    fail "status does not list the unreadable file: $(cat "$T/status.txt")"
  grep FAILED "$T/status.txt" | grepq "huge.mp4: it is too large" ||
    fail "status does not list the too-large file"
  [ -e "$IN/locked.mp4" ] && [ -e "$IN/huge.mp4" ] || fail "a failed file left the inbox"
  [ ! -e "$IN/good.mp4" ] || fail "the good file beside them was not taken"
  echo "one ingest_failed event each over 60 s and a restart"
  ;;
*) fail "unknown scenario $SCENARIO" ;;
esac
