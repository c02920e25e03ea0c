#!/usr/bin/env bash
# Alert routing, bots, pace and digests (docs/alerts.md "Routing"), with a
# real hub, real edges in three units and local receivers (ft_hookd); what
# arrives is checked by tests/gaps/hookcheck.py, which rebuilds each request
# from the event and computes the signatures with Python's hmac:
#   a. a config mistake in a [webhook.NAME] section stops `run` with the file,
#      line and reason; `status` shows each hook's route;
#   b. DingTalk (signed), Feishu (signed) and WeCom hooks filtered to one
#      unit's opened alerts get exactly those, each request exactly as
#      documented, naming the officer and the unit's supervisor;
#   c. filtered generic hooks get exactly the events their filter admits;
#   d. a burst of 500 alerts to one DingTalk bot paced at 2 a minute, with a
#      hub restart in the middle: never more than 2 in any minute, the rest
#      merged ("N more alerts in unit U"), every event covered once;
#   e. a digest at an injected clock time (--digest-clock) is one message per
#      unit with that unit's counts and oldest gaps only, and a link;
# and no signing secret or URL key appears in the log, status or cursors.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -x "$HOOKD" ] || fail "ft_hookd is not built"
command -v python3 >/dev/null || fail "python3 is needed to check the requests (Debian package python3)"
CHECK=(python3 "$FT_SRC/tests/gaps/hookcheck.py")
export TZ=Asia/Shanghai

NOW=2026-06-01T00:00:00+08:00
hub_init
edge_new car1 unit-a
edge_new car2 unit-b
edge_new car3 unit-c
HP=$(free_port)
HB=$(free_port)
DSEC=SEC$RANDOM$RANDOM-ding-secret
FSEC=fs$RANDOM$RANDOM-feishu-secret
# The digest's time: a whole minute about 20 min from now (local time);
# the hub is restarted for it with its digest clock 5 s before.
DIGEST_S=$(( ($(date +%s) + 1200) / 60 * 60 ))
DIGEST_AT=$(date -d "@$DIGEST_S" +%H:%M)
cat >>"$T/hub/hub.conf" <<CONF
dashboard_url = https://hub.example/
webhook_attempts = 10

[webhook.ding]
format = dingtalk
url = http://127.0.0.1:$HP/ding?access_token=tok
secret = $DSEC
units = unit-a
events = opened

[webhook.feishu]
format = feishu
url = http://127.0.0.1:$HP/feishu
secret = $FSEC
units = unit-a
events = opened

[webhook.wecom]
format = wecom
url = http://127.0.0.1:$HP/wecom?key=wk
units = unit-a
events = opened

[webhook.all]
format = generic
url = http://127.0.0.1:$HP/all

[webhook.filtered]
format = generic
url = http://127.0.0.1:$HP/filtered
units = unit-a
events = opened, resolved

[webhook.rule6]
format = generic
url = http://127.0.0.1:$HP/rule6
rules = 6
severities = high critical

[webhook.burst]
format = dingtalk
url = http://127.0.0.1:$HB/burst?access_token=b
units = unit-c
rate = 2

[webhook.digest]
format = generic
url = http://127.0.0.1:$HP/digest
mode = digest
digest_at = $DIGEST_AT

[person.wang]
name = 王伟
mobile = 13800000001
dingtalk_id = wangwei-dt
wecom_id = wangwei
feishu_id = ou_wang
officers = ZF-0101

[person.li]
name = 李娜
mobile = 13900000002
wecom_id = lina
supervises = unit-a
CONF
cat >"$T/people.json" <<'JSON'
[{"name":"王伟","mobile":"13800000001","dingtalk_id":"wangwei-dt","wecom_id":"wangwei","feishu_id":"ou_wang","officers":["ZF-0101"]},
 {"name":"李娜","mobile":"13900000002","wecom_id":"lina","supervises":["unit-a"]}]
JSON

echo "== a. a mistake in a webhook section stops run with its line; status shows the routes"
cp "$T/hub/hub.conf" "$T/hub.conf.good"
printf '\n[webhook.bad]\nformat = dingtalk\nurl = http://127.0.0.1:9/x\nseverities = high urgent\n' \
  >>"$T/hub/hub.conf"
bad_line=$(grep -n '^severities = high urgent' "$T/hub/hub.conf" | cut -d: -f1)
rc=0
"$HUB" run --state "$T/hub" --now "$NOW" >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "run accepted a webhook section with an unknown severity"
grepq "hub.conf line $bad_line: \[webhook.bad\] severities: \"urgent\" is not one of low, medium, high, critical" \
  <"$T/bad.out" || fail "run's refusal: $(cat "$T/bad.out")"
rc=0
"$HUB" status --state "$T/hub" >"$T/bad-status.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "status on a hub.conf that run refuses exited $rc"
grepq "hub.conf line $bad_line: \[webhook.bad\]" <"$T/bad-status.out" &&
  grepq "^hub: " <"$T/bad-status.out" || fail "status on the bad hub.conf: $(cat "$T/bad-status.out")"
cp "$T/hub.conf.good" "$T/hub/hub.conf"
echo "== a'. bot URLs (their access tokens) in a hub.conf other users can read: said, with the fix"
chmod 600 "$T/hub/hub.conf"
"$HUB" status --state "$T/hub" 2>"$T/perm600.err" >/dev/null
grepq "can be read by other users" <"$T/perm600.err" && fail "a 0600 hub.conf was called readable: $(cat "$T/perm600.err")"
chmod 644 "$T/hub/hub.conf"
"$HUB" status --state "$T/hub" 2>"$T/perm644.err" >/dev/null
grepq "hub.conf can be read by other users (mode 0644) and holds secrets (.*webhook.filtered.url.*); make it readable by the service user only: chmod 600" \
  <"$T/perm644.err" || fail "status on a 0644 hub.conf with bot URLs: $(cat "$T/perm644.err")"
chmod 600 "$T/hub/hub.conf"
"$HUB" status --state "$T/hub" >"$T/status0.txt"
grepq "webhook:          filtered (generic, 127.0.0.1:$HP): not started yet" <"$T/status0.txt" &&
  grepq "route: units unit-a; events opened, resolved; each event; unpaced" <"$T/status0.txt" &&
  grepq "route: units unit-c; each event; at most 2 messages a minute$" <"$T/status0.txt" ||
  fail "status before the first run: $(cat "$T/status0.txt")"

"$HOOKD" "$HP" "$T/hooks.txt" 0 $((900 * SLOW)) &
PIDS+=("$!")
"$HOOKD" "$HB" "$T/burst.txt" 0 $((900 * SLOW)) 0 1 &
PIDS+=("$!")
hub_start --now "$NOW"
grepq "webhook digest (generic, 127.0.0.1:$HP): first digest at" <"$T/hub/hub.log" ||
  sleep 1

echo "== b/c. three bots and filtered hooks"
cat >"$T/a1.jsonl" <<'JSON'
{"type":"complaint_registered","id":"a-late","case":"A-LATE","unit":"unit-a","time":"2026-05-10T09:00:00+08:00","officers":["ZF-0101"],"fields":{"complainant":"王某","summary":"占地"}}
{"type":"initiation_urgent","id":"a-just","case":"A-JUST","unit":"unit-a","time":"2026-05-20T09:00:00+08:00","fields":{"reason":"正在施工"}}
{"type":"complaint_registered","id":"a-open","case":"A-OPEN","unit":"unit-a","time":"2026-05-01T09:00:00+08:00","officers":["ZF-0102"],"fields":{"complainant":"孙某","summary":"采砂"}}
JSON
cat >"$T/b1.jsonl" <<'JSON'
{"type":"complaint_registered","id":"b-late","case":"B-LATE","unit":"unit-b","time":"2026-05-10T09:00:00+08:00","officers":["ZF-0201"],"fields":{"complainant":"赵某","summary":"违建"}}
{"type":"initiation_urgent","id":"b-just","case":"B-JUST","unit":"unit-b","time":"2026-05-20T09:00:00+08:00","fields":{"reason":"正在施工"}}
{"type":"complaint_registered","id":"b-open","case":"B-OPEN","unit":"unit-b","time":"2026-05-02T09:00:00+08:00","officers":["ZF-0202"],"fields":{"complainant":"周某","summary":"排污"}}
JSON
edge_import car1 "$T/a1.jsonl"
edge_import car2 "$T/b1.jsonl"
edge_sync car1
edge_sync car2
open_count() { "$HUB" alerts --state "$T/hub" --brief --state-filter open | wc -l; }
wait_until_n() { # WHAT N COMMAND...: until COMMAND prints N or more
  local what=$1 n=$2 start=$SECONDS
  shift 2
  until [ "$("$@")" -ge "$n" ]; do
    [ $((SECONDS - start)) -lt $((60 * SLOW)) ] || fail "$what: $("$@") of $n"
    sleep 0.3
  done
}
wait_until_n "alerts open" 6 open_count
IDA=$("$HUB" alerts --state "$T/hub" --json --case A-JUST | jget id)
IDB=$("$HUB" alerts --state "$T/hub" --json --case B-JUST | jget id)
cat >"$T/a2.jsonl" <<JSON
{"type":"complaint_decision","id":"a-late-2","case":"A-LATE","unit":"unit-a","time":"2026-05-30T09:00:00+08:00","fields":{"accepted":true,"reason":"受理"}}
{"type":"justification","id":"a-just-2","case":"A-JUST","unit":"unit-a","time":"2026-05-31T09:00:00+08:00","fields":{"alert":"$IDA","reason":"审批表已线下补办"}}
JSON
cat >"$T/b2.jsonl" <<JSON
{"type":"complaint_decision","id":"b-late-2","case":"B-LATE","unit":"unit-b","time":"2026-05-30T09:00:00+08:00","fields":{"accepted":true,"reason":"受理"}}
{"type":"justification","id":"b-just-2","case":"B-JUST","unit":"unit-b","time":"2026-05-31T09:00:00+08:00","fields":{"alert":"$IDB","reason":"审批表已线下补办"}}
JSON
edge_import car1 "$T/a2.jsonl"
edge_import car2 "$T/b2.jsonl"
edge_sync car1
edge_sync car2
at_path() { grep -c "^/$1[ ?]" "$T/hooks.txt" 2>/dev/null || true; }
wait_until_n "events at /all" 10 at_path all
wait_until_n "events at /filtered" 4 at_path filtered
wait_until_n "events at /rule6" 4 at_path rule6
for p in ding feishu wecom; do wait_until_n "requests at /$p" 3 at_path "$p"; done
sleep 1.5 # anything more that would come
"${CHECK[@]}" formats "$T/hooks.txt" "$T/people.json" "$DSEC" "$FSEC" https://hub.example/ ||
  fail "bot requests (above)"
"${CHECK[@]}" filter "$T/hooks.txt" filtered units=unit-a events=opened,resolved ||
  fail "filtered hook (above)"
"${CHECK[@]}" filter "$T/hooks.txt" rule6 rules=6 severities=high,critical ||
  fail "rule6 hook (above)"
[ "$(at_path digest)" = 0 ] || fail "the digest hook sent before its time: $(grep '^/digest' "$T/hooks.txt")"

echo "== d. 500 alerts to one bot at 2 a minute, the hub restarted in the middle"
RAISED=0
# raise_c N: N more complaints in unit-c (officer ZF-03xx), synced.
raise_c() {
  local i
  : >"$T/c.jsonl"
  for i in $(seq $((RAISED + 1)) $((RAISED + $1))); do
    printf '{"type":"complaint_registered","id":"c-%s","case":"C-%s","unit":"unit-c","time":"2026-05-10T09:00:00+08:00","officers":["ZF-03%02d"],"fields":{"complainant":"钱某","summary":"占地"}}\n' \
      "$i" "$i" $((i % 100)) >>"$T/c.jsonl"
  done
  edge_import car3 "$T/c.jsonl"
  edge_sync car3
  RAISED=$((RAISED + $1))
}
burst_msgs() { if [ -f "$T/burst.txt" ]; then wc -l <"$T/burst.txt"; else echo 0; fi; }
c_open() { "$HUB" alerts --state "$T/hub" --brief --state-filter open | grep -c '|C-' || true; }
raise_c 250
wait_until_n "messages at /burst" 1 burst_msgs
# use up the pace (2 a minute) so that what comes next must wait
[ "$(burst_msgs)" -ge 2 ] || { raise_c 10; wait_until_n "messages at /burst" 2 burst_msgs; }
raise_c $((500 - RAISED))
wait_until_n "unit-c alerts open" 500 c_open
sent_before=$(burst_msgs)
[ "$sent_before" = 2 ] || fail "d: $sent_before messages before the restart (the pace allows 2)"
hub_stop
"$HUB" status --state "$T/hub" --json >"$T/status1.json"
grep -o "\"hook\":\"burst (dingtalk, 127.0.0.1:$HB)\",\"sent\":[0-9]*,\"failed\":0,\"backlog\":[1-9][0-9]*" \
  "$T/status1.json" >/dev/null || fail "d: nothing waited at the restart: $(cat "$T/status1.json")"
echo "d: stopped with $(grep -o "\"hook\":\"burst[^}]*" "$T/status1.json" | grep -o '"backlog":[0-9]*') events waiting"
hub_start --now "$NOW"
burst_covered() {
  python3 - "$T/burst.txt" <<'PY'
import json, re, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    text = json.loads(line.split(" ", 2)[2])["markdown"]["text"]
    m = re.search(r"合并 (\d+) 条", text)
    n += int(m.group(1)) if m else 1
print(n)
PY
}
start=$SECONDS
until [ "$(burst_covered)" -ge 500 ]; do
  [ $((SECONDS - start)) -lt $((150 * SLOW)) ] || fail "d: $(burst_covered) of 500 events covered"
  sleep 1
done
sleep 2
"${CHECK[@]}" burst "$T/burst.txt" burst 2 500 || fail "burst (above)"
grepq "events merged (hub log entries" <"$T/hub/hub.log" || fail "d: the merge is not logged"
"$HUB" status --state "$T/hub" --json >"$T/status2.json"
grepq "\"hook\":\"burst (dingtalk, 127.0.0.1:$HB)\",\"sent\":500,\"failed\":0,\"backlog\":0" \
  <"$T/status2.json" || fail "d: status after the burst: $(cat "$T/status2.json")"
hub_stop

echo "== e. the digest at $DIGEST_AT (digest clock injected 5 s before)"
hub_start --now "$NOW" --digest-clock "$(( (DIGEST_S - 5) * 1000 ))"
start=$SECONDS
until grepq "webhook digest (generic, 127.0.0.1:$HP): digest of .* sent (3 units)" <"$T/hub/hub.log"; do
  [ $((SECONDS - start)) -lt $((40 * SLOW)) ] || fail "e: no digest: $(grep 'webhook digest' "$T/hub/hub.log")"
  sleep 0.5
done
"$HUB" alerts --state "$T/hub" --json >"$T/alerts.jsonl"
"${CHECK[@]}" digest "$T/hooks.txt" digest "$T/alerts.jsonl" $((DIGEST_S * 1000)) ||
  fail "digest (above)"
"$HUB" status --state "$T/hub" >"$T/status3.txt"
grepq "next digest .*, last $(date -d "@$DIGEST_S" '+%Y-%m-%d %H:%M')" <"$T/status3.txt" ||
  fail "e: status does not show the digest: $(cat "$T/status3.txt")"
hub_stop

echo "== secrets and URL keys appear nowhere"
for f in "$T/hub/hub.log" "$T/hub/webhooks.cursors" "$T"/status*.json "$T"/status*.txt; do
  if grep -qF -e "$DSEC" -e "$FSEC" -e "access_token=" -e "key=wk" "$f"; then
    fail "$f shows a secret or a URL's key"
  fi
done
echo "routing: filters, three bots, pace with merging across a restart, digest: all as documented"
