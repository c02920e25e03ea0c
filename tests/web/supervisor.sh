#!/usr/bin/env bash
# What a supervisor is shown, in headless Chromium (as tests/web/browser.sh:
# Debian's chromium driven by playwright-core): a vehicle that stopped with
# records on it (car3, killed mid-sync) red on the sync page with its count;
# a clip killed half way up shown 上传中 with its percentage on the sync page
# and in the case timeline, with no play button; every page at 390 px wide
# with its navigation; the alerts page with the
# engine's alerts of the sample case (officers, vehicle, when the activity
# happened, its detail in the page's language with no English in zh-CN,
# opening the activity in its timeline, grouping by case and by officer),
# then 5,000 alerts: the true total, the page ready in under a second, and
# 100 new alerts in 10 s with no task over 200 ms, at most one redraw a
# second and one notice per redraw. Screenshots of every step go to
# $FT_BUILD/tests/web/screenshots-supervisor/ (kept as the test's artefacts).
#
# Exit 77 (CTest: skipped, shown as such) when Chromium, node or npm is
# missing or playwright-core cannot be installed; never a silent pass.
set -euo pipefail
: "${FT_SRC:?run through ctest}" "${FT_BUILD:?run through ctest}"
WEB=$FT_SRC/tests/web
CHROMIUM=${FT_CHROMIUM:-/usr/bin/chromium}
skip() {
  echo "SKIP: supervisor browser test not run: $1" >&2
  exit 77
}
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is missing (ops/install-deps.sh installs Debian's chromium)"
command -v node >/dev/null || skip "node is missing"
command -v npm >/dev/null || skip "npm is missing"
# playwright-core as browser.sh installs it (npm ci, once, under a lock).
want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
  "$WEB/package-lock.json")
have() { node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("")}' \
  "$WEB/node_modules/playwright-core/package.json"; }
if [ "$(have)" != "$want" ]; then
  exec 9>"${TMPDIR:-/tmp}/fieldtrail-web-npm.lock"
  flock 9
  if [ "$(have)" != "$want" ]; then
    (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
      skip "npm ci could not install playwright-core $want (no registry?)"
  fi
  flock -u 9
fi

source "$WEB/lib.sh"
SHOTS=$FT_BUILD/tests/web/screenshots-supervisor
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

web_fixture
# The engine has evaluated the sample case (its alerts are in the hub log).
engine_alerts() {
  curl -s -H "Authorization: Bearer $METRICS_TOKEN" "$URL/metrics" | grepq '^fieldtrail_alerts_open{article="13"} [1-9]'
}
wait_until 20 "the engine's alerts of the sample case" engine_alerts
RECORD_REF=$("$HUB" timeline NDG-2026-031 --state "$T/hub" --json | grep '"type":"site_inspection"' | jget ref)
[ -n "$RECORD_REF" ] && [ "$RECORD_REF" != null ] || fail "no site inspection in the sample case"

sync_row() { # sync_row DEVICE: its row of GET /api/sync
  curl -s -b "$T/jar.sup" "$URL/api/sync" | python3 -c '
import json, sys
for d in json.load(sys.stdin)["devices"]:
    if d["device_id"] == sys.argv[1]:
        print(json.dumps(d))' "$1"
}
login sup "$PW_SUP"

# A vehicle that stops syncing with records still on it: car3 sends one
# entry a batch and is killed once the hub has its report of the head and
# holds less than that. It is offline 30 s later.
edge_new car3
CAR3=$(edge_id car3)
edge_records car3 3000
edge_start car3 --batch 1 --window 1
car3_behind() {
  local row
  row=$(sync_row "$CAR3")
  [ -n "$row" ] && echo "$row" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if (d["backlog"] or 0) > 0 and d["entries"] > 0 else 1)'
}
wait_until 20 "car3 reporting its head, part of it held" car3_behind
kill -KILL "${EDGE_PID[car3]}"
wait "${EDGE_PID[car3]}" 2>/dev/null || true
CAR3_BACKLOG=$(sync_row "$CAR3" | jget backlog | tr -d " ")
echo "car3 stopped with $CAR3_BACKLOG records on it"

# A clip of the site inspection half uploaded: car1 ingests 160 MB and is
# killed as soon as the hub has written part of it.
CLIP=$T/clip/20260302_143012.MP4
mkdir -p "$T/clip"
head -c $((160 * 1024 * 1024)) /dev/urandom >"$CLIP"
printf '{"officer":"ZF-0107","kind":"video","start":"2026-03-02T14:30:05+08:00","end":"2026-03-02T15:20:00+08:00","case":"NDG-2026-031"}\n' >"$CLIP.json"
"$EDGE" ingest "$CLIP" --recorder DSJ-0031 --state "$T/car1" >/dev/null || fail "ingest of the clip failed"
rm -f "$CLIP" "$CLIP.json"
edge_start car1
partial_started() { find "$T/hub/blobs/partial" -type f -size +64k 2>/dev/null | grepq .; }
wait_until 60 "the first chunks of the clip at the hub" partial_started
kill -KILL "${EDGE_PID[car1]}"
wait "${EDGE_PID[car1]}" 2>/dev/null || true
[ -z "$(find "$T/hub/blobs/objects" -type f -size +100M 2>/dev/null)" ] ||
  fail "the whole clip arrived before car1 was stopped (the test needs a half upload)"

export URL T HUBALERT HUB_STATE=$T/hub SHOTS CHROMIUM FT_SYNC_SLOW CAR1 CAR2 CAR3 CAR3_BACKLOG PW_SUP RECORD_REF
export NODE_PATH=$WEB/node_modules
node "$WEB/supervisor.mjs" || fail "supervisor browser test failed (screenshots in $SHOTS)"
hub_stop_clean
echo "screenshots: $SHOTS: $(ls "$SHOTS" | tr '\n' ' ')"
