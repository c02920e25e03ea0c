#!/usr/bin/env bash
# The dashboard in headless Chromium (Debian's chromium driven by
# playwright-core from npm, tests/web/package-lock.json): log in, watch the
# sync page fill in, see an alert raised at the hub appear on the open alerts
# page within 2 s, open its case timeline, play a clip and seek in it, justify
# the alert and see its state change, and find those views in the audit log.
# Screenshots of every page go to $FT_BUILD/tests/web/screenshots/.
#
# Exit 77 (CTest: skipped, shown as such) when Chromium, node or npm is
# missing or playwright-core cannot be installed; never a silent pass.
set -euo pipefail
: "${FT_SRC:?run through ctest}" "${FT_BUILD:?run through ctest}"
WEB=$FT_SRC/tests/web
CHROMIUM=${FT_CHROMIUM:-/usr/bin/chromium}

skip() {
  echo "SKIP: browser test not run: $1" >&2
  exit 77
}
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is missing (ops/install-deps.sh installs Debian's chromium)"
command -v node >/dev/null || skip "node is missing"
command -v npm >/dev/null || skip "npm is missing"

# playwright-core into tests/web/node_modules with `npm ci` (lock file
# committed), once for concurrent runs (normal and ASan trees).
want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
  "$WEB/package-lock.json")
have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("")}' \
  "$WEB/node_modules/playwright-core/package.json")
if [ "$have" != "$want" ]; then
  exec 9>"${TMPDIR:-/tmp}/fieldtrail-web-npm.lock"
  flock 9
  have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("")}' \
    "$WEB/node_modules/playwright-core/package.json")
  if [ "$have" != "$want" ]; then
    (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
      skip "npm ci could not install playwright-core $want (no registry?)"
  fi
  flock -u 9
fi

source "$WEB/lib.sh"
SHOTS=$FT_BUILD/tests/web/screenshots
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

web_fixture
# A clip for the sample case's survey, in 64 KiB chunks so that seeking reads
# chunks in the middle of the file.
printf 'chunk_kb = 64\n' >>"$T/car1/edge.conf"
cp "$WEB/clip.webm" "$T/clip.webm"
cat >"$T/clip.webm.json" <<'J'
{"officer":"ZF-0107","kind":"video","start":"2026-03-02T15:30:00+08:00",
 "end":"2026-03-02T15:55:00+08:00","case":"NDG-2026-031","cause":"非法占用耕地建房","party":"张某"}
J
"$EDGE" ingest "$T/clip.webm" --recorder DSJ-0031 --state "$T/car1" >/dev/null 2>&1 ||
  fail "ingest of the clip failed"
edge_start car1
MEDIA=0
if grep -q edge_media_start "$EDGE"; then
  wait_until 60 "the hub to hold the clip" \
    bash -c "'$HUB' media list --state '$T/hub' | grep -q complete"
  MEDIA=1
else
  echo "NOTE: this fieldtrail-edge does not send media (no edge_media_start): playback not tested" >&2
fi
MEDIA_ID=$("$HUB" media list --state "$T/hub" --json | jget file_id)

# A unit that the admin enrols (and revokes) through the devices page.
"$EDGE" init --state "$T/car3" --unit u3 --vehicle v3 >/dev/null
CAR3=$(edge_id car3)
export URL T HUBALERT MEDIA MEDIA_ID SHOTS CHROMIUM FT_SYNC_SLOW CAR1 CAR2 CAR3
export HUB_STATE=$T/hub CAR3_PUB=$T/car3/device.pub PW_ADMIN PW_SUP PW_STAFF
export NODE_PATH=$WEB/node_modules
node "$WEB/browser.mjs" || fail "browser test failed (screenshots in $SHOTS)"
edge_stop car1
hub_stop_clean
echo "screenshots: $(ls "$SHOTS" | tr '\n' ' ')"
