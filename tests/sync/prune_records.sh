#!/usr/bin/env bash
# What a stolen unit reveals (issue part 5): after the hub's receipt and
# records.keep_days, no party or complainant name is in any file of the
# edge's state directory, `verify` passes, `log` shows the entries as
# pruned, an entry the hub has not acknowledged is never pruned, and the hub
# still has every record.
#
# Real processes on 127.0.0.1: a hub and an edge. The edge imports records
# naming a party and a complainant (and the sample case), ingests a clip
# whose sidecar names a party, and syncs until the hub's receipt covers its
# head. The edge's clock is then moved on with libfaketime (Debian's faketime
# package), past keep_days.
#
# The names are never in the edge's files, not even before pruning: the log
# is encrypted at rest. So that the grep can fail, it is checked first on
# what does hold them: the hub's state directory (the same grep over LMDB
# files) and the edge's own `log` output. After pruning, the bucket keys the
# names were encrypted under are gone from db/bucket.keys too.
set -euo pipefail
# shellcheck source=tests/media/lib.sh
. "$FT_SRC/tests/media/lib.sh"
TAMPER=$FT_BUILD/tests/edge_cli/ft_tamper

FT_LIBFAKETIME=${FT_LIBFAKETIME:-$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | sed -n 1p)}
[ -n "$FT_LIBFAKETIME" ] || fail "libfaketime is not installed (ops/install-deps.sh installs faketime)"
export FAKETIME_DONT_FAKE_MONOTONIC=1 DONT_FAKE_MONOTONIC=1
# (ASan wants its runtime first; with libfaketime preloaded it must be told not to check.)
ASAN_FAKE="ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0"
at() { # DAYS CMD...: CMD with the clock DAYS days ahead
  local days=$1
  shift
  env "$ASAN_FAKE" LD_PRELOAD="$FT_LIBFAKETIME" FAKETIME="+${days}d" "$@"
}
[ "$(at 1 date +%Y%m%d)" = "$(date -d tomorrow +%Y%m%d)" ] || fail "libfaketime does not work here"

PARTY="欧阳测试甲"      # a party (当事人)
COMPLAINANT="司马测试乙" # a complainant
MEDIA_PARTY="诸葛测试丙" # the party a clip's sidecar names
LATE_PARTY="上官测试丁"  # the party of a record the hub has not acknowledged
NAMES=("$PARTY" "$COMPLAINANT" "$MEDIA_PARTY")

# names_in DIR [NAME...]: the names (of NAMES and the arguments) found in any file under DIR (binary files too).
names_in() { # DIR [MORE NAMES...]
  local dir=$1 n
  shift
  for n in "${NAMES[@]}" "$@"; do
    if grep -rqaF -- "$n" "$dir"; then
      echo "$n in $(grep -rlaF -- "$n" "$dir" | tr '\n' ' ')"
    fi
  done
}

media_hub_init
media_edge_new car
S=$T/car
# The clip's chunks stay (media pruning by age would add events to the log
# while the test counts entries).
echo "media.keep_days = 0" >>"$S/edge.conf"
cat >"$T/records.jsonl" <<EOF
{"type":"complaint_registered","id":"pr-01","case":"PR-2026-001","cause":"非法占用耕地建房","party":"$PARTY","time":"2026-03-01T15:20:00+08:00","officers":["ZF-0112"],"fields":{"complainant":"$COMPLAINANT","summary":"举报耕地内建房"}}
{"type":"inquiry","id":"pr-02","case":"PR-2026-001","party":"$PARTY","start":"2026-03-03T09:00:00+08:00","end":"2026-03-03T09:40:00+08:00","officers":["ZF-0112"],"fields":{"subject":"$PARTY","transcript_no":"XW-001"}}
{"type":"decision","id":"pr-03","case":"PR-2026-001","party":"$PARTY","time":"2026-03-20T10:00:00+08:00","officers":["ZF-0112"],"fields":{"decision_no":"JD-001","reasons":"$COMPLAINANT 举报属实"}}
EOF
"$EDGE" import "$T/records.jsonl" --state "$S" >/dev/null || fail "import of the named records failed"
"$EDGE" import "$FT_SRC/ops/sample-records.jsonl" --state "$S" >/dev/null || fail "import of the sample failed"
head -c 300000 /dev/urandom >"$T/clip.mp4"
printf '{"officer":"ZF-0112","case":"PR-2026-001","party":"%s","start":"2026-03-03T09:00:00+08:00","end":"2026-03-03T09:40:00+08:00"}\n' \
  "$MEDIA_PARTY" >"$T/clip.mp4.json"
"$EDGE" ingest "$T/clip.mp4" --recorder BC-7 --state "$S" >/dev/null 2>&1 || fail "ingest of the clip failed"
H=$(edge_head car)
echo "edge holds $H entries (3 named records, the sample case, a clip's manifest)"

# Encrypted at rest from the start: the names are in the log (decrypted by
# `log`), not in its files.
listing=$("$EDGE" log --state "$S" --json)
for n in "${NAMES[@]}"; do
  grepq -F -- "$n" <<<"$listing" || fail "\`log\` does not show $n: the test's records are wrong"
done
found=$(names_in "$S")
[ -z "$found" ] || fail "plaintext names in the edge's state directory before pruning: $found"

hub_start
"$EDGE" run --state "$S" --until-synced --timeout $((60 * FT_SYNC_SLOW)) 2>>"$S/run.log" ||
  fail "the edge did not sync"
all_synced car || fail "the hub does not hold the edge's whole log"
[ "$("$EDGE" status --state "$S" --json | jget acked_seq)" = "$H" ] ||
  fail "the stored receipt does not cover the head $H"
# The same grep finds the names where they are stored in plaintext: the hub.
for n in "${NAMES[@]}"; do
  grep -rqaF -- "$n" "$T/hub" || fail "the grep does not find $n even in the hub's state directory"
done
R1=$("$HUB" verify --state "$T/hub" --json | jget records)
[ "$R1" = "$((H - 1))" ] || fail "the hub holds $R1 records, expected $((H - 1)) (all but the manifest)"
echo "before pruning: the hub's files hold all three names, the edge's none; receipt covers 1..$H"

# Receipted but not old enough (true time, keep_days 90), or kept for ever: nothing goes.
out=$("$EDGE" prune --state "$S" --json) || fail "prune failed: $out"
[ "$(jget pruned <<<"$out")" = 0 ] || fail "prune took entries younger than keep_days: $out"
out=$(at 200 "$EDGE" prune --state "$S" --keep-days 0 --json) || fail "prune --keep-days 0 failed"
[ "$(jget pruned <<<"$out")" = 0 ] || fail "keep_days 0 pruned entries: $out"
out=$("$EDGE" prune --state "$S" --keep-days many 2>&1) && fail "a bad --keep-days was taken: $out"
grepq -F 'records.keep_days must be a whole number' <<<"$out" || fail "bad keep_days message: $out"

# 100 days on, a record the hub has not acknowledged; 300 days on, prune:
# it is old enough by then, but not receipted, so it stays whole.
printf '{"type":"complaint_registered","id":"pr-04","case":"PR-2026-002","party":"%s","time":"2026-06-01T10:00:00+08:00","fields":{"complainant":"%s","summary":"再次举报"}}\n' \
  "$LATE_PARTY" "$COMPLAINANT" | at 100 "$EDGE" import - --state "$S" >/dev/null ||
  fail "import of the late record failed"
out=$(at 300 "$EDGE" prune --state "$S" --json) || fail "prune after keep_days failed: $out"
echo "prune 300 days on: $out"
[ "$(jget pruned <<<"$out")" = "$H" ] || fail "expected entries 1..$H pruned: $out"
[ "$(jget last <<<"$out")" = "$H" ] || fail "pruned past the receipt: $out"
[ "$(jget kept <<<"$out")" = 1 ] || fail "expected the late record kept: $out"
[ "$(jget keys_dropped <<<"$out")" -ge 1 ] || fail "the pruned bucket's key was not dropped: $out"

found=$(names_in "$S")
[ -z "$found" ] || fail "names left in the edge's state directory after pruning: $found"
run_out=$("$EDGE" verify --state "$S") || fail "verify after pruning failed: $run_out"
grepq -F "log OK: $((H + 1)) entries verified" <<<"$run_out" || fail "verify: $run_out"
grepq -F "$H of them pruned" <<<"$run_out" || fail "verify does not count the pruned entries: $run_out"
listing=$("$EDGE" log --state "$S" --json)
[ "$(grep -c '"pruned":true' <<<"$listing")" = "$H" ] || fail "log does not show $H pruned entries"
grepq -F "\"seq\":1,\"hash\":" <<<"$listing" || fail "log --json hides pruned entry 1"
pruned_lines=$(grep -F '"pruned":true' <<<"$listing")
for n in "${NAMES[@]}"; do
  if grep -qF -- "$n" <<<"$pruned_lines"; then
    fail "a pruned entry shows $n"
  fi
done
last_line=$(sed -n "$((H + 1))p" <<<"$listing")
grepq -F "$LATE_PARTY" <<<"$last_line" || fail "the unacknowledged entry $((H + 1)) lost its text: $last_line"
text=$("$EDGE" log --state "$S" --to 2)
grepq -E '^ +1  pruned \(hash [0-9a-f]{64}' <<<"$text" || fail "log shows entry 1 as: $text"
st=$("$EDGE" status --state "$S" --json)
[ "$(jget pruned <<<"$st")" = "$H" ] && [ "$(jget kept <<<"$st")" = 1 ] ||
  fail "status does not count pruned/kept: $st"
echo "after pruning: no name in any file, verify passes, log shows 1..$H pruned, $((H + 1)) kept"

# A flipped byte in a stub is caught and named.
"$TAMPER" "$S/db" flip 3 60 >/dev/null || fail "ft_tamper flip failed"
rc_of "$EDGE" verify --state "$S"
[ "$RC" = 1 ] || fail "verify passed with a flipped byte in pruned entry 3"
out=$("$EDGE" verify --state "$S" 2>&1 || true)
grepq -F "DAMAGED at entry 3:" <<<"$out" || fail "verify does not name entry 3: $out"
grepq -F "stored data altered" <<<"$out" || fail "verify does not say the stub was altered: $out"
"$TAMPER" "$S/db" flip 3 60 >/dev/null || fail "ft_tamper flip back failed"
"$EDGE" verify --state "$S" >/dev/null || fail "verify fails after the flip was undone"

# The late record syncs (no pruned entry is sent), then `run` itself prunes
# it at start once the receipt covers it.
at 300 "$EDGE" run --state "$S" --until-synced --timeout $((60 * FT_SYNC_SLOW)) 2>>"$S/run.log" ||
  fail "the late record did not sync"
H2=$(edge_head car)
[ "$H2" = "$((H + 1))" ] || fail "the edge holds $H2 entries, expected $((H + 1))"
held=$(hub_held car)
[ "$held" = "$H2" ] || fail "the hub holds $held entries, expected $H2"
if grep -qF "pruned on this unit" "$S/run.log"; then
  fail "the hub wanted a pruned entry: $(grep -F 'pruned on this unit' "$S/run.log")"
fi
at 300 "$EDGE" run --state "$S" --until-synced --timeout $((60 * FT_SYNC_SLOW)) 2>>"$S/run.log" ||
  fail "the second run did not end"
grepq -F "pruned entries $H2..$H2" <"$S/run.log" || fail "run did not prune the late record"
found=$(names_in "$S" "$LATE_PARTY")
[ -z "$found" ] || fail "names left after everything was pruned: $found"
st=$("$EDGE" status --state "$S" --json)
[ "$(jget kept <<<"$st")" = 0 ] && [ "$(jget keys <<<"$st")" = 0 ] ||
  fail "with every entry pruned, no entry and no bucket key should be kept: $st"
"$EDGE" verify --state "$S" >/dev/null || fail "verify fails after run pruned"
out=$("$HUB" verify --state "$T/hub" --json) || fail "hub verify failed: $out"
[ "$(jget entries <<<"$out")" = "$H2" ] || fail "the hub lost entries: $out"
[ "$(jget records <<<"$out")" = "$((R1 + 1))" ] || fail "the hub lost records: $out"
echo "the late record synced, then run pruned it; the hub verifies all $H2 entries, $((R1 + 1)) records"

# compact refuses while the daemon has the database open, works once it stopped.
daemon_up() { [ "$("$EDGE" status --state "$S" --json | jget daemon_running)" = true ]; }
edge_start car
wait_until 30 "the edge's daemon running" daemon_up
rc_of "$EDGE" compact --state "$S"
[ "$RC" = 1 ] || fail "compact ran while \`run\` had the database open"
edge_stop car
out=$("$EDGE" compact --state "$S") || fail "compact failed: $out"
"$EDGE" verify --state "$S" >/dev/null || fail "verify fails after compact"

# A hub that asks for pruned entries (restored without this device's log):
# the edge says so in its log and sends nothing.
hub_stop
P2=$(free_port)
"$HUB" init --state "$T/hub2" --listen "tcp://127.0.0.1:$P2" --advertise 127.0.0.1 --json \
  >"$T/hub2.init.json" || fail "hub2 init failed"
printf '\nhttp = off\n[alerts]\npublish = off\n[media]\nlisten = tcp://127.0.0.1:%s\ndata_listen = tcp://127.0.0.1:%s\n' \
  "$(free_port)" "$(free_port)" >>"$T/hub2/hub.conf"
"$HUB" enroll "$S/device.pub" --unit unit-car --vehicle car-car --state "$T/hub2" >/dev/null ||
  fail "enroll at hub2 failed"
"$HUB" run --state "$T/hub2" 2>>"$T/hub2/hub.log" &
PIDS+=("$!")
wait_until 30 "hub2 listening" port_listened "$P2"
rc_of "$EDGE" run --state "$S" --hub "tcp://127.0.0.1:$P2" --hub-key "$(jget hub_key <"$T/hub2.init.json")" \
  --until-synced --timeout $((8 * FT_SYNC_SLOW)) 2>>"$S/run.log"
[ "$RC" = 1 ] || fail "the edge claimed to be synced with a hub that lacks its pruned entries"
grepq -F "the hub asks for entry 1, which was pruned on this unit" <"$S/run.log" ||
  fail "the edge did not say that the wanted entry was pruned"
"$EDGE" verify --state "$S" >/dev/null || fail "verify fails after talking to another hub"
echo "a hub without the log is told that entry 1 was pruned on this unit"
