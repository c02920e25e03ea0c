#!/usr/bin/env bash
# What a supervisor is shown, in headless Chromium (as tests/web/browser.sh:
# Debian's chromium driven by playwright-core): the alerts page with the
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
export URL T HUBALERT HUB_STATE=$T/hub SHOTS CHROMIUM FT_SYNC_SLOW CAR1 CAR2 PW_SUP RECORD_REF
export NODE_PATH=$WEB/node_modules
node "$WEB/supervisor.mjs" || fail "supervisor browser test failed (screenshots in $SHOTS)"
hub_stop_clean
echo "screenshots: $SHOTS: $(ls "$SHOTS" | tr '\n' ' ')"
