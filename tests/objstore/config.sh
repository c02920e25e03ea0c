#!/usr/bin/env bash
# config.sh: media.store = s3 settings are checked when any hub command
# starts: each bad one is refused (exit 1) naming hub.conf, its line and the
# reason, and nothing runs; the directory store stays the default; the
# secret key appears in no output and no log, also when the store cannot be
# reached and uploads fail.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"

media_hub_init
cp "$T/hub/hub.conf" "$T/base.conf"
SECRET="zz-secret-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# refused LINE_TEXT... : hub.conf = base + the lines; `devices` must fail
# naming the file and the line number of the last line.
refused() {
  local want=$1
  shift
  cp "$T/base.conf" "$T/hub/hub.conf"
  printf '%s\n' "$@" >>"$T/hub/hub.conf"
  local line
  line=$(grep -n "^${want%% *} " "$T/hub/hub.conf" | tail -1 | cut -d: -f1)
  rc_of "$HUB" devices --state "$T/hub"
  [ "$RC" = 1 ] || fail "hub.conf with \"$*\" was accepted (exit $RC)"
  "$HUB" devices --state "$T/hub" 2>"$T/err" >/dev/null || true
  grepq "hub.conf line $line: " <"$T/err" || fail "no file and line $line in: $(cat "$T/err")"
  grepq "$SECRET" <"$T/err" && fail "the secret key was printed: $(cat "$T/err")"
  echo "refused at line $line: $(sed -n 1p "$T/err")"
}

good=("media.s3_endpoint = http://127.0.0.1:1" "media.s3_bucket = county-a"
  "media.s3_access_key = AK" "media.s3_secret_key = $SECRET")
refused "media.store" "media.store = ftp"
refused "media.store" "media.store = s3" "media.s3_endpoint = http://127.0.0.1:1"
refused "media.s3_endpoint" "media.store = s3" "${good[@]:1}" "media.s3_endpoint = 127.0.0.1:7480"
refused "media.s3_endpoint" "media.store = s3" "${good[@]:1}" "media.s3_endpoint = http://u:p@h/x"
refused "media.s3_bucket" "media.store = s3" "${good[@]}" "media.s3_bucket = Bad_Bucket"
refused "media.s3_part_mb" "media.store = s3" "${good[@]}" "media.s3_part_mb = 1"
refused "media.s3_lock_days" "media.store = s3" "${good[@]}" "media.s3_lock_days = soon"

# The default is the directory store: no s3/ area, no object store in status.
cp "$T/base.conf" "$T/hub/hub.conf"
"$HUB" devices --state "$T/hub" >/dev/null || fail "the default config was refused"

# A good config with an unreachable store: the hub runs, queues, and never
# logs the secret.
printf '%s\n' "media.store = s3" "${good[@]}" >>"$T/hub/hub.conf"
media_edge_new car1
head -c 50000 /dev/urandom >"$T/a.mp4"
"$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest"
hub_start --log-level debug
edge_start car1
queued() { "$HUB" status --state "$T/hub" | grepq "object store: waiting; 1 blobs queued"; }
wait_until 60 "the blob queued for an unreachable store" queued
"$HUB" status --state "$T/hub" --json | grepq '"last_error":"blob [0-9a-f]*: no answer from the object store' ||
  fail "status does not say why: $("$HUB" status --state "$T/hub" --json)"
[ "$(hub_complete_count)" = 0 ] || fail "receipted without the store"
hub_stop
if grep -rq "$SECRET" "$T/hub/hub.log" "$T/car1/run.log"; then
  fail "the secret key appears in a log"
fi
echo "unreachable store: queued, the reason in status, no receipt, no secret in the logs"
