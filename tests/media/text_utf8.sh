#!/bin/bash
# Text of a clip in every view of the hub (docs/media.md "Text"), with a real
# edge and a real hub on 127.0.0.1. FT_MEDIA_SCENARIO:
#
#   cut_text_shown_escaped   A clip whose manifest holds a cause and a party
#       cut in the middle of a character (not valid UTF-8), as edges that cut
#       a sidecar's text at a byte limit signed them: stored by ft_oldclip,
#       so that the test does not depend on today's edge. Besides, a sidecar
#       whose cause is one ASCII byte and 85 CJK characters (256 bytes)
#       ingested by the real edge (an edge that cuts at 255 bytes signs the
#       broken string; one that does not, the whole cause). Each clip is in
#       `media list` (text and --json, --case, --cause with the text shown),
#       /api/media/ID, search, the case view and `fieldtrail-hub timeline`,
#       the broken bytes shown as \xNN and everything else as it is; the
#       edge's own `log --json` and `status --json` show it too.
#   chinese_cause_whole      A sidecar with a 300-byte Chinese cause (100 CJK
#       characters) on the real edge: the clip is in `media list --case`,
#       /api/media/ID, search and the case view with the whole cause, signed
#       whole by the edge (edge/ingest.c keeps sidecar text up to 4 KiB).
set -euo pipefail
source "$FT_SRC/tests/web/lib.sh"
OLDCLIP=$FT_BUILD/tests/media/ft_oldclip
[ -x "$OLDCLIP" ] || fail "$OLDCLIP is not built"
SCENARIO=${FT_MEDIA_SCENARIO:?FT_MEDIA_SCENARIO is not set}

ZH100=$(printf '中%.0s' $(seq 100))
ZH85=${ZH100:0:85}

# urlenc TEXT: TEXT percent-encoded byte by byte.
urlenc() {
  local LC_ALL=C
  local s=$1 i c out=""
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
    [a-zA-Z0-9.~_-]) out+=$c ;;
    *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

# hexof TEXT: TEXT's bytes in hex. cut_hex TEXT N: the first N bytes of TEXT.
hexof() {
  printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}
cut_hex() {
  local h
  h=$(hexof "$1")
  printf '%s' "${h:0:$((2 * $2))}"
}

# The hub (dashboard on a free port, media on the ports hub_init chose), a
# staff user, edge car1 with the archive key and the hub's media endpoint.
hub_init
MEDIA_EP=$(awk -F' *= *' '$1 == "media.listen" { v = $2 } END { print v }' "$T/hub/hub.conf")
[ -n "$MEDIA_EP" ] || fail "hub.conf has no media.listen"
ARCHIVE_KEY=$(awk -F' *= *' '$1 == "archive_public" { print $2 }' "$T/hub/hub.pub")
printf '%s\n' "$PW_STAFF" | "$HUB" user add staff --role staff --state "$T/hub" >/dev/null
printf '%s\n' "$PW_SUP" | "$HUB" user add sup --role supervisor --state "$T/hub" >/dev/null
edge_new car1
printf 'media.hub = %s\narchive_key = %s\nchunk_kb = 64\n' "$MEDIA_EP" "$ARCHIVE_KEY" \
  >>"$T/car1/edge.conf"

# clip NAME: a 200 KiB file of random bytes at $T/NAME.
clip() {
  head -c $((200 << 10)) /dev/urandom >"$T/$1"
}

# edge_ingest NAME CASE CAUSE: ingests $T/NAME on car1 with a sidecar; prints the media ID.
edge_ingest() {
  local name=$1 case_id=$2 cause=$3
  clip "$name"
  printf '{"officer":"ZF-0107","kind":"video","start":"2026-05-06T09:00:00+08:00",
"end":"2026-05-06T09:20:00+08:00","case":"%s","cause":"%s","party":"张某"}\n' \
    "$case_id" "$cause" >"$T/$name.json"
  "$EDGE" ingest "$T/$name" --recorder BWC-9 --state "$T/car1" >"$T/ingest.$name.log" 2>&1 ||
    fail "ingest of $name failed: $(cat "$T/ingest.$name.log")"
  "$EDGE" log --state "$T/car1" --json | grep "\"file_name\":\"$name\"" | jget file_id
}

# sync_all N: runs the hub and car1 until the hub holds N complete files.
sync_all() {
  web_hub_start
  edge_start car1
  wait_until 60 "$1 clips complete at the hub" test_complete "$1"
  login staff "$PW_STAFF"
}
test_complete() {
  [ "$("$HUB" media list --state "$T/hub" --json | grep -c '"state":"complete"')" -ge "$1" ]
}

# alert_shown ID: /api/alerts lists the alert ID (BODY: the list).
alert_shown() {
  call staff GET /api/alerts
  [ "$CODE" = 200 ] && grep -qF "\"id\":\"$1\"" <<<"$BODY"
}

# json_has WHAT TEXT FRAGMENT: TEXT contains FRAGMENT (a compact JSON piece).
json_has() {
  grep -qF -- "$3" <<<"$2" || fail "$1: no $3 in: ${2:0:600}"
}

# every_view ID CASE CAUSE_JSON SEARCH_CAUSE: the clip ID is in `media list`
# (text, --json, --case), /api/media/ID, search (by case and by cause) and
# the case view, with "cause":CAUSE_JSON (CAUSE_JSON as jansson writes it).
every_view() {
  local id=$1 case_id=$2 cause_json=$3 search=$4 out row
  out=$("$HUB" media list --state "$T/hub")
  grep -q "^$id " <<<"$out" || fail "media list lacks $id: $out"
  row=$("$HUB" media list --state "$T/hub" --json | grep "\"file_id\":\"$id\"") ||
    fail "media list --json lacks $id"
  json_has "media list --json" "$row" "\"cause\":$cause_json"
  row=$("$HUB" media list --case "$case_id" --state "$T/hub" --json)
  json_has "media list --case $case_id" "$row" "\"file_id\":\"$id\""
  json_has "media list --case $case_id" "$row" "\"cause\":$cause_json"
  call staff GET "/api/media/$id"
  expect 200 "/api/media/$id"
  json_has "/api/media/$id" "$BODY" "\"cause\":$cause_json"
  json_has "/api/media/$id (manifest body)" "$BODY" "\"file_id\":\"$id\""
  call staff GET "/api/search?case=$(urlenc "$case_id")"
  expect 200 "search by case $case_id"
  json_has "search by case $case_id" "$BODY" "\"id\":\"$id\""
  json_has "search by case $case_id" "$BODY" "\"cause\":$cause_json"
  call staff GET "/api/search?kind=media&cause=$(urlenc "$search")"
  expect 200 "search by cause"
  json_has "search by cause" "$BODY" "\"id\":\"$id\""
  call staff GET "/api/cases/$(urlenc "$case_id")/timeline"
  expect 200 "case view of $case_id"
  json_has "case view of $case_id" "$BODY" "\"id\":\"$id\""
  json_has "case view of $case_id" "$BODY" "\"cause\":$cause_json"
  call staff GET "/api/cases"
  json_has "/api/cases" "$BODY" "\"case\":\"$case_id\""
}

case $SCENARIO in
cut_text_shown_escaped)
  # The clip as an old edge signed it: cause "X" + 85 CJK characters cut at
  # 255 bytes (84 characters and two bytes of the 85th), party 张三李四 cut
  # at 11 bytes (two bytes of 四).
  clip old.mp4
  OLD=$("$OLDCLIP" "$T/car1" "$T/old.mp4" BWC-9 "$ARCHIVE_KEY" 2026-05-06T10:00:00+08:00 \
    2026-05-06T10:15:00+08:00 "officer=$(hexof ZF-0107)" "case=$(hexof UTF8-OLD)" \
    "cause=$(cut_hex "X$ZH85" 255)" "party=$(cut_hex 张三李四 11)") ||
    fail "ft_oldclip failed"
  # A clip whose case ID was cut inside a character (UTF8- and two bytes of 中).
  clip oldcase.mp4
  OLDCASE=$("$OLDCLIP" "$T/car1" "$T/oldcase.mp4" BWC-9 "$ARCHIVE_KEY" \
    2026-05-06T11:00:00+08:00 2026-05-06T11:05:00+08:00 "case=$(cut_hex UTF8-中 7)" \
    "cause=$(hexof 案由)") || fail "ft_oldclip failed"
  # The same sidecar text through the real edge.
  NEW=$(edge_ingest new.mp4 UTF8-EDGE "X$ZH85")
  [ -n "$NEW" ] && [ "$NEW" != null ] || fail "the edge's log does not show the ingested clip"
  # The edge's own views: the manifests in `log --json`, the files in `status --json`.
  out=$("$EDGE" log --state "$T/car1" --json)
  CUT='"X'${ZH85:0:84}'\\xE4\\xB8"'
  json_has "edge log --json" "$out" "\"cause\":$CUT"
  json_has "edge log --json" "$out" '"party":"张三李\\xE5\\x9B"'
  out=$("$EDGE" status --state "$T/car1" --json)
  json_has "edge status --json" "$out" "\"file_id\":\"$OLD\""
  "$EDGE" log --state "$T/car1" | grepq "media video" || fail "edge log lists no media"

  sync_all 3
  every_view "$OLD" UTF8-OLD "$CUT" "X${ZH85:0:10}"
  row=$("$HUB" media list --state "$T/hub" --json | grep "\"file_id\":\"$OLD\"")
  json_has "media list --json" "$row" '"party":"张三李\\xE5\\x9B"'
  json_has "media list --json" "$row" '"text_escaped":true'
  # A filter may name the text as shown.
  row=$("$HUB" media list --cause "X${ZH85:0:84}\\xE4\\xB8" --state "$T/hub" --json)
  json_has "media list --cause (as shown)" "$row" "\"file_id\":\"$OLD\""
  call staff GET "/api/media/$OLD"
  json_has "/api/media/$OLD" "$BODY" '"party":"张三李\\xE5\\x9B"'
  json_has "/api/media/$OLD" "$BODY" '"text_escaped":true'
  # The case index and `fieldtrail-hub timeline` (the index is fed by `run`).
  wait_until 30 "the case index to hold UTF8-OLD" \
    bash -c "'$HUB' timeline UTF8-OLD --state '$T/hub' --json >'$T/tl.json' 2>/dev/null"
  json_has "timeline UTF8-OLD --json" "$(cat "$T/tl.json")" "\"media_id\":\"$OLD\""
  "$HUB" timeline UTF8-OLD --state "$T/hub" | grepq "id $OLD" ||
    fail "timeline UTF8-OLD (text) lacks $OLD"

  # The real edge's clip: whatever it signed is shown, in every view.
  row=$("$HUB" media list --state "$T/hub" --json | grep "\"file_id\":\"$NEW\"") ||
    fail "media list --json lacks the edge's clip $NEW"
  if grep -qF "\"cause\":$CUT" <<<"$row"; then
    echo "today's edge cut the sidecar's cause at 255 bytes: shown escaped"
    every_view "$NEW" UTF8-EDGE "$CUT" "X${ZH85:0:10}"
  else
    echo "today's edge kept the sidecar's whole cause"
    every_view "$NEW" UTF8-EDGE "\"X$ZH85\"" "X$ZH85"
  fi
  # An alert whose case is cut mid-character (the hub log holds the bytes, its
  # detail the escaped text, as the engine writes them) is in the alert view.
  "$HUBALERT" "$T/hub" 5a5a5a5a5a5a5a5a coverage.site open "$(printf 'UTF8-\xe4\xb8')" 13 high \
    "现场勘验未全程录像" "site inspection not fully recorded" >/dev/null || fail "ft_hubalert failed"
  wait_until 10 "the alert in the dashboard's view" alert_shown 5a5a5a5a5a5a5a5a
  json_has "/api/alerts" "$BODY" '"case":"UTF8-\\xE4\\xB8"'
  call staff GET /api/alerts/5a5a5a5a5a5a5a5a
  expect 200 "/api/alerts/ID"
  json_has "/api/alerts/ID" "$BODY" '"case":"UTF8-\\xE4\\xB8"'
  # The clip whose case ID is cut: its case is found by the ID as shown, in
  # `media list --case`, search and the case view, which lists the alert too.
  SHOWN='UTF8-\xE4\xB8'
  row=$("$HUB" media list --case "$SHOWN" --state "$T/hub" --json)
  json_has "media list --case (as shown)" "$row" "\"file_id\":\"$OLDCASE\""
  call staff GET "/api/search?case=$(urlenc "$SHOWN")"
  json_has "search by the case as shown" "$BODY" "\"id\":\"$OLDCASE\""
  call staff GET "/api/cases/$(urlenc "$SHOWN")/timeline"
  expect 200 "case view of the case as shown"
  json_has "case view of the case as shown" "$BODY" "\"id\":\"$OLDCASE\""
  json_has "case view of the case as shown" "$BODY" '"case":"UTF8-\\xE4\\xB8"'
  json_has "case view of the case as shown (alerts)" "$BODY" '"id":"5a5a5a5a5a5a5a5a"'
  wait_until 30 "the case index to hold the cut case" \
    bash -c "'$HUB' timeline '$SHOWN' --state '$T/hub' --json >'$T/tl2.json' 2>/dev/null"
  json_has "timeline (the case as shown)" "$(cat "$T/tl2.json")" "\"media_id\":\"$OLDCASE\""
  json_has "timeline (the case as shown)" "$(cat "$T/tl2.json")" '"case":"UTF8-\\xE4\\xB8"'
  # The views were audited, and the audit log lists them.
  login sup "$PW_SUP"
  call sup GET "/api/audit?action=view_case&target=UTF8-OLD"
  expect 200 "audit"
  json_has "audit" "$BODY" '"target":"UTF8-OLD"'
  echo "clips with text cut mid-character are in every view, the broken bytes shown as \\xNN"
  ;;
chinese_cause_whole)
  ID=$(edge_ingest zh.mp4 UTF8-ZH "$ZH100")
  [ -n "$ID" ] && [ "$ID" != null ] || fail "the edge's log does not show the ingested clip"
  # The cause as the edge signed it (its log shows text that is not valid
  # UTF-8 escaped).
  SIGNED=$("$EDGE" log --state "$T/car1" --json | grep "\"file_id\":\"$ID\"" |
    grep -o '"cause":"[^"]*"' | sed -n 1p | cut -d'"' -f4)
  sync_all 1
  every_view "$ID" UTF8-ZH "\"$SIGNED\"" "${ZH100:0:20}"
  [ "$SIGNED" = "$ZH100" ] ||
    fail "the edge signed a cause of $(printf '%s' "$SIGNED" | wc -c) bytes, not the sidecar's 300"
  echo "a 300-byte Chinese cause is whole in media list --case, /api/media/ID, search and the case view"
  ;;
*)
  fail "unknown FT_MEDIA_SCENARIO $SCENARIO"
  ;;
esac
edge_stop car1
hub_stop_clean
