#!/usr/bin/env bash
# One record, one identity across devices (docs/records.md "Identity"), with
# real edges and a real hub; alert sets compared exactly.
#   - One record imported on two vehicles, and another on two vehicles and
#     the office desk, synced in every order of the three devices (a fresh
#     hub each time): the alerts of one record each, the same set every time,
#     and the case timeline lists the record once with every device's entry.
#   - The same id with other content on two vehicles: one integrity alert
#     (critical, Art. 24(2)) naming both; the record's own alerts once. An
#     amendment from the desk settles the record (its alerts resolve); the
#     integrity alert stays open. `evaluate --full` on a fresh index gives
#     the same alerts.
#   - A justification entered on the desk for an alert raised from a
#     vehicle's record justifies it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

U='"unit":"u-ndg"'
NOW=2026-06-01T00:00:00+08:00
rec() { # ID CASE [EXTRA]: a site inspection with no record number and no media
  echo "{\"type\":\"site_inspection\",\"id\":\"$1\",$U,\"case\":\"$2\",\"start\":\"2026-05-20T09:00:00+08:00\",\"end\":\"2026-05-20T09:40:00+08:00\",\"officers\":[\"ZF-1\"]${3:-}}"
}

# One hub per order: carA, carB and desk sync one after another.
rec dup-2 C-DUP >"$T/dup2.jsonl"
rec dup-3 C-DUP >"$T/dup3.jsonl"
orders=("carA carB desk" "carA desk carB" "carB carA desk" "carB desk carA" "desk carA carB"
  "desk carB carA")
for order in "${orders[@]}"; do
  rm -rf "$T/hub" "$T/carA" "$T/carB" "$T/desk"
  hub_init
  for e in carA carB desk; do
    edge_new "$e" u-ndg
    edge_import "$e" "$T/dup3.jsonl"
  done
  edge_import carA "$T/dup2.jsonl"
  edge_import carB "$T/dup2.jsonl"
  hub_start --now "$NOW"
  for e in $order; do
    edge_sync "$e"
  done
  hub_stop
  evaluate_at "$NOW"
  check_alerts identity_dup
  # The timeline: the record once, with its three entries as witnesses.
  "$HUB" timeline C-DUP --state "$T/hub" --json >"$T/tl.json"
  [ "$(grep -c '"kind":"record"' "$T/tl.json")" = 2 ] ||
    fail "order $order: the timeline does not show two records: $(cat "$T/tl.json")"
  grep '"id":"dup-3"' "$T/tl.json" | grep -o '"witnesses":\[[^]]*\]' | grep -o '/' |
    wc -l >"$T/n"
  [ "$(cat "$T/n")" = 6 ] || fail "order $order: dup-3 does not list three entries"
  echo "order $order: one record each, every device's entry listed"
done

# A conflicting pair, an amendment from the desk, a justification from the desk.
rm -rf "$T/hub" "$T/carA" "$T/carB" "$T/desk"
hub_init
for e in carA carB desk; do
  edge_new "$e" u-ndg
done
rec con-1 C-CON >"$T/a.jsonl"
rec con-1 C-CON ',"location":{"lat":38.5,"lon":117.5}' >"$T/b.jsonl"
rec just-1 C-JUST >>"$T/a.jsonl"
edge_import carA "$T/a.jsonl"
edge_import carB "$T/b.jsonl"
hub_start --now "$NOW"
edge_sync carB
edge_sync carA
hub_stop
evaluate_at "$NOW"
check_alerts identity_conflict
"$HUB" alerts --state "$T/hub" --json --severity critical >"$T/crit.json"
grepq '"case":"C-CON"' "$T/crit.json" || fail "the conflict's integrity alert names no case"
[ "$(grep -o '"records":\[[^]]*\]' "$T/crit.json" | grep -o '"[^"]*/[0-9]*/[0-9]*"' | wc -l)" = 2 ] ||
  fail "the conflict's alert does not name both entries: $(cat "$T/crit.json")"
"$HUB" timeline C-CON --state "$T/hub" --json | grepq '"conflicts_with":' ||
  fail "the timeline does not show the conflicting version"

# The desk amends con-1 (record number, reason for no media) and justifies
# the missing record number of just-1, raised from carA's record.
JUST=$("$HUB" alerts --state "$T/hub" --json --case C-JUST | grep '"rule":"4"' | jget id)
[ -n "$JUST" ] && [ "$JUST" != null ] || fail "no fields alert for just-1"
{
  echo "{\"type\":\"site_inspection\",\"id\":\"con-1a\",$U,\"case\":\"C-CON\",\"amends\":\"con-1\",\"start\":\"2026-05-20T09:00:00+08:00\",\"end\":\"2026-05-20T09:40:00+08:00\",\"officers\":[\"ZF-1\"],\"media_unsuitable\":\"recorder failed, noted on site\",\"fields\":{\"record_no\":\"XC-1\"}}"
  echo "{\"type\":\"justification\",$U,\"case\":\"C-JUST\",\"time\":\"2026-05-25T10:00:00+08:00\",\"fields\":{\"alert\":\"$JUST\",\"reason\":\"number on the paper form\"}}"
} >"$T/desk.jsonl"
edge_import desk "$T/desk.jsonl"
hub_start --now "$NOW"
edge_sync desk
hub_stop
evaluate_at "$NOW"
check_alerts identity_settled --state-filter open
"$HUB" alerts --state "$T/hub" --json --state-filter justified | grepq "\"id\":\"$JUST\"" ||
  fail "the desk's justification did not justify the vehicle's alert"
# A fresh index gives the same open alerts.
mv "$T/hub/index" "$T/index.old"
evaluate_at "$NOW"
check_alerts identity_settled --state-filter open
echo "conflict raised once and kept, amendment and justification from another device applied"
