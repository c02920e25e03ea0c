#!/usr/bin/env bash
# The officers' screen in headless Chromium (tests/vehicle/screen.mjs),
# against an edge whose hub cannot be reached: sign in; check out a recorder
# at 15 % battery and see the readiness warning; return another with one
# tap; enter a site inspection without record_no and see the missing-field
# warning; forms with bad input get the import's own words beside the field
# and write nothing; drop an MP4 with its capture time in the container into
# the inbox and see the inspection's coverage go to 100 %; correct the
# record; pick the case (the one touched last first) and the clip (only
# those in the activity's window) on a form; see the clip wait for the hub
# on Today's page, file by file. Then the hub starts (the browser asks for
# it): Today shows the link up and everything sent; every page is usable on
# a 10-inch tablet both ways and at 390 px. Then every step is a signed
# entry in `fieldtrail-edge log` and the log verifies, and the hub's open
# alerts for the case (and the recorder's readiness alert) are, by ID,
# those the screen showed before the hub started.
#
# Screenshots: $FT_TEST_TMP/vehicle-screenshots/ (tablet and phone widths).
# Exit 77 (CTest: skipped, shown as such) when Chromium, node, npm or ffmpeg
# is missing, or playwright-core cannot be installed.
set -euo pipefail
: "${FT_SRC:?run through ctest}" "${FT_BUILD:?run through ctest}"
source "$FT_SRC/tests/lib/playwright.sh"
playwright_ready
command -v ffmpeg >/dev/null || playwright_skip "ffmpeg is missing (ops/install-deps.sh installs it)"

source "$FT_SRC/tests/sync/lib.sh"
SHOTS=$FT_TEST_TMP/vehicle-screenshots
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
CASE=NDG-2026-031

# A hub that is set up (the edge is enrolled) but not running yet: the
# vehicle works with no hub reachable.
hub_init
MEDIA_EP=$(awk -F' = ' '$1 == "media.listen" { print $2 }' "$T/hub/hub.conf")
ARCHIVE_KEY=$(awk -F' = ' '$1 == "archive_public" { print $2 }' "$T/hub/hub.pub")
[ -n "$MEDIA_EP" ] && [ -n "$ARCHIVE_KEY" ] || fail "the hub's media endpoint or archive key is unknown"
edge_new car
printf 'media.hub = %s\narchive_key = %s\nmedia.stable_ms = 500\n' "$MEDIA_EP" "$ARCHIVE_KEY" \
  >>"$T/car/edge.conf"
printf '246810\n' | "$EDGE" officer add ZF-0107 --name 张三 --state "$T/car" >/dev/null
printf '135791\n' | "$EDGE" officer add ZF-0112 --name 李四 --state "$T/car" >/dev/null
"$EDGE" officer list --state "$T/car" --json | grepq '"id":"ZF-0112"' || fail "officer list"

# The clip: an MP4 whose mvhd says when it was captured (docs/media.md).
# Activity times are 3 h before now, on the minute; the clip runs from one
# minute before the inspection to one minute after it (22 min).
NOW_S=$(date +%s)
BASE_S=$(((NOW_S - 3 * 3600) / 60 * 60))
CLIP_START=$(date -u -d "@$((BASE_S - 60))" +%Y-%m-%dT%H:%M:%SZ)
ffmpeg -loglevel error -y -f lavfi -i color=c=0x1d4e89:s=64x48:r=1 -t 1320 -c:v mpeg4 -q:v 31 \
  -metadata creation_time="$CLIP_START" "$T/clip.mp4" || fail "ffmpeg could not make the clip"

edge_start car --ui 127.0.0.1:0
for _ in $(seq $((100 * FT_SYNC_SLOW))); do
  [ -s "$T/car/ui/url" ] && break
  sleep 0.1
done
[ -s "$T/car/ui/url" ] || fail "the edge wrote no screen URL"
URL=$(head -n1 "$T/car/ui/url")
URL=${URL%/}
grep -q 'screen on http://127.0.0.1:' "$T/car/run.log" || fail "run did not say where the screen is"
head_seq() { "$EDGE" status --state "$T/car" --json | jget head_seq; }

export URL T SHOTS CASE BASE_S EDGE CHROMIUM FT_SYNC_SLOW
export INBOX=$T/car/inbox CLIP=$T/clip.mp4 STATE=$T/car
node "$FT_SRC/tests/vehicle/screen.mjs" &
NODE_PID=$!
PIDS+=("$NODE_PID")
# The browser asks for the hub once the screen has shown what waits for it.
while kill -0 "$NODE_PID" 2>/dev/null && [ ! -e "$T/want-hub" ]; do
  sleep 0.2
done
if [ -e "$T/want-hub" ]; then
  hub_start
  touch "$T/hub-up"
fi
rc_of wait "$NODE_PID"
[ "$RC" = 0 ] || fail "browser steps failed (screenshots in $SHOTS)"

# Every step is a signed entry of the log, and the log verifies.
"$EDGE" log --state "$T/car" --json >"$T/log.json"
grepq '"action":"officer_signin"' <"$T/log.json" || fail "no signed sign-in in the log"
grepq '"type":"recorder_checkout"' <"$T/log.json" || fail "no signed checkout in the log"
grepq '"battery_pct":15' <"$T/log.json" || fail "the checkout lacks its battery"
grepq '"type":"recorder_return".*"recorder":"DSJ-0032"' <"$T/log.json" || fail "no signed return in the log"
CLIP_ID=$(cat "$T/clip.id")
grepq "\"type\":\"inquiry\".*\"media\":\[\"$CLIP_ID\"\]" <"$T/log.json" ||
  fail "the inquiry does not cite the clip picked on its form"
grepq '"type":"site_inspection"' <"$T/log.json" || fail "no signed inspection in the log"
grepq '"kind":"media"' <"$T/log.json" || fail "no manifest of the clip in the log"
INSPECTION=$(cat "$T/inspection.id")
grepq "\"amends\":\"$INSPECTION\"" <"$T/log.json" || fail "no signed correction in the log"
grepq '"officers":\["ZF-0107"' <"$T/log.json" || fail "records do not name the signed-in officer"
"$EDGE" verify --state "$T/car" >/dev/null || fail "the edge's log does not verify"

# The hub (started when the browser asked) holds everything; its verdict.
for _ in $(seq $((300 * FT_SYNC_SLOW))); do
  [ "$("$EDGE" status --state "$T/car" --json | jget unacked)" = 0 ] && break
  sleep 0.1
done
[ "$("$EDGE" status --state "$T/car" --json | jget unacked)" = 0 ] || fail "the edge did not sync"
sort -u "$T/vehicle-alerts.txt" >"$T/want"
[ -s "$T/want" ] || fail "the screen showed no alert for $CASE"
got_ids() {
  "$HUB" alerts --case "$CASE" --state-filter open --json --state "$T/hub" |
    sed -n 's/^{.*"id":"\([0-9a-f]\{16\}\)".*/\1/p' | sort -u
}
for _ in $(seq $((200 * FT_SYNC_SLOW))); do
  got_ids >"$T/got"
  cmp -s "$T/want" "$T/got" && break
  sleep 0.2
done
if ! cmp -s "$T/want" "$T/got"; then
  echo "screen showed:" >&2
  cat "$T/want" >&2
  echo "hub raised:" >&2
  "$HUB" alerts --case "$CASE" --json --state "$T/hub" >&2
  fail "the hub's alerts for $CASE are not the screen's"
fi
READY=$(cat "$T/readiness.id")
"$HUB" alerts --state-filter open --json --state "$T/hub" | grepq "\"id\":\"$READY\"" ||
  fail "the hub did not raise the screen's readiness alert $READY"
echo "screen and hub agree on $(wc -l <"$T/want") alerts of $CASE and the recorder's readiness"
echo "screenshots: $(ls "$SHOTS" | tr '\n' ' ')"
