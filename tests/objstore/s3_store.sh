#!/usr/bin/env bash
# s3_store.sh: the hub's blob store on a real Ceph RGW (tests/objstore/rgw.sh),
# with a real edge and hub. FT_OBJ_SCENARIO picks one:
#   lands          a clip goes edge -> hub -> bucket under its content key (the
#                  blob ID, media list's "blob"), the object's bytes are the
#                  hub's, `media get` gives the original back (also after the
#                  local copies are gone: read from the bucket); a clip above
#                  media.s3_multipart_mb goes up in parts. The store itself
#                  refuses a PUT with a wrong x-amz-content-sha256 or
#                  Content-MD5.
#   down_then_back the store is down while two clips arrive: both queue (status
#                  says so), no receipt reaches the edge (so it may prune
#                  nothing); the store comes back: both land, then the receipts
#                  come and the edge prunes.
#   refused        a queued blob's local copy is altered before the store is
#                  back: the store refuses the PUT (BadDigest), the hub reports
#                  it (log and status), nothing is confirmed, no receipt.
# Skips (77) only when RGW cannot be started here, saying why.
set -euo pipefail
. "$FT_SRC/tests/media/lib.sh"
. "$FT_SRC/tests/objstore/rgw.sh"

S3=$FT_BUILD/tests/objstore/ft_s3
scenario=${FT_OBJ_SCENARIO:?FT_OBJ_SCENARIO is not set}

rc=0
rgw_start "$T/rgw" || rc=$?
if [ "$rc" = 77 ]; then
  trap - EXIT
  rm -rf "$T"
  echo "SKIP: $TEST_NAME: Ceph RGW cannot be started here (see above)"
  exit 77
fi
[ "$rc" = 0 ] || fail "Ceph RGW did not start (logs in $T/rgw/log)"
PIDS+=("${RGW_PIDS[@]}")
export FT_S3_ENDPOINT=$RGW_ENDPOINT FT_S3_BUCKET=county-a FT_S3_REGION=$RGW_REGION
export FT_S3_ACCESS_KEY=$RGW_ACCESS_KEY FT_S3_SECRET_KEY=$RGW_SECRET_KEY
"$S3" mkbucket lock || fail "cannot create the bucket"

media_hub_init
{
  echo "media.store = s3"
  echo "media.s3_endpoint = $RGW_ENDPOINT"
  echo "media.s3_bucket = county-a"
  echo "media.s3_region = $RGW_REGION"
  echo "media.s3_access_key = $RGW_ACCESS_KEY"
  echo "media.s3_secret_key = $RGW_SECRET_KEY"
  echo "media.s3_multipart_mb = 8"
  echo "media.s3_part_mb = 5"
  echo "media.s3_lock_days = 3"
} >>"$T/hub/hub.conf"
media_edge_new car1

# blob_of NAME: the blob ID (content key) of clip NAME at the hub.
blob_of() {
  hub_media_json | grep "\"name\":\"$1\"" | jget blob
}
# pruned_count: signed receipts the edge received and stored (each lets it
# prune that clip).
pruned_count() {
  grep -c "signed receipt stored" "$T/car1/run.log" || true
}
status_json() {
  "$HUB" status --state "$T/hub" --json 2>/dev/null || true
}

case $scenario in
lands)
  # The store checks the digests it is sent.
  head -c 100000 /dev/urandom >"$T/x.bin"
  rc_of "$S3" put probe "$T/x.bin" badsha
  [ "$RC" = 1 ] || fail "a PUT with a wrong x-amz-content-sha256 was not refused"
  rc_of "$S3" put probe "$T/x.bin" badmd5
  [ "$RC" = 1 ] || fail "a PUT with a wrong Content-MD5 was not refused"
  rc_of "$S3" head probe
  [ "$RC" = 3 ] || fail "a refused PUT left an object"
  "$S3" put probe "$T/x.bin" || fail "a PUT with the right digests was refused"
  echo "the store refuses wrong digests and takes right ones"

  head -c $((1 << 20)) /dev/urandom >"$T/small.mp4"
  head -c $((13 << 20)) /dev/urandom >"$T/big.mp4"
  "$EDGE" ingest "$T/small.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest small"
  "$EDGE" ingest "$T/big.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest big"
  hub_start
  edge_start car1
  wait_complete 2 120
  pruned2() { [ "$(pruned_count)" -ge 2 ]; }
  wait_until 60 "the edge pruned both clips after the store confirmed them" pruned2
  for f in small big; do
    blob=$(blob_of "$f.mp4")
    [ -n "$blob" ] || fail "no blob ID for $f.mp4"
    size=$("$S3" head "media/$blob") || fail "$f.mp4 is not in the bucket under media/$blob"
    "$S3" get "media/$blob" "$T/obj.bin" || fail "cannot get media/$blob"
    local_copy=$T/hub/blobs/s3/cache/$blob
    [ -f "$local_copy" ] || fail "no local copy of $blob in the read cache"
    cmp -s "$T/obj.bin" "$local_copy" || fail "the bucket's object differs from the hub's blob"
    "$S3" retention "media/$blob" | grepq COMPLIANCE || fail "$f.mp4 has no COMPLIANCE retention"
    id=$(hub_media_json | grep "\"name\":\"$f.mp4\"" | jget file_id)
    check_identical "$(sha256sum "$T/$f.mp4" | cut -d' ' -f1)" "$id"
    echo "$f.mp4: in the bucket as media/$blob ($size bytes), Object Lock COMPLIANCE, identical"
  done
  grepq "stored in the bucket" <"$T/hub/hub.log" || fail "the hub did not log the uploads"
  # Retention classes and legal holds become Object Lock: a hold on small.mp4
  # sets its legal hold; the retention job extends COMPLIANCE retention to the
  # daily class's end (730 days, beyond media.s3_lock_days = 3).
  small_id=$(hub_media_json | grep '"name":"small.mp4"' | jget file_id)
  "$HUB" hold add --media "$small_id" --reason other --details "objstore test" --by tester \
    --state "$T/hub" >/dev/null 2>>"$T/hold.log" || fail "hold add: $(cat "$T/hold.log")"
  "$HUB" retention --by tester --state "$T/hub" >"$T/retention.out" 2>&1 ||
    fail "retention run failed: $(tail -3 "$T/retention.out")"
  blob=$(blob_of small.mp4)
  "$S3" legalhold "media/$blob" | grepq "<Status>ON</Status>" ||
    fail "the held clip has no legal hold in the bucket: $("$S3" legalhold "media/$blob" 2>&1)"
  until_year=$("$S3" retention "media/$blob" | grep -o '<RetainUntilDate>[0-9]*' | grep -o '[0-9]*$')
  [ "$until_year" -ge $(($(date -u +%Y) + 1)) ] ||
    fail "COMPLIANCE retention not extended to the class's end (until $until_year)"
  blob=$(blob_of big.mp4)
  "$S3" legalhold "media/$blob" | grepq "<Status>ON</Status>" && fail "an unheld clip got a legal hold"
  echo "legal hold and retention class mapped to Object Lock (small.mp4 held, retained until $until_year)"
  # Read from the bucket alone: the local copies gone.
  rm -f "$T/hub/blobs/s3/cache/"*
  id=$(hub_media_json | grep '"name":"big.mp4"' | jget file_id)
  check_identical "$(sha256sum "$T/big.mp4" | cut -d' ' -f1)" "$id"
  echo "big.mp4 read back from the bucket alone: identical"
  ;;
down_then_back)
  hub_start
  rgw_down
  echo "the object store is down"
  head -c $((2 << 20)) /dev/urandom >"$T/a.mp4"
  head -c $((3 << 20)) /dev/urandom >"$T/b.mp4"
  "$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest a"
  "$EDGE" ingest "$T/b.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest b"
  edge_start car1
  queued2() { [ "$(status_json | grep -o '"queued":[0-9]*' | cut -d: -f2)" = 2 ]; }
  wait_until 90 "both blobs queued for the object store" queued2
  sleep 3
  [ "$(hub_complete_count)" = 0 ] || fail "a file was receipted before the store confirmed it"
  [ "$(pruned_count)" = 0 ] || fail "the edge pruned before the store confirmed the write"
  "$HUB" status --state "$T/hub" | grepq "object store: waiting; 2 blobs queued" ||
    fail "status does not show the queue: $("$HUB" status --state "$T/hub" | grep -i object)"
  echo "store down: 2 blobs queued, no receipt, nothing pruned"
  rgw_up || fail "radosgw did not come back"
  PIDS+=("$RGW_GW_PID")
  echo "the object store is back"
  wait_complete 2 120
  pruned2() { [ "$(pruned_count)" -ge 2 ]; }
  wait_until 60 "the edge pruned both clips" pruned2
  for f in a b; do
    blob=$(blob_of "$f.mp4")
    "$S3" head "media/$blob" >/dev/null || fail "$f.mp4 is not in the bucket"
    id=$(hub_media_json | grep "\"name\":\"$f.mp4\"" | jget file_id)
    check_identical "$(sha256sum "$T/$f.mp4" | cut -d' ' -f1)" "$id"
  done
  status_json | grepq '"queued":0' || fail "the queue did not empty"
  echo "store back: both in the bucket, then receipted and pruned; nothing lost"
  ;;
refused)
  hub_start
  rgw_down
  head -c $((2 << 20)) /dev/urandom >"$T/a.mp4"
  "$EDGE" ingest "$T/a.mp4" --recorder R1 --state "$T/car1" >/dev/null 2>&1 || fail "ingest a"
  edge_start car1
  queued1() { [ "$(status_json | grep -o '"queued":[0-9]*' | cut -d: -f2)" = 1 ]; }
  wait_until 90 "the blob queued for the object store" queued1
  blob=$(blob_of a.mp4)
  spool=$(find "$T/hub/blobs/objects" -name "$blob" -type f)
  [ -n "$spool" ] || fail "no spooled copy of $blob"
  chmod u+w "$spool"
  printf 'X' | dd of="$spool" bs=1 seek=1000 conv=notrunc status=none
  echo "the spooled copy of $blob was altered while the store was down"
  rgw_up || fail "radosgw did not come back"
  PIDS+=("$RGW_GW_PID")
  refused() { grep -q "object store refused" "$T/hub/hub.log"; }
  wait_until 60 "the hub reports the refusal" refused
  grepq "BadDigest\|XAmzContentSHA256Mismatch" <"$T/hub/hub.log" || fail "the store's reason is not reported"
  status_json | grepq '"refused":[1-9]' || fail "status does not count the refusal"
  rc_of "$S3" head "media/$blob"
  [ "$RC" = 3 ] || fail "the altered blob is in the bucket"
  [ "$(hub_complete_count)" = 0 ] || fail "a refused blob was receipted"
  [ "$(pruned_count)" = 0 ] || fail "the edge pruned a clip the store refused"
  echo "altered spool copy: refused by the store ($(grep -o 'BadDigest\|XAmzContentSHA256Mismatch' "$T/hub/hub.log" | sed -n 1p)), reported, no receipt, edge keeps it"
  ;;
*) fail "unknown scenario $scenario" ;;
esac
