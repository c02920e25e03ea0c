#!/usr/bin/env bash
# Keeps early-exit readers out of the pipelines of the test and ops scripts.
#
# Every script runs with `set -o pipefail`. In `producer | grep -q PATTERN`
# grep exits at its first match; a producer still writing (anything over one
# pipe write, 4 KiB for most tools) then dies of SIGPIPE, and the pipeline
# fails (or, negated, passes) at random. `| head` does the same. One such
# line failed CI: a 4.2 KiB webhook log piped into `grep -q`. The scripts use
# `grepq` (tests/lib/common.sh: reads its input to the end first), a variable
# and `grep -q ... <<<"$var"`, or `sed -n 1p`.
#
# The check scans each script's code outside quotes and comments; a quoted
# `sh -c "... | grep -q ..."` runs without pipefail and is not flagged.
set -euo pipefail
: "${FT_SRC:?FT_SRC is not set: run this test through ctest}"

# scan FILE...: prints FILE:LINE: TEXT for each early-exit reader in a
# pipeline; exit 1 when it found any.
scan() {
  awk '
    FNR == 1 { q = ""; hd = ""; cont = 0 }
    hd != "" {
      t = $0
      if (hdtabs) sub(/^\t+/, "", t)
      if (t == hd) hd = ""
      next
    }
    {
      line = $0; n = length(line); hit = 0
      # A pipeline continued from the line before (it ended in "|"): the
      # reader starts this line.
      if (cont && q == "" && line ~ /^[ \t]*(grep[ \t]+(-[a-zA-Z]*q|--quiet|--max-count|-m)|head([ \t]|$))/) hit = 1
      cont = 0
      for (i = 1; i <= n; i++) {
        c = substr(line, i, 1)
        if (q == "") {
          if (c == "#" && (i == 1 || substr(line, i - 1, 1) ~ /[ \t]/)) break
          if (c == "\\") { i++; continue }
          if (c == "\"" || c == "\047") { q = c; continue }
          if (substr(line, i, 2) == "<<" && substr(line, i + 2, 1) != "<") {
            rest = substr(line, i + 2); hdtabs = (substr(rest, 1, 1) == "-")
            if (match(rest, /^-?[ \t]*[\047"]?[A-Za-z_][A-Za-z0-9_]*/)) {
              hd = substr(rest, 1, RLENGTH); sub(/^-?[ \t]*[\047"]?/, "", hd)
            }
            i++; continue
          }
          if (c == "|" && substr(line, i + 1, 1) != "|" && (i == 1 || substr(line, i - 1, 1) != "|")) {
            rest = substr(line, i + 1)
            if (rest ~ /^[ \t]*(grep[ \t]+(-[a-zA-Z]*q|--quiet|--max-count|-m)|head([ \t]|$))/) hit = 1
            if (rest ~ /^[ \t]*$/) cont = 1
          }
        } else if (q == "\047") {
          if (c == "\047") q = ""
        } else {
          if (c == "\\") { i++; continue }
          if (c == "\"") q = ""
        }
      }
      if (hit) { printf "%s:%d: %s\n", FILENAME, FNR, line; found = 1 }
    }
    END { exit found }' "$@"
}

# The scanner must see what it is for, or this test proves nothing.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/bad.sh" <<'BAD'
big_producer | grep -q pattern || fail "x"
x=$(ls | head -n 1)
y | grep -qE 'a|b'
big_producer | grep x |
  grep -q pattern || fail "a pipeline continued on the next line"
BAD
cat >"$tmp/good.sh" <<'GOOD'
big_producer | grepq pattern || fail "x | grep -q in a message"
bash -c "curl -s url | grep -q 200" # runs without pipefail
a || grep -q x file # not a pipe
x=$(ls | sed -n 1p)
big_producer | grep x |
  grepq pattern || fail "continued, with grepq"
cat <<'EOT'
text | grep -q in a here-document is text
EOT
GOOD
bad=$(scan "$tmp/bad.sh" || true)
[ "$(grep -c . <<<"$bad")" = 4 ] || { echo "FAIL: the scanner missed a known bad line: $bad" >&2; exit 1; }
scan "$tmp/good.sh" >/dev/null || { echo "FAIL: the scanner flagged a good line: $(scan "$tmp/good.sh")" >&2; exit 1; }

mapfile -t scripts < <(find "$FT_SRC/tests" "$FT_SRC/ops" -name '*.sh' -not -path '*/node_modules/*' | LC_ALL=C sort)
[ "${#scripts[@]}" -gt 20 ] || { echo "FAIL: only ${#scripts[@]} scripts found under $FT_SRC" >&2; exit 1; }
if ! out=$(scan "${scripts[@]}"); then
  echo "FAIL: early-exit readers in pipelines (use grepq, a variable, or sed -n 1p):" >&2
  echo "$out" >&2
  exit 1
fi
echo "PASS: ${#scripts[@]} scripts, no grep -q or head in a pipeline"
