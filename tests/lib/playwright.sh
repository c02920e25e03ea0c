# playwright.sh: what a browser test needs (sourced, not a test): Debian's
# chromium, node, and playwright-core from npm installed once into
# tests/web/node_modules from the committed lock file (tests/web/
# package-lock.json), under a lock so that the normal and ASan trees can run
# at once. playwright_ready sets CHROMIUM and NODE_PATH, or ends the test
# with exit 77 (CTest: skipped, shown as such) saying what is missing: never
# a silent pass.

playwright_skip() {
  echo "SKIP: browser test not run: $1" >&2
  exit 77
}

playwright_ready() {
  local web=$FT_SRC/tests/web want have
  CHROMIUM=${FT_CHROMIUM:-/usr/bin/chromium}
  [ -x "$CHROMIUM" ] || playwright_skip "$CHROMIUM is missing (ops/install-deps.sh installs Debian's chromium)"
  command -v node >/dev/null || playwright_skip "node is missing"
  command -v npm >/dev/null || playwright_skip "npm is missing"
  want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
    "$web/package-lock.json")
  have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("")}' \
    "$web/node_modules/playwright-core/package.json")
  if [ "$have" != "$want" ]; then
    exec 9>"${TMPDIR:-/tmp}/fieldtrail-web-npm.lock"
    flock 9
    have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){console.log("")}' \
      "$web/node_modules/playwright-core/package.json")
    if [ "$have" != "$want" ]; then
      (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
        playwright_skip "npm ci could not install playwright-core $want (no registry?)"
    fi
    flock -u 9
  fi
  export CHROMIUM NODE_PATH=$web/node_modules
}
