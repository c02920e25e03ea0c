#!/usr/bin/env bash
# /metrics passes `promtool check metrics` (Debian's prometheus package):
# names fit their types (no gauge ends in _total, every counter does), every
# metric has help text, labels are well formed -- with devices of a Chinese
# unit name, open alerts and the rule evaluation summary in the answer.
#
# Exit 77 (CTest: skipped, shown as such) when promtool is missing
# (ops/install-deps.sh installs the prometheus package).
set -euo pipefail
command -v promtool >/dev/null || {
  echo "SKIP: promtool is missing (ops/install-deps.sh installs Debian's prometheus)" >&2
  exit 77
}
source "$(dirname "$0")/lib.sh"

web_fixture
# A device whose unit holds Chinese text, a quote and a backslash (label escaping).
"$EDGE" init --state "$T/car9" --unit '南大港"所\分' --vehicle "冀J-ZF099" >/dev/null
"$HUB" enroll "$T/car9/device.pub" --unit '南大港"所\分' --vehicle "冀J-ZF099" --state "$T/hub" >/dev/null
raise_alert 7000000000000001
raise_alert 7000000000000002 NDG-2026-031 "13(2)" medium
metrics_has_alerts() {
  curl -s -H "Authorization: Bearer $METRICS_TOKEN" "$URL/metrics" >"$T/metrics.txt"
  grep -q '^fieldtrail_alerts_open{article="13(2)"} ' "$T/metrics.txt"
}
wait_until 10 "the alerts in /metrics" metrics_has_alerts
grep -qF 'unit="南大港\"所\\分"' "$T/metrics.txt" || fail "metrics: no per-device row with its escaped unit"
if ! promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1; then
  cat "$T/promtool.out" >&2
  fail "promtool check metrics refused /metrics (the answer is in $T/metrics.txt)"
fi
# promtool prints lint problems and still exits 0 for some of them.
if [ -s "$T/promtool.out" ]; then
  cat "$T/promtool.out" >&2
  fail "promtool check metrics has remarks on /metrics"
fi
# Every metric has HELP and TYPE lines.
for m in $(grep -v '^#' "$T/metrics.txt" | sed 's/[{ ].*//' | sed -E 's/_(sum|count)$//' | sort -u); do
  grep -q "^# HELP $m " "$T/metrics.txt" || fail "metrics: $m has no help text"
  grep -q "^# TYPE $m " "$T/metrics.txt" || fail "metrics: $m has no type"
done
hub_stop_clean
