#!/usr/bin/env bash
# The command line as staff read it (docs/operations.md "Reading the
# command line"), with a real edge and hub: every time of `devices`,
# `status`, `timeline`, `media list`, `alerts`, `integrity`-free listings and
# the edge's `status` and `log` is local time with its offset (TZ honoured,
# --utc for UTC); a Chinese unit name is whole and the columns after it line
# up by display width; `timeline` labels types and gives durations as h:mm;
# sizes are in human units; `alerts` is sorted by severity then due time,
# ends in a one-line summary and takes --limit; `export` reports the bundle's
# true size; on a terminal (script(1) gives one) `export` and
# `fieldtrail-verify` draw a progress bar, and nothing of it when not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || fail "script(1) is needed (bsdutils)"

UNIT=南大港产业园区自然资源所
D=$(day_at -2)
media_hub_init
media_edge_new car1
"$HUB" enroll "$T/car1/device.pub" --unit "$UNIT" --vehicle "冀J-ZF031" --state "$T/hub" >/dev/null ||
  fail "enrol with the office's unit"
U="\"unit\":\"$UNIT\""
cat >"$T/car1.jsonl" <<JSON
{"type":"inquiry","id":"s-inq","case":"S-1",$U,"cause":"非法占用耕地建房","party":"张某","start":"${D}T01:00:00Z","end":"${D}T02:00:00Z","officers":["o1"],"fields":{"subject":"张某","transcript_no":"XW-S1-0001"}}
{"type":"site_inspection","id":"s-insp","case":"S-1",$U,"start":"${D}T03:00:00Z","end":"${D}T03:40:00Z","officers":["o1"],"fields":{}}
{"type":"decision","id":"s-dec","case":"S-1",$U,"time":"${D}T05:00:00Z","fields":{"decision_no":"JD-S1"}}
JSON
"$EDGE" import "$T/car1.jsonl" --state "$T/car1" >/dev/null || fail "import"
# A clip of 6 MiB covering the inquiry.
big_file "$T/inq.mp4" 6
printf '{"officer":"o1","start":"%sT01:00:00Z","end":"%sT02:00:00Z"}\n' "$D" "$D" >"$T/inq.mp4.json"
"$EDGE" ingest "$T/inq.mp4" --recorder R1 --state "$T/car1" --json >"$T/ingest.json" 2>>"$T/ingest.log" ||
  fail "ingest"
sync_all 1 car1

offset_time='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00'
utc_time='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
export TZ=Asia/Shanghai

# ---- devices and status: local time with its offset, the unit whole ----
"$HUB" devices --state "$T/hub" >"$T/devices.txt"
grep -qE "$offset_time" "$T/devices.txt" || fail "devices: LAST SEEN not in local time: $(cat "$T/devices.txt")"
grep -qF "$UNIT" "$T/devices.txt" || fail "devices: the unit is cut: $(cat "$T/devices.txt")"
# The column after the unit starts at the same cell in the header and the
# row (ASCII takes one cell, each CJK character, three bytes, two).
cells() {
  local ascii non
  ascii=$(printf %s "$1" | LC_ALL=C tr -d '\200-\377' | wc -c)
  non=$(printf %s "$1" | LC_ALL=C tr -d '\000-\177' | wc -c)
  echo $((ascii + non / 3 * 2))
}
header=$(sed -n 1p "$T/devices.txt")
row=$(sed -n 2p "$T/devices.txt")
[ "$(cells "${header%%VEHICLE*}")" = "$(cells "${row%%冀J*}")" ] ||
  fail "devices: columns do not line up by display width: $(cat "$T/devices.txt")"
"$HUB" status --state "$T/hub" | grepq -E "冀J-ZF031 +$offset_time" || fail "status: LAST SEEN not local"
"$HUB" devices --state "$T/hub" --utc | grepq -E "$utc_time" || fail "devices --utc: no UTC time"
TZ=UTC "$HUB" devices --state "$T/hub" | grepq -E "$utc_time" || fail "devices under TZ=UTC"
# JSON stays UTC whatever TZ says.
"$HUB" devices --state "$T/hub" --json | grepq -E "\"last_seen\":\"[0-9-]+T[0-9:.]+Z\"" || fail "devices --json"

# ---- timeline: local times, type labels, durations as h:mm ----
"$HUB" timeline S-1 --state "$T/hub" >"$T/tl.txt" || fail "timeline"
grep -q "times in local time" "$T/tl.txt" || fail "timeline: the header does not say local time"
grep -E "^${D}T09:00:00\+08:00 +record +询问调查 +1:00 " "$T/tl.txt" >/dev/null ||
  fail "timeline: the inquiry (09:00 local, 询问调查, 1:00): $(cat "$T/tl.txt")"
grep -qE "现场检查（勘验） +0:40 " "$T/tl.txt" || fail "timeline: the inspection's 0:40: $(cat "$T/tl.txt")"
grep -qE "media +音视频 +1:00 +id " "$T/tl.txt" || fail "timeline: the clip: $(cat "$T/tl.txt")"
"$HUB" timeline S-1 --state "$T/hub" --utc | grepq -E "^${D}T01:00:00Z +record" || fail "timeline --utc"

# ---- media list: human size, local start ----
"$HUB" media list --state "$T/hub" >"$T/media.txt"
grep -qE " 6\.0 MB +R1 .*${D}T09:00:00\+08:00" "$T/media.txt" || fail "media list: $(cat "$T/media.txt")"

# ---- alerts: by severity then due time, a summary, --limit ----
"$HUB" evaluate --state "$T/hub" --now "$(ms_at 10)" >/dev/null
"$HUB" alerts --state "$T/hub" >"$T/alerts.txt"
n=$(grep -cE '^[0-9a-f]{16} ' "$T/alerts.txt")
[ "$n" -ge 2 ] || fail "expected several alerts: $(cat "$T/alerts.txt")"
awk '/^[0-9a-f]{16} / { r = ($3 == "critical" ? 0 : $3 == "high" ? 1 : $3 == "medium" ? 2 : 3)
       if (r < last) { print "severity " $3 " after a lower one"; exit 1 } last = r }' last=0 "$T/alerts.txt" ||
  fail "alerts are not sorted by severity: $(cat "$T/alerts.txt")"
grep -qE " due $offset_time +opened $offset_time" "$T/alerts.txt" || fail "alerts: due and opened not local"
summary=$(tail -n 1 "$T/alerts.txt")
grep -qE "^$n alerts: .*[0-9]+ (critical|high|medium|low).*; $n open$" <<<"$summary" ||
  fail "alerts: summary line: $summary"
"$HUB" alerts --state "$T/hub" --limit 1 >"$T/alerts1.txt"
[ "$(grep -cE '^[0-9a-f]{16} ' "$T/alerts1.txt")" = 1 ] || fail "--limit 1: $(cat "$T/alerts1.txt")"
tail -n 1 "$T/alerts1.txt" | grepq "^$n alerts (1 shown): " || fail "--limit summary: $(tail -n 1 "$T/alerts1.txt")"
rc_of "$HUB" alerts --state "$T/hub" --limit 0
[ "$RC" = 2 ] || fail "--limit 0 must be a usage error"

# ---- edge status and log ----
"$EDGE" status --state "$T/car1" | grepq -E "^receipt: +$offset_time" || fail "edge status: receipt not local"
"$EDGE" log --state "$T/car1" | grepq -E "^ +1  $offset_time  " || fail "edge log: not local"

# ---- export: its true size, a progress bar on a terminal only ----
"$HUB" export S-1 --out "$T/s1" --state "$T/hub" --json >"$T/export.json" 2>"$T/export.err" ||
  fail "export: $(cat "$T/export.err")"
[ ! -s "$T/export.err" ] || fail "export drew on a stderr that is not a terminal: $(cat "$T/export.err")"
got=$(jget bytes <"$T/export.json")
want=$(find "$T/s1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
[ "$got" = "$want" ] || fail "export reports $got bytes, its files hold $want"
script -qec "'$HUB' export S-1 --out '$T/s1b' --state '$T/hub'" /dev/null >"$T/export.tty" ||
  fail "export on a terminal: $(cat "$T/export.tty")"
grep -qa 'export: writing media \[#' "$T/export.tty" || fail "export drew no progress bar on a terminal: $(cat -v "$T/export.tty")"
grep -qaE 'writing media \[#+\] 100%  6\.0 MB of 6\.0 MB' "$T/export.tty" ||
  fail "export's bar did not end at 100% of the media: $(cat -v "$T/export.tty")"
grep -qaE 'export: hashing files \[#+\] 100%  6\.[0-9] MB of 6\.[0-9] MB' "$T/export.tty" ||
  fail "export's hashing bar: $(cat -v "$T/export.tty")"
grep -qaE "exported to .*, [0-9.]+ MB$(printf '\r')?\$" "$T/export.tty" || fail "export: size in human units: $(cat -v "$T/export.tty")"
script -qec "'$VERIFY' '$T/s1'" /dev/null >"$T/verify.tty" || fail "verify on a terminal: $(cat -v "$T/verify.tty")"
grep -qa 'verify \[' "$T/verify.tty" || fail "fieldtrail-verify drew no progress bar: $(cat -v "$T/verify.tty")"
"$VERIFY" "$T/s1" >"$T/verify.out" 2>"$T/verify.err" || fail "verify"
[ ! -s "$T/verify.err" ] || fail "verify drew on a stderr that is not a terminal"
echo "cli for staff: local times, labels, h:mm, human sizes, sorted alerts with a summary, true export size, progress bars"
