#!/usr/bin/env bash
# Caseless records and unlinked media at the province (docs/province.md
# "Gap engine"): in county ca, an office logs caseless records (a complaint
# whose decision is overdue, one missing its fields, one not yet due, a
# patrol) and a vehicle logs caseless clips (one covering the patrol, one of
# nobody's activity, one captured just before the evaluation time). Each
# caseless record and each clip is a unit of its own at both tiers: at two
# evaluation times the province's alerts (every state) equal the county's,
# a grace period ending between the two included.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MEDIA=$FT_BUILD/tests/gaps/ft_media
[ -x "$MEDIA" ] || fail "$MEDIA is not built"

NOW=2026-06-01T00:00:00+08:00
NOW2=2026-06-15T00:00:00+08:00
D=2026-05-
Z=+08:00
U='"unit":"黄骅市自然资源局执法大队"'
pg_start
schema_apply
county_new ca
county_edge ca desk "黄骅市自然资源局执法大队"
county_edge ca van "黄骅市自然资源局执法大队"

cat >"$T/office.jsonl" <<JSON
{"type":"patrol","id":"p-1",$U,"start":"${D}20T10:00:00$Z","end":"${D}20T10:30:00$Z","officers":["o9"]}
{"type":"patrol","id":"p-2",$U,"start":"${D}22T14:00:00$Z","end":"${D}22T15:00:00$Z","officers":["o4"]}
{"type":"recorder_checkout","id":"k-1",$U,"time":"${D}23T08:00:00$Z","fields":{"recorder":"r40","officer":"o4","battery_pct":10,"free_mb":9000}}
{"type":"recorder_maintenance","id":"m-1",$U,"time":"${D}24T08:00:00$Z","fields":{"recorder":"r40"}}
{"type":"recorder_status","id":"s-1",$U,"time":"${D}24T09:00:00$Z","fields":{"recorder":"r41","battery_pct":90,"free_mb":9000}}
JSON
out=$("$EDGE" import "$T/office.jsonl" --state "$T/ca-desk" 2>&1) || fail "import failed: $out"
# c1 covers the patrol (officer o9); c2 is nobody's; c3 ends 10 min before NOW.
"$MEDIA" "$T/ca-van" 000000000000000000000000000000c1 r31 o9 - "${D}20T10:00:00$Z" "${D}20T10:30:00$Z" >/dev/null ||
  fail "ft_media c1"
"$MEDIA" "$T/ca-van" 000000000000000000000000000000c2 r32 o5 - "${D}21T08:00:00$Z" "${D}21T08:20:00$Z" >/dev/null ||
  fail "ft_media c2"
"$MEDIA" "$T/ca-van" 000000000000000000000000000000c3 r33 o6 - "${D}31T23:30:00$Z" "${D}31T23:50:00$Z" >/dev/null ||
  fail "ft_media c3"

county_sync ca --now "$NOW"
"$HUB" evaluate --state "$T/ca" --now "$NOW" >/dev/null || fail "county evaluate failed"
county_forward ca
"$HUB" evaluate --store "$PG_URL" --now "$NOW" --node p1 >"$T/p1.out" 2>&1 ||
  fail "provincial evaluate failed: $(cat "$T/p1.out")"

# compare NAME: the county's alerts (cases, caseless records, media) and the
# province's, every state.
# An alert resolved at the county and never raised at the province is the
# history of the county's arrival order (a patrol seen before its clip
# arrived; docs/province.md), left out as prov_converge leaves it.
compare() {
  alerts_county "$T/county.$1.all" ca
  alerts_prov "$T/prov.$1"
  awk -F'|' 'NR == FNR { p[$1] = 1; next } !($6 == "resolved" && !($1 in p))' \
    "$T/prov.$1" "$T/county.$1.all" >"$T/county.$1"
  if ! diff -u "$T/county.$1" "$T/prov.$1" >"$T/diff.$1"; then
    cat "$T/diff.$1" >&2
    fail "at $1 the province's alerts differ from the county's (- county, + province)"
  fi
}
compare now
c=$T/county.now
# what the county raises, so that an empty province cannot pass
[ "$(grep -c '|3|11|ca||open' "$c")" = 1 ] || fail "the county should raise rule 3 for p-2 only: $(cat "$c")"
grepq '|13|12|ca||open' "$c" || fail "the county should raise rule 13 for k-1: $(cat "$c")"
grepq '|4|12|ca||open' "$c" || fail "the county should raise rule 4 for m-1: $(cat "$c")"
[ "$(grep -c '|14|24(4)|ca||open' "$c")" = 1 ] ||
  fail "the county should raise rule 14 for clip c2 only: $(cat "$c")"
[ "$(psql_q "SELECT count(*) FROM ft.prov_unit_state WHERE county = 'ca' AND kind = 2")" = 3 ] ||
  fail "the province should hold three media units"
echo "at $NOW: province = county, $(wc -l <"$c") alerts of caseless records and media"

# Later: c3's grace ends at both tiers.
"$HUB" evaluate --state "$T/ca" --now "$NOW2" >/dev/null || fail "county evaluate (2) failed"
county_forward ca
"$HUB" evaluate --store "$PG_URL" --now "$NOW2" --node p1 >"$T/p2.out" 2>&1 ||
  fail "provincial evaluate (2) failed: $(cat "$T/p2.out")"
compare later
c=$T/county.later
[ "$(grep -c '|14|24(4)|ca||open' "$c")" = 2 ] || fail "by $NOW2 rule 14 should be open for c2 and c3: $(cat "$c")"
echo "at $NOW2: province = county, $(wc -l <"$c") alerts"
prov_converge ca
