# lib.sh: helpers shared by the edge CLI tests; sourced by each script, not
# a test itself.
#
# Gives each test a scratch directory $T under $FT_TEST_TMP (removed when the
# test passes, kept and named when it fails), the binaries under test ($EDGE,
# $TAMPER), `run` to call a command and keep its stdout, stderr and exit
# status, and assertions that print what was expected, what happened and the
# command's output, then exit 1.
#
# JSON is read with jq when it is installed, else python3, else (a clean
# Debian without either) by matching the compact "key":value text jansson
# writes, which is weaker but still catches a wrong value. FT_TEST_JSON=jq,
# python or text forces one of them.

: "${FT_BUILD:?FT_BUILD is not set: run this test through ctest}"
: "${FT_SRC:?FT_SRC is not set: run this test through ctest}"
: "${FT_TEST_TMP:?FT_TEST_TMP is not set: run this test through ctest}"

# shellcheck disable=SC2034 # used by the scripts that source this file
{
  EDGE=$FT_BUILD/edge/fieldtrail-edge
  TAMPER=$FT_BUILD/tests/edge_cli/ft_tamper
  SAMPLE=$FT_SRC/ops/sample-records.jsonl
}
TEST_NAME=$(basename "$0" .sh)

# JSON_TOOL: how JSON is read (see above); PYTHON: the interpreter itself, so
# that a version-manager shim's start-up cost is paid once, not per call.
JSON_TOOL=${FT_TEST_JSON:-}
if [ -z "$JSON_TOOL" ]; then
  if command -v jq >/dev/null 2>&1; then
    JSON_TOOL=jq
  elif command -v python3 >/dev/null 2>&1; then
    JSON_TOOL=python
  else
    JSON_TOOL=text
  fi
fi
if [ "$JSON_TOOL" = python ]; then
  PYTHON=$(python3 -c 'import sys; print(sys.executable)')
fi

[ -x "$EDGE" ] || { echo "FAIL: $EDGE is not built" >&2; exit 1; }
mkdir -p "$FT_TEST_TMP"
T=$(mktemp -d "$FT_TEST_TMP/edge_cli.$TEST_NAME.XXXXXX")

on_exit() {
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    rm -rf "$T"
    echo "PASS: $TEST_NAME"
  else
    echo "scratch directory kept for inspection: $T" >&2
  fi
}
trap on_exit EXIT

# run CMD ARGS...: runs a command (stdin inherited) and sets OUT, ERR and RC
# (its stdout, stderr and exit status) without stopping the test.
run() {
  LAST_CMD="$*"
  if "$@" >"$T/.out" 2>"$T/.err"; then
    RC=0
  else
    RC=$?
  fi
  OUT=$(cat "$T/.out")
  ERR=$(cat "$T/.err")
}

# fail MESSAGE: reports a failed expectation with the last command's output.
fail() {
  {
    echo "FAIL: $TEST_NAME: $1"
    if [ -n "${LAST_CMD:-}" ]; then
      echo "  last command: $LAST_CMD"
      echo "  exit status:  ${RC:-?}"
      local out=${OUT:-} err=${ERR:-}
      echo "  stdout: ${out:0:4000}"
      echo "  stderr: ${err:0:4000}"
    fi
  } >&2
  exit 1
}

# expect_rc N WHAT: the last command exited with status N.
expect_rc() {
  [ "$RC" -eq "$1" ] || fail "$2: expected exit status $1, got $RC"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
  [ "$1" = "$2" ] || fail "$3: expected \"$2\", got \"$1\""
}

# expect_contains TEXT NEEDLE WHAT: NEEDLE occurs in TEXT (fixed string).
expect_contains() {
  case "$1" in
  *"$2"*) ;;
  *) fail "$3: expected to find \"$2\"" ;;
  esac
}

# expect_not_contains TEXT NEEDLE WHAT
expect_not_contains() {
  case "$1" in
  *"$2"*) fail "$3: did not expect \"$2\"" ;;
  *) ;;
  esac
}

# json_valid TEXT: true if every non-blank line of TEXT is one JSON value.
json_valid() {
  if [ "$JSON_TOOL" = python ]; then
    "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        json.loads(line)
' <<<"$1" 2>/dev/null
  elif [ "$JSON_TOOL" = jq ]; then
    jq -e . >/dev/null 2>&1 <<<"$1"
  else
    awk 'NF && !/^\{.*\}$/ { bad = 1 } END { exit bad }' <<<"$1"
  fi
}

# json_get TEXT PATH: for each non-blank line of TEXT (one JSON object each),
# prints the value at PATH (".a.b", ".list[0].c") as `jq -r` would: strings
# bare, true/false/null/numbers as JSON, absent as null. Without a JSON
# parser only the last member name of PATH is looked up, first occurrence.
json_get() {
  if [ "$JSON_TOOL" = python ]; then
    "$PYTHON" -c '
import json, re, sys
path = re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", sys.argv[1])
for line in sys.stdin:
    if not line.strip():
        continue
    v = json.loads(line)
    for name, idx in path:
        if name:
            v = v.get(name) if isinstance(v, dict) else None
        else:
            v = v[int(idx)] if isinstance(v, list) and int(idx) < len(v) else None
    if isinstance(v, str):
        print(v)
    elif v is None:
        print("null")
    else:
        print(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
' "$2" <<<"$1"
  elif [ "$JSON_TOOL" = jq ]; then
    jq -r -c "$2" <<<"$1"
  else
    # ".a[N].key": the (N+1)th "key"; ".a.key[N]": element N of "key":[...];
    # ".a.key": the first "key".
    local path=$2 key nth=1 elem=-1
    if [[ $path =~ \[([0-9]+)\]\.([A-Za-z_0-9]+)$ ]]; then
      key=${BASH_REMATCH[2]}
      nth=$((BASH_REMATCH[1] + 1))
    elif [[ $path =~ ([A-Za-z_0-9]+)\[([0-9]+)\]$ ]]; then
      key=${BASH_REMATCH[1]}
      elem=${BASH_REMATCH[2]}
    else
      key=${path##*.}
    fi
    awk -v k="\"$key\":" -v nth="$nth" -v elem="$elem" '
      NF == 0 { next }
      {
        s = $0
        for (n = 0; n < nth; n++) {
          i = index(s, k)
          if (i == 0) { break }
          s = substr(s, i + length(k))
        }
        if (i == 0) { print "null"; next }
        if (elem >= 0) {
          if (substr(s, 1, 1) != "[") { print "null"; next }
          s = substr(s, 2)
          sub(/\].*/, "", s)
          m = split(s, parts, ",")
          if (elem >= m) { print "null"; next }
          s = parts[elem + 1]
        }
        if (substr(s, 1, 1) != "\"") { sub(/[,}\]].*/, "", s); print s; next }
        out = ""
        for (j = 2; j <= length(s); j++) {
          c = substr(s, j, 1)
          if (c == "\"") { break }
          if (c == "\\") { j++; c = substr(s, j, 1) }
          out = out c
        }
        print out
      }' <<<"$1"
  fi
}

# expect_json TEXT PATH EXPECTED WHAT: json_get TEXT PATH is EXPECTED.
expect_json() {
  local got
  got=$(json_get "$1" "$2") || fail "$4: output is not JSON: $1"
  [ "$got" = "$3" ] || fail "$4: expected $2 = \"$3\", got \"$got\""
}

# expect_json_num TEXT PATH EXPECTED WHAT: the number at PATH equals
# EXPECTED to 9 significant digits (writers may spell a double differently).
expect_json_num() {
  local got
  got=$(json_get "$1" "$2") || fail "$4: output is not JSON: $1"
  awk -v a="$got" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b
                                     exit !(a != "" && a != "null" && d <= m * 1e-9) }' ||
    fail "$4: expected $2 = $3, got \"$got\""
}

# head_of STATE: prints "SEQ HASH" of the log head, from `status --json`.
head_of() {
  local s
  s=$("$EDGE" status --state "$1" --json) || fail "status --state $1 failed"
  echo "$(json_get "$s" .head_seq) $(json_get "$s" .head_hash)"
}

# init_state DIR [init options...]: a fresh, initialised state directory.
init_state() {
  local dir=$1
  shift
  "$EDGE" init --state "$dir" "$@" >/dev/null || fail "init --state $dir failed"
}
