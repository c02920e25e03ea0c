#!/usr/bin/env bash
# What some libraries link, all the way down (their link closure, written at
# configure time by tests/lint.cmake to $FT_BUILD/tests/lint/links/LIB.txt):
#   - ft_gaps, the gap rules, links nothing but the core (ft_core and what
#     it links): it is to be linked into the edge, without the hub;
#   - ft_web, the web server, links none of its API modules (ft_webapi):
#     they register with it (hub/web/web.h), so there is no cycle between
#     the server and its modules;
#   - neither links the provincial node's dashboard (ft_provweb) or
#     anything of PostgreSQL: a county hub's dashboard needs no libpq;
#   - ft_views and ft_devices link no HTTP, ZeroMQ or curl, and no web;
#   - the vehicle's screen (ft_vehview, ft_edgeui) links of the hub only the
#     gap rules (no store, engine, views or web) and no ZeroMQ.
# tests/lint/boundaries.sh checks the includes; this checks the links.
set -euo pipefail
: "${FT_BUILD:?FT_BUILD is not set: run this test through ctest}"

# library | only: what it may link (nothing else) | or not: what it may not
RULES='
ft_gaps    | only | ft_core ft_proto m PkgConfig::SODIUM PkgConfig::JANSSON PkgConfig::PROTOBUFC
ft_web     | not  | ft_webapi ft_provweb ft_provnode PkgConfig::PQ PkgConfig::LIBPQ
ft_views   | not  | ft_web ft_webapi PkgConfig::MHD PkgConfig::ZMQ PkgConfig::CURL
ft_devices | not  | ft_web ft_webapi PkgConfig::MHD PkgConfig::ZMQ PkgConfig::CURL
ft_vehview | not  | ft_engine ft_hubstore ft_views ft_web ft_webapi PkgConfig::MHD PkgConfig::ZMQ
ft_edgeui  | not  | ft_engine ft_hubstore ft_views ft_web ft_webapi PkgConfig::ZMQ PkgConfig::CURL
ft_webapi  | not  | ft_province ft_provweb ft_provnode PkgConfig::LIBPQ PkgConfig::PQ
ft_provstatus | not | ft_province ft_hubstore PkgConfig::LIBPQ PkgConfig::MHD PkgConfig::ZMQ
'

# check DIR: prints one line per library that links what it may not; exit 1
# when any does.
check() {
  local dir=$1 lib kind names found=0 extra
  while IFS='|' read -r lib kind names; do
    lib=$(echo $lib) kind=$(echo $kind)
    [ -n "$lib" ] || continue
    if [ ! -f "$dir/$lib.txt" ]; then
      echo "$lib: no link closure in $dir (configure the build again)"
      found=1
      continue
    fi
    if [ "$kind" = only ]; then
      extra=$(grep -vxF -f <(tr ' ' '\n' <<<"$names" | grep .) "$dir/$lib.txt" | grep . || true)
    else
      extra=$(grep -xF -f <(tr ' ' '\n' <<<"$names" | grep .) "$dir/$lib.txt" || true)
    fi
    if [ -n "$extra" ]; then
      echo "$lib links $(echo $extra) (may $([ "$kind" = only ] && echo "link only:" || echo "not link:") $names)"
      found=1
    fi
  done <<<"$RULES"
  return $found
}

dir=$FT_BUILD/tests/lint/links
# The check must see a violation, or it proves nothing: copies with one
# planted in each.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$dir"/*.txt "$tmp"/ 2>/dev/null || true
echo ft_lmdb >>"$tmp/ft_gaps.txt"
echo ft_webapi >>"$tmp/ft_web.txt"
echo PkgConfig::MHD >>"$tmp/ft_views.txt"
bad=$(check "$tmp" || true)
for want in '^ft_gaps links ft_lmdb' '^ft_web links ft_webapi' '^ft_views links PkgConfig::MHD'; do
  grep -qE "$want" <<<"$bad" || { echo "FAIL: the check missed a planted link: $want" >&2; echo "$bad" >&2; exit 1; }
done

if ! out=$(check "$dir"); then
  echo "FAIL: libraries link what they may not (tests/lint/links.sh):" >&2
  echo "$out" >&2
  exit 1
fi
echo "PASS: $(grep -c '|' <<<"$RULES") libraries link only what they may; 3 planted links caught"
