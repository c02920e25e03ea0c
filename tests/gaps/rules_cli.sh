#!/usr/bin/env bash
# Rule packs: `rules check` prints the default pack's 17 rules; a copy with
# changed numbers is accepted; a malformed pack is refused by `rules check`,
# `evaluate` and `run` at start-up, naming the file, the line and the reason.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

hub_init
out=$("$HUB" rules check --state "$T/hub") || fail "rules check of the default pack failed"
grep -q 'default.rules (built in): 17 rules (17 enabled) OK' <<<"$out" || fail "rules check: $out"
[ "$("$HUB" rules check --state "$T/hub" --json | wc -l)" = 17 ] || fail "rules check --json"
sed 's/^within: 15d$/within: 20d/' "$FT_SRC/hub/gaps/rulepack/default.rules" >"$T/office.rules"
"$HUB" rules check "$T/office.rules" --state "$T/hub" --json | grep '"rule":"5"' |
  grepq '"within_s":1728000' || fail "the office pack's 20-day deadline"
printf 'rule: 1\nkind: coverage\napplies to: site_inspection\nmin covered: 95%%\narticle: 13\nseverity: loud\nzh: x\nen: x\n' >"$T/bad.rules"
if out=$("$HUB" rules check "$T/bad.rules" --state "$T/hub" 2>&1); then fail "a bad pack passed: $out"; fi
grep -q "bad.rules line 6" <<<"$out" || fail "rules check must name the line: $out"
if out=$("$HUB" evaluate --rules "$T/bad.rules" --state "$T/hub" 2>&1); then fail "evaluate ran on a bad pack"; fi
grep -q "rule pack refused: .*bad.rules line 6" <<<"$out" || fail "evaluate: $out"
set +e
"$HUB" run --state "$T/hub" --rules "$T/bad.rules" 2>"$T/run.err" &
pid=$!
PIDS+=("$pid")
wait "$pid"
rc=$?
set -e
[ "$rc" = 1 ] || fail "run with a bad pack exited $rc, expected 1"
grep -q "rule pack refused: .*bad.rules line 6" "$T/run.err" || fail "run: $(cat "$T/run.err")"
# The config key `rules` names the pack as well.
printf 'rules = %s\n' "$T/bad.rules" >"$T/alt.conf"
if out=$("$HUB" evaluate --state "$T/hub" --config "$T/alt.conf" 2>&1); then fail "config rules = bad pack accepted"; fi
grep -q "rule pack refused: .*bad.rules line 6" <<<"$out" || fail "config rules: $out"
