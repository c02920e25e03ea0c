#!/usr/bin/env bash
# Simulated patrol vehicles: realistic enforcement records (docs/records.md)
# for the demo, the sync tests and the benchmark.
#
#   ops/simulate.sh gen VEHICLE COUNT [START]
#       prints COUNT records of vehicle VEHICLE as JSON lines, numbered from
#       START (default 0). Each record has a stable `id` (VEHICLE-rNNNNNNN), so
#       generating the same range again gives the same lines. Every 10
#       records make one case: complaint, acceptance, recorder checkout,
#       patrol, inquiry, site inspection, evidence list, leader approval,
#       decision, service. Times advance 10 minutes per record from
#       2026-03-01T08:00+08:00.
#
#   ops/simulate.sh vehicle EDGE_BINARY STATE_DIR VEHICLE [EVERY_SECONDS] [PER_ROUND]
#       one vehicle at work: every EVERY_SECONDS (default 2) imports the next
#       PER_ROUND (default 5) records into the edge at STATE_DIR, forever;
#       remembers where it is in STATE_DIR/simulate.next. Prints a line per round.
#       With ffmpeg, the vehicle's recorder also films: for most activities of
#       the round (patrol, inquiry, site inspection, service) a real MP4 clip
#       (a small test picture and tone, 8 minutes, its capture time in the
#       container's mvhd box) is dropped into the edge's inbox
#       (STATE_DIR/inbox/DSJ-VEHICLE/), which ingests it; one activity in
#       seven gets none, so a supervisor sees real gaps beside covered
#       activities. Without ffmpeg there are no clips (said once).
#
#   ops/simulate.sh clips STATE_DIR VEHICLE START COUNT
#       only the clips of records START..START+COUNT-1 (as `vehicle` makes them).
set -euo pipefail

gen() { # vehicle count start
  awk -v veh="$1" -v count="$2" -v start="${3:-0}" '
  function two(n) { return (n < 10 ? "0" n : "" n) }
  # RFC 3339 (+08:00) of minutes after 2026-01-01T00:00+08:00 (2026 is not a leap year).
  function ts(mins,   d, m, h, mi, md, mon) {
    split("31 28 31 30 31 30 31 31 30 31 30 31", md, " ")
    d = int(mins / 1440); mi = mins % 1440; h = int(mi / 60); mi = mi % 60
    mon = 1
    while (mon <= 12 && d >= md[mon] + 0) { d -= md[mon]; mon++ }
    if (mon > 12) { mon = 12; d = 30 }
    return "2026-" two(mon) "-" two(d + 1) "T" two(h) ":" two(mi) ":00+08:00"
  }
  BEGIN {
    unit = "南大港产业园区自然资源所"
    split("非法占用耕地建房|未经批准擅自采砂|非法转让土地|违法占地建设养殖场|擅自改变土地用途", causes, "|")
    split("张某|李某|王某|赵某|刘某|陈某|孙某", parties, "|")
    base = 59 * 1440 + 8 * 60   # 2026-03-01T08:00+08:00
    for (i = start; i < start + count; i++) {
      c = int(i / 10); step = i % 10
      case_id = toupper(veh) "-2026-" sprintf("%05d", c)
      cause = causes[(c % 5) + 1]; party = parties[(c % 7) + 1]
      off1 = sprintf("ZF-%04d", (c * 7) % 200 + 100); off2 = sprintf("ZF-%04d", (c * 11 + 37) % 200 + 100)
      rec = "DSJ-" toupper(veh)
      t0 = base + i * 10; t1 = t0 + 8
      id = sprintf("%s-r%07d", veh, i)
      common = "\"id\":\"" id "\",\"unit\":\"" unit "\""
      caseinfo = ",\"case\":\"" case_id "\",\"cause\":\"" cause "\",\"party\":\"" party "\""
      offs = ",\"officers\":[\"" off1 "\",\"" off2 "\"]"
      win = ",\"start\":\"" ts(t0) "\",\"end\":\"" ts(t1) "\""
      at = ",\"time\":\"" ts(t0) "\""
      if (step == 0)
        printf "{\"type\":\"complaint_registered\",%s%s%s%s,\"fields\":{\"complainant\":\"群众举报\",\"summary\":\"举报有人%s\"}}\n", common, caseinfo, at, offs, cause
      else if (step == 1)
        printf "{\"type\":\"complaint_decision\",%s%s%s%s,\"fields\":{\"accepted\":true,\"reason\":\"属本所管辖，予以受理\"}}\n", common, caseinfo, at, offs
      else if (step == 2)
        printf "{\"type\":\"recorder_checkout\",%s%s,\"officers\":[\"%s\"],\"recorders\":[\"%s\"],\"fields\":{\"recorder\":\"%s\",\"officer\":\"%s\",\"battery_pct\":%d,\"free_mb\":%d}}\n", common, at, off1, rec, rec, off1, 60 + (c % 40), 20000 + (c * 37) % 30000
      else if (step == 3)
        printf "{\"type\":\"patrol\",%s%s%s,\"recorders\":[\"%s\"],\"location\":{\"lat\":%.5f,\"lon\":%.5f}}\n", common, win, offs, rec, 38.5 + (c % 100) / 1000.0, 117.3 + (c % 77) / 1000.0
      else if (step == 4)
        printf "{\"type\":\"inquiry\",%s%s%s%s,\"recorders\":[\"%s\"],\"fields\":{\"subject\":\"%s\",\"transcript_no\":\"XW-%s-01\"}}\n", common, caseinfo, win, offs, rec, party, case_id
      else if (step == 5)
        printf "{\"type\":\"site_inspection\",%s%s%s%s,\"recorders\":[\"%s\"],\"fields\":{\"record_no\":\"KC-%s-1\"}}\n", common, caseinfo, win, offs, rec, case_id
      else if (step == 6)
        printf "{\"type\":\"evidence_registration\",%s%s%s,\"fields\":{\"items\":[\"现场照片%d张\",\"询问笔录1份\"],\"officer_signature\":\"%s、%s\",\"provider_signature\":\"%s\",\"date\":\"%s\"}}\n", common, caseinfo, at, 3 + c % 9, off1, off2, party, substr(ts(t0), 1, 10)
      else if (step == 7)
        printf "{\"type\":\"leader_approval\",%s%s%s,\"fields\":{\"opinion\":\"同意立案查处\",\"signer\":\"所长\"}}\n", common, caseinfo, at
      else if (step == 8)
        printf "{\"type\":\"decision\",%s%s%s,\"fields\":{\"decision_no\":\"JD-%s\",\"reasons\":\"%s，违反《土地管理法》相关规定\"}}\n", common, caseinfo, at, case_id, cause
      else
        printf "{\"type\":\"service_direct\",%s%s%s%s,\"fields\":{\"document\":\"JD-%s\",\"server_signature\":\"%s\",\"recipient_signature\":\"%s\",\"date\":\"%s\"}}\n", common, caseinfo, win, offs, case_id, off1, party, substr(ts(t0), 1, 10)
    }
  }'
}

# The clip of record i of vehicle veh, if it gets one: "START_UTC NAME".
clip_plan() { # veh i
  awk -v veh="$1" -v i="$2" 'BEGIN {
    step = i % 10
    if (step != 3 && step != 4 && step != 5 && step != 9) exit
    if ((i * 3 + length(veh)) % 7 == 0) exit          # a real gap: nothing filmed
    base = 59 * 1440 + 8 * 60 - 8 * 60                # 2026-03-01T00:00Z, minutes into 2026
    t = base + i * 10
    split("31 28 31 30 31 30 31 31 30 31 30 31", md, " ")
    d = int(t / 1440); mi = t % 1440; mon = 1
    while (mon <= 12 && d >= md[mon] + 0) { d -= md[mon]; mon++ }
    printf "2026-%02d-%02dT%02d:%02d:00Z %s_%07d.MP4\n", mon, d + 1, int(mi / 60), mi % 60, toupper(veh), i
  }'
}

# Films records start..start+count-1: each clip written beside the inbox and
# moved in whole (the inbox takes complete files).
clips() { # state veh start count
  local state=$1 veh=$2 start=$3 count=$4 i plan at name
  command -v ffmpeg >/dev/null || return 0
  local dir="$state/inbox/DSJ-$(tr '[:lower:]' '[:upper:]' <<<"$veh")"
  mkdir -p "$dir" "$state/inbox.tmp"
  for ((i = start; i < start + count; i++)); do
    plan=$(clip_plan "$veh" "$i")
    [ -n "$plan" ] || continue
    at=${plan%% *} name=${plan#* }
    ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=160x120:rate=1/4" \
      -f lavfi -i "sine=frequency=440:sample_rate=8000" -t 480 \
      -c:v libx264 -preset ultrafast -crf 40 -c:a aac -b:a 16k \
      -metadata creation_time="$at" -movflags +faststart "$state/inbox.tmp/$name" &&
      mv "$state/inbox.tmp/$name" "$dir/$name"
  done
}

vehicle() { # edge state veh [every] [per]
  local edge=$1 state=$2 veh=$3 every=${4:-2} per=${5:-5}
  local next_file="$state/simulate.next" next=0
  [ -f "$next_file" ] && next=$(cat "$next_file")
  command -v ffmpeg >/dev/null ||
    echo "[$veh] no ffmpeg: the recorder films nothing (every activity is a gap)" >&2
  while :; do
    if out=$(gen "$veh" "$per" "$next" | "$edge" import - --state "$state" --json 2>&1); then
      next=$((next + per))
      echo "$next" >"$next_file"
      echo "[$veh] recorded $per more records (total $next)"
      clips "$state" "$veh" $((next - per)) "$per" ||
        echo "[$veh] a clip could not be made (ffmpeg failed)" >&2
    else
      echo "[$veh] import failed: $out" >&2
    fi
    sleep "$every"
  done
}

case "${1:-}" in
gen) shift; gen "$@" ;;
vehicle) shift; vehicle "$@" ;;
clips) shift; clips "$@" ;;
*)
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
