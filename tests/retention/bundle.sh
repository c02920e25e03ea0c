#!/usr/bin/env bash
# Case bundles and fieldtrail-verify, with real edges and a real hub: a case
# recorded by a vehicle (records and media) and an office workstation
# (approval, decision), with another case's records interleaved in the same
# logs. A fresh bundle (directory, tar, media sealed to a recipient) verifies;
# the verifier names the exact item when a record byte, a media byte, the
# signature or the file list is altered, or an item is removed or added. The
# export is audited in the hub log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

D=$(day_at -3)
U='"unit":"南大港产业园区自然资源所"'
media_hub_init
media_edge_new car1
media_edge_new office
cat >"$T/car1.jsonl" <<JSON
{"type":"inquiry","id":"b1-inq","case":"B-1",$U,"cause":"非法占用耕地建房","party":"张某","start":"${D}T09:00:00Z","end":"${D}T10:00:00Z","officers":["o1"],"fields":{"subject":"张某","transcript_no":"XW-B1-0001"}}
{"type":"patrol","id":"other-pat",$U,"start":"${D}T10:30:00Z","end":"${D}T11:00:00Z","officers":["o7"]}
{"type":"inquiry","id":"o1-inq","case":"OTHER-1",$U,"start":"${D}T11:00:00Z","end":"${D}T11:30:00Z","officers":["o7"],"fields":{"subject":"王某","transcript_no":"XW-O1-0001"}}
{"type":"site_inspection","id":"b1-insp","case":"B-1",$U,"start":"${D}T14:00:00Z","end":"${D}T15:00:00Z","officers":["o1"],"fields":{"record_no":"KC-B1-0001"}}
JSON
"$EDGE" import "$T/car1.jsonl" --state "$T/car1" >/dev/null || fail "import car1"
cat >"$T/office.jsonl" <<JSON
{"type":"leader_approval","id":"b1-la","case":"B-1",$U,"time":"${D}T16:00:00Z","fields":{"opinion":"同意","signer":"李局长"}}
{"type":"decision","id":"b1-dec","case":"B-1",$U,"time":"${D}T17:00:00Z","fields":{"decision_no":"JD-B1-0001","reasons":"违法占地"}}
JSON
"$EDGE" import "$T/office.jsonl" --state "$T/office" >/dev/null || fail "import office"
v1=$(clip car1 inq.mp4 R1 "{\"officer\":\"o1\",\"start\":\"${D}T09:00:00Z\",\"end\":\"${D}T09:55:00Z\"}")
v2=$(clip car1 insp.mp4 R1 "{\"officer\":\"o1\",\"case\":\"B-1\",\"start\":\"${D}T14:00:00Z\",\"end\":\"${D}T14:50:00Z\"}")
v3=$(clip car1 other.mp4 R2 "{\"officer\":\"o7\",\"case\":\"OTHER-1\",\"start\":\"${D}T11:00:00Z\",\"end\":\"${D}T11:20:00Z\"}")
sync_all 3 car1 office

# A fresh bundle verifies, as a directory and as a tar file.
"$HUB" export B-1 --out "$T/b1" --by clerk --state "$T/hub" --json >"$T/export.json" ||
  fail "export failed"
[ "$(jget records <"$T/export.json")" = 4 ] || fail "expected 4 records: $(cat "$T/export.json")"
[ "$(jget media_included <"$T/export.json")" = 2 ] || fail "expected 2 media: $(cat "$T/export.json")"
[ "$(jget devices <"$T/export.json")" = 2 ] || fail "expected 2 devices: $(cat "$T/export.json")"
audit1=$(jget audit_hublog_seq <"$T/export.json")
[ "$audit1" -gt 0 ] || fail "the export was not audited"
verify_ok "$T/b1"
grep -q "OK: case B-1" "$T/verify.out" || fail "no case verdict: $(cat "$T/verify.out")"
grep -q "4 records, 2 media files checked" "$T/verify.out" || fail "counts: $(cat "$T/verify.out")"
ls "$T/b1/media" | grepq "$v1" || fail "the clip linked to the inquiry is missing"
ls "$T/b1/media" | grepq "$v3" && fail "another case's clip is in the bundle"
cmp -s "$T/b1/media/$v2.mp4" "$T/insp.mp4" || fail "the decrypted clip differs from the original"
grep -q "XW-O1-0001" "$T/b1/records.jsonl" && fail "another case's record is listed"
grep -q "非法占用耕地建房" "$T/b1/index.html" || fail "index.html lacks the case"
grep -q "核验方法" "$T/b1/README.txt" && grep -q "HOW TO VERIFY" "$T/b1/README.txt" || fail "README"
"$VERIFY" --json "$T/b1" | grepq '"ok":true' || fail "--json verdict"
# The hub signed every event of the case's alert history (alerts.json): the
# extract's alert entries (one AlertEvents entry per evaluation batch, taken
# whole) hold exactly as many events of the case.
hist=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["history"]))' "$T/b1/alerts.json")
signed=$("$VERIFY" --json "$T/b1" | grep -o '"hub_alert_events":[0-9]*' | grep -o '[0-9]*$')
[ "$hist" -gt 0 ] || fail "the case has no alert history: the check below proves nothing"
[ "$signed" = "$hist" ] ||
  fail "the hub-log extract holds $signed alert events of the case, alerts.json $hist"
hubpk=$(awk -F' *= *' '$1 == "sign_public" {print $2}' "$T/hub/hub.pub")
verify_ok --hub-key "$hubpk" "$T/b1"
rc_of "$VERIFY" --hub-key "$(printf '%064d' 0)" "$T/b1"
[ "$RC" = 1 ] || fail "a bundle passed with another hub key pinned"
"$HUB" export B-1 --out "$T/b1.tar" --by clerk --state "$T/hub" >/dev/null || fail "tar export failed"
verify_ok "$T/b1.tar"
# The second export carries the first one's audit entry (signed by the hub).
"$HUB" export B-1 --out "$T/b1again" --by clerk --state "$T/hub" >/dev/null
"$VERIFY" --json "$T/b1again" | grepq '"hub_entries":[1-9]' || fail "no audit entry in the bundle"
rc_of "$HUB" export B-1 --out "$T/b1" --state "$T/hub"
[ "$RC" = 1 ] || fail "an export overwrote an existing bundle"
rc_of "$VERIFY"
[ "$RC" = 2 ] || fail "no usage error without a bundle"
echo "fresh bundles verify (directory, tar, pinned hub key); exports audited; never overwritten"

# Media sealed to a recipient: verifiable without the key (ciphertext against
# the chunk hashes and Merkle root), and with it (content).
"$HUB" init --state "$T/recip" --listen tcp://127.0.0.1:1 >/dev/null
rpk=$(awk -F' *= *' '$1 == "archive_public" {print $2}' "$T/recip/hub.pub")
grep '^archive_secret' "$T/recip/hub.key" >"$T/recip.secret"
"$HUB" export B-1 --out "$T/sealed" --recipient-key "$rpk" --by clerk --state "$T/hub" >/dev/null ||
  fail "sealed export failed"
ls "$T/sealed/media" | grepq '\.enc$' || fail "no sealed media"
verify_ok "$T/sealed"
verify_ok --secret-key "$T/recip.secret" "$T/sealed"
grep -q "give --secret-key" "$T/verify.out" && fail "content not checked with the secret key"
mkdir "$T/ex"
verify_ok --secret-key "$T/recip.secret" --extract "$T/ex" "$T/sealed"
cmp -s "$T/ex/$v2.mp4" "$T/insp.mp4" || fail "the recipient's decrypted clip differs from the original"
rc_of "$VERIFY" --extract "$T/ex" "$T/sealed"
[ "$RC" = 2 ] || fail "--extract without --secret-key is not a usage error"
echo "media sealed to a recipient verify without and with the recipient's key; the recipient extracts them"

# Tampering, each on a fresh copy; the verifier names the item.
tamper() {
  rm -rf "$T/x"
  cp -a "$T/b1" "$T/x"
}
# flip FILE OFFSET: changes one byte.
flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $(((b + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
car_log=$(cd "$T/b1" && ls logs/ | sed -n 1p)
for f in "$T"/b1/logs/*.log; do
  grep -q "XW-B1-0001" "$f" && car_log=logs/$(basename "$f")
done
# A record byte: the log file is altered and the entry's signature fails.
tamper
off=$(grep -obUa "XW-B1-0001" "$T/x/$car_log" | sed -n 1p | cut -d: -f1)
flip "$T/x/$car_log" $((off + 3))
verify_bad "$T/x" altered "$car_log"
verify_bad "$T/x" bad_signature "$car_log#seq=1"
# The first entry cut out of the office's log (a frame is a 4-byte length
# and the entry): the file differs and the log now starts at a missing seq.
tamper
off_log=""
for f in "$T"/x/logs/*.log; do
  grep -q "JD-B1-0001" "$f" && off_log=logs/$(basename "$f")
done
len=$(od -An -tu1 -N4 "$T/x/$off_log" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
tail -c +$((len + 5)) "$T/x/$off_log" >"$T/x/cut" && mv "$T/x/cut" "$T/x/$off_log"
verify_bad "$T/x" altered "$off_log"
verify_bad "$T/x" missing_entry "$off_log#seq=1"
grep -q "missing sequence number" "$T/verify.out" || fail "the removed entry is not named: $(cat "$T/verify.out")"
# A media byte.
tamper
flip "$T/x/media/$v2.mp4" 1000
verify_bad "$T/x" altered "media/$v2.mp4"
grep -q "content hash in the device.s signed manifest" "$T/verify.out" || fail "media reason"
# The signature.
tamper
sig=$(cat "$T/x/bundle.sig")
printf '%s\n' "$(tr '0123456789abcdef' '123456789abcdef0' <<<"${sig:0:2}")${sig:2}" >"$T/x/bundle.sig"
verify_bad "$T/x" bad_signature "bundle.json"
# The file list: an entry dropped from the manifest.
tamper
grep -v '"path": "media/'"$v1" "$T/x/bundle.json" >"$T/x/m" || true
sed -i "/\"path\":\"media\/$v1/d" "$T/x/m"
if cmp -s "$T/x/m" "$T/x/bundle.json"; then
  # jansson writes "path": "..." on one line of an indented object: drop that object.
  awk -v id="$v1" 'BEGIN{skip=0} /^  {$/{buf=$0; getline; if (index($0, "media/" id)) {skip=1} else {print buf}} skip&&/^  }/{skip=0; getline; if ($0 !~ /^  {$/) print; next} !skip{print}' "$T/x/bundle.json" >"$T/x/m"
fi
mv "$T/x/m" "$T/x/bundle.json"
verify_bad "$T/x" bad_signature "bundle.json"
# A file removed, and one added.
tamper
rm "$T/x/media/$v1.mp4"
verify_bad "$T/x" missing "media/$v1.mp4"
tamper
rm "$T/x/$car_log"
verify_bad "$T/x" missing "$car_log"
tamper
echo "not evidence" >"$T/x/media/extra.mp4"
verify_bad "$T/x" added "media/extra.mp4"
# A media byte in the tar file.
cp "$T/b1.tar" "$T/x.tar"
off=$(grep -obUa "XW-B1-0001" "$T/x.tar" | sed -n 1p | cut -d: -f1)
flip "$T/x.tar" $((off + 1))
verify_bad "$T/x.tar" altered "$car_log"
echo "altered record byte, media byte, signature, file list, removed and added items are named"
