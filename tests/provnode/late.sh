#!/usr/bin/env bash
# What arrives later marks what it meets in time (docs/province.md "What a
# batch marks"): the province has taken in and evaluated a county's
# activities, their coverage alerts open; then clips arrive, in a later
# batch, that cover some of them by officer, by recorder, or by neither
# until a recorder checkout arrives later still. At each step the province's
# alerts (every state) equal the county's: a case the new entries meet in
# time is evaluated again, and one they do not meet keeps its alert.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MEDIA=$FT_BUILD/tests/gaps/ft_media
[ -x "$MEDIA" ] || fail "$MEDIA is not built"

NOW=2026-06-01T00:00:00+08:00
D=2026-05-
Z=+08:00
U='"unit":"黄骅市自然资源局执法大队"'
pg_start
schema_apply
county_new cl
county_edge cl desk "黄骅市自然资源局执法大队"
county_edge cl van "黄骅市自然资源局执法大队"

# step NAME: sync, evaluate both tiers, compare every alert's state.
step() {
  county_sync cl --now "$NOW"
  "$HUB" evaluate --state "$T/cl" --now "$NOW" >/dev/null || fail "county evaluate ($1) failed"
  county_forward cl
  "$HUB" evaluate --store "$PG_URL" --now "$NOW" --node p1 >"$T/p.$1.out" 2>&1 ||
    fail "provincial evaluate ($1) failed: $(cat "$T/p.$1.out")"
  alerts_county "$T/county.$1" cl
  alerts_prov "$T/prov.$1"
  if ! diff -u "$T/county.$1" "$T/prov.$1" >"$T/diff.$1"; then
    cat "$T/diff.$1" >&2
    fail "after $1 the province's alerts differ from the county's (- county, + province)"
  fi
}
# state CASE: the coverage alert's (rule 3) state of CASE at the province.
state() {
  awk -F'|' -v c="$1" '$2 == "3" && $5 == c { print $6 }' "$T/prov.$2" | sort -u | paste -sd, -
}

# Four cases, each with one inquiry and nothing filmed: A by officer o1, B
# with recorder r2, D by officer o3, E by officer o1 on another day.
{
  for c in A:o1:-:20T10 B:o7:r2:21T09 D:o3:-:22T14 E:o1:-:25T16; do
    IFS=: read -r k o r h <<<"$c"
    rec=""
    [ "$r" = - ] || rec=",\"recorders\":[\"$r\"]"
    echo "{\"type\":\"inquiry\",\"case\":\"L-$k\",$U,\"start\":\"${D}${h}:00:00$Z\",\"end\":\"${D}${h}:30:00$Z\",\"officers\":[\"$o\"]$rec,\"fields\":{\"subject\":\"x\",\"transcript_no\":\"XW-$k\"}}"
  done
} >"$T/office.jsonl"
out=$("$EDGE" import "$T/office.jsonl" --state "$T/cl-desk" 2>&1) || fail "import failed: $out"
step records
changes_e() { psql_q "SELECT changes FROM ft.prov_case_state WHERE county = 'cl' AND case_id = 'L-E'"; }
e0=$(changes_e)
for k in A B D E; do
  [ "$(state L-$k records)" = open ] || fail "L-$k's coverage alert is not open at first: $(cat "$T/prov.records")"
done

# A database made before the time keys (schema version 3) holds none: take
# them away as such a database would be, and the next node to start fills
# them from what was taken in (the clips below then need them).
keys0=$(psql_q "SELECT count(*) FROM ft.prov_acts WHERE county = 'cl'")
[ "$keys0" = 5 ] || fail "ft.prov_acts should hold 5 rows (4 officers, 1 recorder), not $keys0"
pg_as_superuser "DELETE FROM ft.prov_acts; DELETE FROM ft.prov_spans; DELETE FROM ft.prov_holders;
  DELETE FROM ft.meta WHERE name = 'prov_acts_filled'" >/dev/null

# Clips, later: c1 by o1 over A's inquiry (recorder r9); c2 of recorder r2
# over B's, naming no officer; c3 of recorder r3 over D's, naming no officer
# (nobody has r3 checked out yet: it covers nothing).
"$MEDIA" "$T/cl-van" 000000000000000000000000000000d1 r9 o1 - "${D}20T10:00:00$Z" "${D}20T10:30:00$Z" >/dev/null ||
  fail "ft_media c1"
"$MEDIA" "$T/cl-van" 000000000000000000000000000000d2 r2 - - "${D}21T09:00:00$Z" "${D}21T09:30:00$Z" >/dev/null ||
  fail "ft_media c2"
"$MEDIA" "$T/cl-van" 000000000000000000000000000000d3 r3 - - "${D}22T14:00:00$Z" "${D}22T14:30:00$Z" >/dev/null ||
  fail "ft_media c3"
step clips
grepq 'the time keys of 4 entries taken in before schema version 4 were filled in' <"$T/p.clips.out" ||
  fail "the node did not fill the time keys: $(cat "$T/p.clips.out")"
[ "$(state L-A clips)" = resolved ] || fail "L-A should be covered by c1 (its officer): $(cat "$T/prov.clips")"
[ "$(state L-B clips)" = resolved ] || fail "L-B should be covered by c2 (its recorder): $(cat "$T/prov.clips")"
[ "$(state L-D clips)" = open ] || fail "L-D should still be open: $(cat "$T/prov.clips")"
[ "$(state L-E clips)" = open ] || fail "L-E should still be open: $(cat "$T/prov.clips")"

# Later still: the checkout of r3 to o3 that morning: c3 is o3's, and covers D.
echo "{\"type\":\"recorder_checkout\",\"id\":\"k-3\",$U,\"time\":\"${D}22T08:00:00$Z\",\"fields\":{\"recorder\":\"r3\",\"officer\":\"o3\",\"battery_pct\":90,\"free_mb\":9000}}" \
  >"$T/checkout.jsonl"
out=$("$EDGE" import "$T/checkout.jsonl" --state "$T/cl-desk" 2>&1) || fail "import (checkout) failed: $out"
step checkout
[ "$(state L-D checkout)" = resolved ] || fail "L-D should be covered by c3 once r3 is o3's: $(cat "$T/prov.checkout")"
[ "$(state L-E checkout)" = open ] || fail "L-E should still be open: $(cat "$T/prov.checkout")"
# The marking is bounded in time: nothing since met E, so it was not marked
# changed again (it was, by every clip and checkout, before the bound).
[ "$(changes_e)" = "$e0" ] || fail "L-E was marked changed by entries that do not meet it ($e0 -> $(changes_e))"
echo "late clips and a late checkout: the province's alerts equal the county's at every step"
prov_converge cl
