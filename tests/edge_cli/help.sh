#!/usr/bin/env bash
# Pins help: `--help` on every command the top-level help lists (at least
# init, import, record, log, verify, status) prints its usage on stdout and
# exits 0, needing no state directory and creating none; top-level help
# documents the exit codes; an unknown command, none at all, or bad
# arguments exit 2.
set -euo pipefail
# shellcheck source=tests/edge_cli/lib.sh
. "$(dirname "$0")/lib.sh"

cd "$T"
# Every command the top-level help lists, which must include the core six.
run "$EDGE" --help
expect_rc 0 "fieldtrail-edge --help"
commands=$(sed -n '/^commands:/,/^$/p' <<<"$OUT" | awk 'NR > 1 && NF { print $1 }')
for cmd in init import record log verify status; do
  grep -qx "$cmd" <<<"$commands" || fail "fieldtrail-edge --help does not list $cmd"
done
for cmd in $commands; do
  run "$EDGE" "$cmd" --help
  expect_rc 0 "$cmd --help"
  expect_contains "$OUT" "usage: fieldtrail-edge $cmd" "$cmd --help prints its usage on stdout"
  expect_eq "$ERR" "" "$cmd --help prints nothing on stderr"
  run "$EDGE" "$cmd" -h
  expect_rc 0 "$cmd -h"
  run "$EDGE" "$cmd" --help --state "$T/whatever"
  expect_rc 0 "$cmd --help --state DIR"
done
if [ -e "$T/whatever" ] || [ -e "$T/var" ]; then
  fail "--help created a state directory"
fi

for form in --help -h help; do
  run "$EDGE" "$form"
  expect_rc 0 "fieldtrail-edge $form"
  for cmd in $commands; do
    expect_contains "$OUT" "  $cmd " "fieldtrail-edge $form lists $cmd"
  done
  expect_contains "$OUT" "exit codes" "fieldtrail-edge $form documents exit codes"
done

run "$EDGE"
expect_rc 2 "fieldtrail-edge without a command"
expect_contains "$ERR" "usage:" "no command shows usage"
run "$EDGE" teleport
expect_rc 2 "an unknown command"
expect_contains "$ERR" "\"teleport\"" "the unknown command is named"
run "$EDGE" import
expect_rc 2 "import without a file"
run "$EDGE" import a.jsonl b.jsonl
expect_rc 2 "import with two files"
run "$EDGE" log --from first
expect_rc 2 "log --from that is not a number"
run "$EDGE" verify extra
expect_rc 2 "verify with an argument"
run "$EDGE" status --bogus
expect_rc 2 "status with an unknown flag"
