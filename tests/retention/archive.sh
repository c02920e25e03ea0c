#!/usr/bin/env bash
# Long-term archive on an ISO 9660 image (Art. 23): `archive CASE --holds`
# writes a bundle for the named case and for every case under an active
# legal hold, the signed archive list, a bilingual README and the verifier;
# the image is extracted with xorriso and fieldtrail-verify (the copy on the
# disc too) accepts it; an altered file, a removed bundle and an added one are
# named.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v xorriso >/dev/null || fail "xorriso is not installed (ops/install-deps.sh)"

D=$(day_at -1)
U='"unit":"南大港产业园区自然资源所"'
media_hub_init
media_edge_new car1
cat >"$T/car1.jsonl" <<JSON
{"type":"inquiry","id":"a-inq","case":"ARCH-A",$U,"start":"${D}T09:00:00Z","end":"${D}T10:00:00Z","officers":["o1"],"fields":{"subject":"赵某","transcript_no":"XW-A-1"}}
{"type":"hearing","id":"h-hear","case":"案件-H/2026",$U,"start":"${D}T13:00:00Z","end":"${D}T14:00:00Z","officers":["o2"],"fields":{"record_no":"TZ-H-1"}}
{"type":"legal_hold","id":"h-hold","case":"案件-H/2026",$U,"time":"${D}T15:00:00Z","fields":{"reason":"obstruction","details":"当事人阻碍执法"}}
{"type":"inquiry","id":"n-inq","case":"NOT-ARCHIVED",$U,"start":"${D}T16:00:00Z","end":"${D}T17:00:00Z","officers":["o3"],"fields":{"subject":"钱某","transcript_no":"XW-N-1"}}
JSON
"$EDGE" import "$T/car1.jsonl" --state "$T/car1" >/dev/null || fail "import failed"
clip car1 a.mp4 R1 "{\"officer\":\"o1\",\"start\":\"${D}T09:00:00Z\",\"end\":\"${D}T09:59:00Z\"}" >/dev/null
clip car1 h.mp4 R2 "{\"officer\":\"o2\",\"case\":\"案件-H/2026\",\"start\":\"${D}T13:00:00Z\",\"end\":\"${D}T13:59:00Z\"}" >/dev/null
sync_all 2 car1

"$HUB" archive ARCH-A --holds --iso "$T/disc.iso" --by archivist --state "$T/hub" >"$T/archive.out" ||
  fail "archive failed: $(cat "$T/archive.out")"
[ -s "$T/disc.iso" ] || fail "no image"
[ ! -e "$T/disc.iso.stage" ] || fail "the staging directory was left behind"
xorriso -indev "$T/disc.iso" -pvd_info 2>/dev/null | grepq "FIELDTRAIL_" || fail "not an ISO 9660 image with our volume ID"
xorriso -osirrox on -indev "$T/disc.iso" -extract / "$T/disc" >/dev/null 2>&1 || fail "extraction failed"
chmod -R u+w "$T/disc"
ls "$T/disc/cases" >"$T/cases.txt"
[ "$(wc -l <"$T/cases.txt")" = 2 ] || fail "expected 2 bundles: $(cat "$T/cases.txt")"
grep -q "ARCH-A" "$T/cases.txt" && grep -q "案件-H_2026" "$T/cases.txt" || fail "bundles: $(cat "$T/cases.txt")"
grep -q "NOT-ARCHIVED" "$T/cases.txt" && fail "a case not asked for is on the disc"
grep -q "核验" "$T/disc/README.txt" && grep -q "HOW TO VERIFY" "$T/disc/README.txt" || fail "README.txt"
[ -x "$T/disc/verifier/fieldtrail-verify" ] || fail "no verifier on the disc"
[ -s "$T/disc/verifier/fieldtrail-verify-src.tar.gz" ] || fail "no verifier source on the disc"
tar tzf "$T/disc/verifier/fieldtrail-verify-src.tar.gz" >"$T/src.txt" || fail "source tarball unreadable"
grep -q "verifier/bundlecheck.c" "$T/src.txt" || fail "source tarball: $(cat "$T/src.txt")"
verify_ok "$T/disc"
grep -q "archive: OK" "$T/verify.out" || fail "no archive verdict: $(cat "$T/verify.out")"
[ "$(grep -c "^  OK: case" "$T/verify.out")" = 2 ] || fail "both bundles: $(cat "$T/verify.out")"
"$T/disc/verifier/fieldtrail-verify" "$T/disc" >/dev/null || fail "the verifier on the disc refused the disc"
verify_ok "$T/disc/cases/ARCH-A"
echo "ISO image written, extracted and verified (by the verifier on it too); holds included"

# Tampering on the extracted copy.
cp -a "$T/disc" "$T/bad"
m=$(ls "$T/bad/cases/ARCH-A/media/" | sed -n 1p)
printf 'x' | dd of="$T/bad/cases/ARCH-A/media/$m" bs=1 seek=100 conv=notrunc status=none
verify_bad "$T/bad" altered "cases/ARCH-A/media/$m"
rm -rf "$T/bad"
cp -a "$T/disc" "$T/bad"
rm -rf "$T/bad/cases/ARCH-A"
verify_bad "$T/bad" missing "cases/ARCH-A"
cp -a "$T/disc/cases/ARCH-A" "$T/bad/cases/EXTRA"
verify_bad "$T/bad" added "cases/EXTRA"
echo "an altered media file, a removed bundle and an added one are named on the disc"
rc_of "$HUB" archive --iso "$T/none.iso" --state "$T/hub"
[ "$RC" = 2 ] || fail "archive without cases or --holds is a usage error"
