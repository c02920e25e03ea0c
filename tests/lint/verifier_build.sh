#!/usr/bin/env bash
# verifier/BUILD.txt (the build instruction on every archive disc, beside the
# verifier's source) must name exactly the sources the build uses: the C
# files and the .proto files of FT_VERIFY_SOURCES (verifier/CMakeLists.txt,
# written to $FT_BUILD/verifier/sources.txt at configure time).
set -euo pipefail
: "${FT_SRC:?FT_SRC is not set: run this test through ctest}"
: "${FT_BUILD:?FT_BUILD is not set: run this test through ctest}"

# check LIST BUILD_TXT: prints what one names and the other does not; exit 1
# if anything.
check() {
  local want have
  want=$(grep -E '\.(c|proto)$' "$1" | LC_ALL=C sort -u)
  have=$(grep -oE '[A-Za-z0-9_/.-]+\.(c|proto)\b' "$2" | grep -v '\.pb-c\.c$' | LC_ALL=C sort -u)
  if [ "$want" != "$have" ]; then
    diff <(echo "$want") <(echo "$have") | sed -n 's/^< /not in BUILD.txt: /p; s/^> /not in the build: /p'
    return 1
  fi
}

list=$FT_BUILD/verifier/sources.txt
[ -s "$list" ] || { echo "FAIL: $list is missing: configure the build first" >&2; exit 1; }
# The check must see a difference, or it proves nothing.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's# common/utf8\.c##' "$FT_SRC/verifier/BUILD.txt" >"$tmp/BUILD.txt"
grep -q 'common/utf8\.c' "$list" || { echo "FAIL: the list has no common/utf8.c to test with" >&2; exit 1; }
if check "$list" "$tmp/BUILD.txt" >/dev/null; then
  echo "FAIL: the check did not notice common/utf8.c missing from BUILD.txt" >&2
  exit 1
fi
if ! out=$(check "$list" "$FT_SRC/verifier/BUILD.txt"); then
  echo "FAIL: verifier/BUILD.txt and FT_VERIFY_SOURCES (verifier/CMakeLists.txt) differ:" >&2
  echo "$out" >&2
  exit 1
fi
echo "PASS: verifier/BUILD.txt names the $(grep -cE '\.(c|proto)$' "$list") sources of the build"
