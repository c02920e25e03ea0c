#!/usr/bin/env bash
# Keeps every library inside its boundary: which project folders a folder's
# sources may include headers from, and which of the heavy system headers
# (ZeroMQ, LMDB, libmicrohttpd, libcurl, inih) they may include.
#
# The table below is the architecture (README.md "Where to look"; each
# folder's CMakeLists.txt says the same in its README comment): the pure
# core of common/ and the verifier use no LMDB and no ZeroMQ, the gap rules
# (hub/gaps) are pure, the vehicle's screen (edge/ui) uses of the hub only
# the gap rules and nothing of edge/ (run hands it what it needs), the views (hub/views) know no HTTP, the commands'
# context (hub/cmd/hub.h) stays in hub/cmd, the web server (hub/web) includes
# no API module's header (api_*.h: the modules register with it, web.h), and
# an API module (hub/web/api) never includes another module's header. A
# header is looked up as the compiler does: the including file's own folder
# first, then the folders that hold a header of that name. The folders'
# include graph must have no cycle (tsort). What the libraries link is
# checked by tests/lint/links.sh.
set -euo pipefail
: "${FT_SRC:?FT_SRC is not set: run this test through ctest}"

# folder | project folders it may include from | watched system headers it may include
RULES='
common        | proto |
common/lmdb   | common proto | lmdb.h
common/cli    | common proto | ini.h
common/zmq    | common proto | zmq.h
verifier      | common proto |
edge          | edge/ui common common/lmdb common/cli common/zmq proto | lmdb.h zmq.h
edge/ui       | hub/gaps common common/lmdb common/cli proto | microhttpd.h
hub/store     | common common/lmdb proto | lmdb.h
hub/gaps      | common proto |
hub/devices   | hub/store common common/lmdb proto |
hub/sync      | hub/store common common/lmdb common/zmq proto | zmq.h
hub/objstore  | common proto | curl/curl.h
hub/media     | hub/objstore hub/sync hub/store common common/lmdb common/zmq proto | lmdb.h zmq.h
hub/engine    | hub/gaps hub/store common common/lmdb proto | lmdb.h
hub/provnode  | hub/gaps common common/lmdb proto | libpq-fe.h
hub/delivery  | hub/views common common/lmdb common/zmq proto | zmq.h curl/curl.h
hub/views     | hub/gaps hub/store common common/lmdb proto |
hub/retention | hub/engine hub/gaps hub/media hub/store verifier common common/lmdb common/cli proto | lmdb.h
hub/province  | hub/store common common/lmdb common/cli proto | lmdb.h libpq-fe.h
hub/web       | hub/views hub/gaps hub/media hub/store common common/lmdb common/cli proto | microhttpd.h
hub/provweb   | hub/provnode hub/web hub/views hub/gaps hub/media hub/store common common/lmdb common/cli proto | microhttpd.h libpq-fe.h
hub/web/api   | hub/web hub/views hub/devices hub/gaps hub/media hub/engine hub/province hub/store common common/lmdb common/cli proto | microhttpd.h
hub/cmd       | hub/store hub/gaps hub/devices hub/sync hub/media hub/engine hub/provnode hub/provweb hub/delivery hub/views hub/retention hub/province hub/web hub/web/api verifier common common/lmdb common/cli common/zmq proto | lmdb.h zmq.h microhttpd.h curl/curl.h
'
WATCHED="zmq.h lmdb.h microhttpd.h curl/curl.h curl/easy.h curl/multi.h ini.h libpq-fe.h"
# file (from the root) | header it may include although its folder may not
# (none now; a line here is a debt with its reason beside it)
EXCEPTIONS='
'

# scan ROOT: prints one line per forbidden include and per cycle; exit 1
# when it found any.
scan() {
  local root=$1 out pairs cyc found=0
  out=$(
    cd "$root"
    {
      # Where each header lives (a name may be in several folders).
      find common hub verifier edge -name '*.h' | sed 's/^/H /'
      for f in proto/*.proto; do f=${f##*/}; echo "H proto/${f%.proto}.pb-c.h"; done
      # Every include of every file of a folder in the table.
      awk -F'|' 'NF == 3 { gsub(/ /, "", $1); print $1 }' <<<"$RULES" | while IFS= read -r d; do
        [ -d "$d" ] || { echo "M $d"; continue; }
        find "$d" -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) -print0 |
          xargs -0r grep -HnE '^[[:space:]]*#[[:space:]]*include' | sed 's/^/I /'
      done
    } | awk -v rules="$RULES" -v watched="$WATCHED" -v exceptions="$EXCEPTIONS" '
      BEGIN {
        n = split(rules, L, "\n")
        for (i = 1; i <= n; i++) {
          if (split(L[i], p, "|") != 3) continue
          gsub(/^ +| +$/, "", p[1]); allow[p[1]] = " " p[2] " "; sys[p[1]] = " " p[3] " "
          gsub(/  +/, " ", allow[p[1]]); gsub(/  +/, " ", sys[p[1]])
        }
        n = split(exceptions, L, "\n")
        for (i = 1; i <= n; i++) {
          if (split(L[i], p, "|") != 2) continue
          gsub(/^ +| +$/, "", p[1]); gsub(/^ +| +$/, "", p[2]); exc[p[1] "|" p[2]] = 1
        }
        watched = " " watched " "
      }
      $1 == "M" { print "V " $2 ": folder missing"; next }
      $1 == "H" {
        f = $2; name = f; sub(/.*\//, "", name); dir = f; sub(/\/[^\/]*$/, "", dir)
        where[name] = where[name] " " dir; have[f] = 1; next
      }
      $1 == "I" {
        line = substr($0, 3)
        file = line; sub(/:.*/, "", file); rest = substr(line, length(file) + 2)
        ln = rest; sub(/:.*/, "", ln); text = substr(rest, length(ln) + 2)
        dir = file; sub(/\/[^\/]*$/, "", dir); base = file; sub(/.*\//, "", base)
        if (match(text, /<[^>]+>/)) {
          inc = substr(text, RSTART + 1, RLENGTH - 2)
          if (index(watched, " " inc " ") && !index(sys[dir], " " inc " "))
            print "V " file ":" ln ": <" inc "> (not for " dir ")"
          next
        }
        if (!match(text, /"[^"]+"/)) next
        inc = substr(text, RSTART + 1, RLENGTH - 2)
        if ((file "|" inc) in exc) next
        if (dir == "hub/web" && inc ~ /^api_.*\.h$/) {
          print "V " file ":" ln ": \"" inc "\" (the web server includes no API module\047s header: modules register with it, web.h)"
          next
        }
        if ((dir "/" inc) in have) {
          b = base; sub(/\.[ch]$/, "", b)
          if (dir == "hub/web/api" && inc ~ /^api_.*\.h$/ && inc != b ".h")
            print "V " file ":" ln ": \"" inc "\" (an API module includes no other module\047s header)"
          next
        }
        if (!(inc in where)) { print "V " file ":" ln ": \"" inc "\" (no such header in the tree)"; next }
        k = split(substr(where[inc], 2), c, " "); ok = ""
        for (j = 1; j <= k; j++) if (index(allow[dir], " " c[j] " ")) { ok = c[j]; break }
        if (ok != "") { print "E " ok " " dir; next }
        print "V " file ":" ln ": \"" inc "\" from" where[inc] " (not for " dir ")"
        for (j = 1; j <= k; j++) print "E " c[j] " " dir
      }'
    # The commands' context nowhere else, tests and benchmarks included.
    grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"hub\.h"' --include='*.c' \
      --include='*.h' common hub verifier edge tests bench 2>/dev/null | grep -v '^hub/cmd/' |
      sed 's/$/ (hub.h is the commands\x27 context: hub\/cmd only)/; s/^/V /' || true
  )
  if grep -q '^V ' <<<"$out"; then
    sed -n 's/^V //p' <<<"$out"
    found=1
  fi
  # No cycle among the folders (an edge: "used user").
  pairs=$(sed -n 's/^E //p' <<<"$out" | awk '$1 != $2' | LC_ALL=C sort -u)
  if ! cyc=$(tsort <<<"$pairs" 2>&1 >/dev/null) || [ -n "$cyc" ]; then
    echo "cycle among the folders: $(grep -v 'input contains a loop' <<<"$cyc" | sed 's/^tsort: //' | tr '\n' ' ')"
    found=1
  fi
  return $found
}

# The scanner must see what it is for, or this test proves nothing: a copy
# of the tree with one forbidden include of each kind planted.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$FT_SRC" && tar cf - --exclude=node_modules common hub verifier edge proto) | (cd "$tmp" && tar xf -)
clean=$(scan "$tmp" || true)
plant() { printf '%s\n' "$2" >>"$tmp/$1"; }
plant hub/gaps/rules.c '#include <zmq.h>'
plant hub/gaps/gaps.c '#include <microhttpd.h>'
plant hub/gaps/gaps.h '#include <curl/curl.h>'
plant hub/gaps/rules.h '#include <lmdb.h>'
plant hub/gaps/gaps_test.c '#include "devlog.h"'
plant hub/views/catalog.c '#include <microhttpd.h>'
plant hub/views/coverage.c '#include <zmq.h>'
plant hub/views/coverage.h '#include <curl/curl.h>'
plant hub/views/catalog.h '#include "web.h"'
plant verifier/main.c '#include <zmq.h>'
plant verifier/bundlefmt.c '#include <lmdb.h>'
plant common/keys.c '#include <zmq.h>'
plant common/entry.c '#include <lmdb.h>'
plant common/record.c '#include "lmdbx.h"'
plant common/utf8.c '#include "config.h"'
plant hub/media/blobstore.c '#include "hub.h"'
printf '/* a module header */\n' >"$tmp/hub/web/api/api_cases.h"
plant hub/web/api/api_auth.c '#include "api_cases.h"'
plant hub/web/http.c '#include "api_sync.h"'
plant hub/web/web.h '#include "api_alerts.h"'
plant hub/store/store.h '#include "engine.h"' # and so a cycle: engine uses store
plant edge/ui/vehview.c '#include "msync.h"'
plant edge/ui/uiserver.c '#include <zmq.h>'
plant edge/ui/uiapi.c '#include "engine.h"'
bad=$(scan "$tmp" || true)
bad=$(grep -vxF -f <(printf '%s\n' "$clean") <<<"$bad" || true)
[ -z "${FT_LINT_SHOW:-}" ] || echo "$bad"
want='hub/gaps/rules.c:.*<zmq.h>
hub/gaps/gaps.c:.*<microhttpd.h>
hub/gaps/gaps.h:.*<curl/curl.h>
hub/gaps/rules.h:.*<lmdb.h>
hub/gaps/gaps_test.c:.*"devlog.h"
hub/views/catalog.c:.*<microhttpd.h>
hub/views/coverage.c:.*<zmq.h>
hub/views/coverage.h:.*<curl/curl.h>
hub/views/catalog.h:.*"web.h"
verifier/main.c:.*<zmq.h>
verifier/bundlefmt.c:.*<lmdb.h>
common/keys.c:.*<zmq.h>
common/entry.c:.*<lmdb.h>
common/record.c:.*"lmdbx.h"
common/utf8.c:.*"config.h"
hub/media/blobstore.c:.*"hub.h"
hub/web/api/api_auth.c:.*"api_cases.h"
hub/web/http.c:.*"api_sync.h" \(the web server
hub/web/web.h:.*"api_alerts.h" \(the web server
hub/store/store.h:.*"engine.h"
edge/ui/vehview.c:.*"msync.h"
edge/ui/uiserver.c:.*<zmq.h>
edge/ui/uiapi.c:.*"engine.h"
^cycle among the folders:.*hub/engine.*hub/store|^cycle among the folders:.*hub/store.*hub/engine'
missed=0
while IFS= read -r w; do
  grep -qE "$w" <<<"$bad" || { echo "FAIL: the scanner missed a planted include: $w" >&2; missed=1; }
done <<<"$want"
[ "$(grep -c . <<<"$bad")" -ge 24 ] || missed=1
[ "$missed" = 0 ] || { echo "it reported:" >&2; echo "$bad" >&2; exit 1; }

if ! out=$(scan "$FT_SRC"); then
  echo "FAIL: includes across a boundary (see the table in tests/lint/boundaries.sh):" >&2
  echo "$out" >&2
  exit 1
fi
echo "PASS: $(grep -c . <<<"$RULES") folders within their boundaries, no cycle; 24 planted violations caught"
