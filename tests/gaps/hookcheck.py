#!/usr/bin/env python3
"""hookcheck.py: checks what the webhook receivers (ft_hookd) got in
tests/gaps/routing.sh, independently of the hub's code: the requests each bot
format receives are rebuilt here from the generic hook's copy of each event
(the event as on the PUB socket) and compared exactly; DingTalk and Feishu
signatures are computed here with hmac and hashlib (docs/alerts.md "Bots").

  hookcheck.py formats RECEIVED PEOPLE_JSON DSEC FSEC DASHBOARD
  hookcheck.py filter RECEIVED GOT_PATH KEY=VALUE...
  hookcheck.py burst RECEIVED PATH RATE TOTAL
  hookcheck.py digest RECEIVED PATH ALERTS_JSONL AT_MS

RECEIVED holds "PATH BODY" lines (or "MS PATH BODY" for burst); the generic
hook without a filter is /all. Exits 1 with a reason on the first mismatch.
"""
import base64
import hashlib
import hmac
import json
import re
import sys
import time
import urllib.parse

SEV_ZH = {"low": "低", "medium": "中", "high": "高", "critical": "严重"}


def fail(why):
    print("hookcheck: " + why, file=sys.stderr)
    sys.exit(1)


def lines(path, timed=False):
    out = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if not raw:
                continue
            ms = None
            if timed:
                ms, raw = raw.split(" ", 1)
                ms = int(ms)
            p, body = raw.split(" ", 1)
            out.append((ms, p, json.loads(body)))
    return out


def of_path(received, name):
    return [(ms, p, b) for ms, p, b in received if urllib.parse.urlsplit(p).path == "/" + name]


def events(received):
    return [b for _, _, b in of_path(received, "all")]


def safe(s):
    """Record text as the hub writes it into a chat: no mentions, no links."""
    s = s or ""
    for a, b in (("<", "＜"), (">", "＞"), ("[", "［"), ("]", "］")):
        s = s.replace(a, b)
    return "".join(" " if ord(c) < 0x20 or c == "\x7f" else c for c in s)


def link(base, alert_id):
    return base.rstrip("/") + "/#/alerts?q=" + urllib.parse.quote(alert_id, safe="")


def mentioned(people, alert):
    """Officers' people first, then the unit's supervisors; each once."""
    who = []
    for o in alert.get("officers") or []:
        for p in people:
            if o in p.get("officers", []) and p not in who:
                who.append(p)
    for p in people:
        if alert.get("unit") in p.get("supervises", []) and p not in who:
            who.append(p)
    return who


def paragraphs(ev, base, zh):
    """The paragraphs of one event's message: (kind, text, href, quote)."""
    a = ev["alert"]
    st = ev["state"]
    off = ("、" if zh else ", ").join(a.get("officers") or [])
    url = link(base, a["id"])
    p = []
    if zh:
        p.append(("bold", "第%s条 · 规则 %s · 严重程度 %s" % (a["article"], a["rule"], SEV_ZH[a["severity"]]), None, False))
        p.append(("text", safe(a["message_zh"]), None, False))
        p.append(("text", "案件：" + (safe(a.get("case")) or "-"), None, True))
        p.append(("text", "单位：" + (safe(a["unit"]) or "-"), None, True))
        if off:
            p.append(("text", "执法人员：" + safe(off), None, True))
        p.append(("text", "情况：" + (safe(a["detail"]) or "-"), None, True))
        if st != "open" and ev.get("why"):
            p.append(("text", "原因：" + safe(ev["why"]), None, True))
        p.append(("link", "在工作台查看", url, False))
    else:
        p.append(("text", safe(a["message_en"]), None, False))
        p.append(("text", "case %s · unit %s" % (safe(a.get("case")) or "-", safe(a["unit"]) or "-"), None, True))
        if off:
            p.append(("text", "officers " + safe(off), None, True))
        p.append(("text", safe(a["detail"]) or "-", None, True))
        if st != "open" and ev.get("why"):
            p.append(("text", "why: " + safe(ev["why"]), None, True))
        p.append(("text", "alert %s · %s" % (a["id"], ev["at"]), None, False))
        p.append(("link", "Open in the dashboard", url, False))
    return p


TITLE_ZH = {"open": "新告警", "resolved": "已消除", "justified": "已说明理由"}


def titles(ev):
    a = ev["alert"]
    zh = "fieldtrail 执法记录告警 · " + TITLE_ZH[ev["state"]]
    en = "[%s] Art. %s · rule %s · %s" % (ev["state"], a["article"], a["rule"], a["severity"])
    return zh, en


def md(p):
    kind, text, href, quote = p
    s = "**%s**" % text if kind == "bold" else "[%s](%s)" % (text, href) if kind == "link" else text
    return ("> " if quote else "") + s


def dingtalk_request(ev, people, base):
    zh_t, en_t = titles(ev)
    who = mentioned(people, ev["alert"])
    parts = ["### " + zh_t]
    if who:
        parts.append("请处理：" + " ".join("@" + (p.get("dingtalk_id") or p["mobile"]) for p in who))
    parts += [md(p) for p in paragraphs(ev, base, True)]
    parts.append("**%s**" % en_t)
    parts += [md(p) for p in paragraphs(ev, base, False)]
    body = {"msgtype": "markdown", "markdown": {"title": zh_t, "text": "\n\n".join(parts)}}
    if who:
        body["at"] = {
            "atMobiles": [p["mobile"] for p in who if not p.get("dingtalk_id")],
            "atUserIds": [p["dingtalk_id"] for p in who if p.get("dingtalk_id")],
            "isAtAll": False,
        }
    return body


def wecom_request(ev, people, base):
    zh_t, en_t = titles(ev)
    who = mentioned(people, ev["alert"])
    if any(not p.get("wecom_id") for p in who):
        fail("the test's people must all have a wecom_id (markdown)")
    parts = ["### " + zh_t]
    if who:
        parts.append("请处理：" + " ".join("<@%s>" % p["wecom_id"] for p in who))
    parts += [md(p) for p in paragraphs(ev, base, True)]
    parts.append("**%s**" % en_t)
    parts += [md(p) for p in paragraphs(ev, base, False)]
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(parts)}}


def feishu_part(ev, people, base, zh):
    title = titles(ev)[0 if zh else 1]
    who = mentioned(people, ev["alert"])
    content = []
    if who:
        row = [{"tag": "text", "text": "请处理：" if zh else "To act: "}]
        for p in who:
            if p.get("feishu_id"):
                row.append({"tag": "at", "user_id": p["feishu_id"], "user_name": p["name"]})
            else:
                row.append({"tag": "text", "text": p["name"]})
        content.append(row)
    for kind, text, href, _ in paragraphs(ev, base, zh):
        if kind == "link":
            content.append([{"tag": "a", "text": text, "href": href}])
        else:
            content.append([{"tag": "text", "text": text}])
    return {"title": title, "content": content}


def feishu_request(ev, people, base):
    return {
        "msg_type": "post",
        "content": {"post": {"zh_cn": feishu_part(ev, people, base, True), "en_us": feishu_part(ev, people, base, False)}},
    }


def b64hmac(key, msg):
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def check_formats(received, people, dsec, fsec, base):
    evs = {(e["alert_id"], e["state"]): e for e in events(received)}
    now = time.time()
    for name, build in (("ding", dingtalk_request), ("feishu", feishu_request), ("wecom", wecom_request)):
        got = of_path(received, name)
        want = [e for e in evs.values() if e["alert"]["unit"] == "unit-a" and e["state"] == "open"]
        if len(got) != len(want) or not want:
            fail("/%s: %d requests, expected %d (unit-a, opened)" % (name, len(got), len(want)))
        seen = set()
        for _, p, body in got:
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(p).query)
            if name == "ding":
                ts, sign = q["timestamp"][0], q["sign"][0]
                if q["access_token"] != ["tok"]:
                    fail("/ding: the URL's own query is not kept: " + p)
                if abs(int(ts) / 1000 - now) > 600:
                    fail("/ding: timestamp %s is not the time of the request" % ts)
                want_sign = b64hmac(dsec.encode(), ("%s\n%s" % (ts, dsec)).encode())
                if sign != want_sign:
                    fail("/ding: signature %s, computed %s" % (sign, want_sign))
                if "sign=" + urllib.parse.quote(want_sign, safe="") not in p:
                    fail("/ding: the signature is not URL-encoded: " + p)
            if name == "feishu":
                ts, sign = body.pop("timestamp"), body.pop("sign")
                if abs(int(ts) - now) > 600:
                    fail("/feishu: timestamp %s is not the time of the request" % ts)
                want_sign = b64hmac(("%s\n%s" % (ts, fsec)).encode(), b"")
                if sign != want_sign:
                    fail("/feishu: signature %s, computed %s" % (sign, want_sign))
            # which event: the alert id is in every format's text
            match = [e for e in want if e["alert"]["id"] in json.dumps(body, ensure_ascii=False)]
            if len(match) != 1:
                fail("/%s: a request names no single event: %s" % (name, body))
            expect = build(match[0], people, base)
            if body != expect:
                fail("/%s: request differs.\n got:  %s\n want: %s" % (
                    name, json.dumps(body, ensure_ascii=False), json.dumps(expect, ensure_ascii=False)))
            seen.add(match[0]["alert"]["id"])
        if len(seen) != len(want):
            fail("/%s: an event came twice, another never" % name)
        print("/%s: %d requests exactly as documented%s" % (name, len(got), ", signatures verified" if name != "wecom" else ""))


KIND = {"open": "opened", "resolved": "resolved", "justified": "justified"}


def admits(f, ev):
    a = ev["alert"]
    if "units" in f and a["unit"] not in f["units"]:
        return False
    if "severities" in f and a["severity"] not in f["severities"]:
        return False
    if "rules" in f and a["rule"] not in f["rules"]:
        return False
    if "articles" in f and not any(a["article"] == x or a["article"].startswith(x + "(") for x in f["articles"]):
        return False
    if "events" in f and KIND[ev["state"]] not in f["events"]:
        return False
    return True


def check_filter(received, name, spec):
    f = {}
    for kv in spec:
        k, v = kv.split("=", 1)
        f[k] = v.split(",")
    want = sorted((e["alert_id"], e["state"]) for e in events(received) if admits(f, e))
    got = sorted((b["alert_id"], b["state"]) for _, _, b in of_path(received, name))
    if got != want:
        fail("/%s (%s): got %s, its filter admits %s" % (name, " ".join(spec), got, want))
    print("/%s: exactly the %d of %d events its filter admits" % (name, len(got), len(events(received))))


def check_burst(received, name, rate, total):
    got = of_path(received, name)
    if not got:
        fail("/%s: nothing received" % name)
    times = [ms for ms, _, _ in got]
    for i, t in enumerate(times):
        n = sum(1 for u in times[i:] if u < t + 60000)
        if n > rate:
            fail("/%s: %d messages within 60 s from %d (rate %d)" % (name, n, t, rate))
    covered, ranges = 0, []
    for _, _, b in got:
        text = b["markdown"]["text"]
        m = re.search(r"^### fieldtrail 执法记录告警 · 合并 (\d+) 条", text)
        if m:
            n = int(m.group(1))
            r = re.search(r"hub log entries (\d+)–(\d+)", text)
            if not r or "%d more alerts in unit unit-c" % n not in text:
                fail("/%s: a merged message without its count per unit or its entries: %s" % (name, text[:400]))
            ranges.append((int(r.group(1)), int(r.group(2))))
            covered += n
        elif text.startswith("### fieldtrail 执法记录告警 · 新告警"):
            covered += 1
        else:
            fail("/%s: unexpected message: %s" % (name, text[:200]))
    ranges.sort()
    for (a1, b1), (a2, b2) in zip(ranges, ranges[1:]):
        if a2 <= b1:
            fail("/%s: merged messages overlap: %s" % (name, ranges))
    if covered != total:
        fail("/%s: the messages cover %d alert events, expected %d" % (name, covered, total))
    print("/%s: %d messages for %d alert events (%d merged messages), never more than %d in 60 s" % (
        name, len(got), total, len(ranges), rate))


def check_digest(received, name, alerts_path, at_ms):
    alerts = []
    with open(alerts_path, encoding="utf-8") as f:
        for raw in f:
            if raw.strip():
                alerts.append(json.loads(raw))
    open_ = [a for a in alerts if a["state"] == "open"]
    units = sorted({a["unit"] for a in alerts})
    got = [b for _, _, b in of_path(received, name)]
    if sorted(b["unit"] for b in got) != units:
        fail("/%s: digests for %s, expected one per unit %s" % (name, [b["unit"] for b in got], units))
    for b in got:
        u = b["unit"]
        mine = [a for a in open_ if a["unit"] == u]
        if b["kind"] != "digest" or b["at"] != time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_ms // 1000)):
            fail("/%s: %s: kind %s at %s" % (name, u, b["kind"], b["at"]))
        sev = {s: sum(1 for a in mine if a["severity"] == s) for s in SEV_ZH}
        art = {}
        for a in mine:
            art[a["article"]] = art.get(a["article"], 0) + 1
        if b["open"] != {"total": len(mine), "severity": sev, "article": art}:
            fail("/%s: %s: open %s, expected %s" % (name, u, b["open"], {"total": len(mine), "severity": sev, "article": art}))
        oldest = sorted(mine, key=lambda a: (a["opened_at_ms"], a.get("due_at_ms", 0), a["id"]))[:5]
        if [o["id"] for o in b["oldest"]] != [a["id"] for a in oldest]:
            fail("/%s: %s: oldest %s, expected %s" % (name, u, [o["id"] for o in b["oldest"]], [a["id"] for a in oldest]))
        for o, a in zip(b["oldest"], oldest):
            if o["case"] != a["case"] or o["officers"] != a.get("officers", []) or \
                    o["open_for_s"] != (at_ms - a["opened_at_ms"]) // 1000:
                fail("/%s: %s: oldest gap %s, alert %s" % (name, u, o, a))
        if any(x["id"] not in {a["id"] for a in alerts if a["unit"] == u} for x in b["since_last"]["opened_alerts"] + b["since_last"]["resolved_alerts"]):
            fail("/%s: %s: the digest names another unit's alerts" % (name, u))
        want_url = "https://hub.example/#/alerts?unit=%s&state=open" % urllib.parse.quote(u, safe="")
        if b.get("url") != want_url:
            fail("/%s: %s: link %s" % (name, u, b.get("url")))
        print("/%s: digest of %s: %d open %s, oldest %s" % (name, u, len(mine), sev, [o["case"] for o in b["oldest"]]))


def main():
    cmd = sys.argv[1]
    if cmd == "formats":
        with open(sys.argv[3], encoding="utf-8") as f:
            people = json.load(f)
        check_formats(lines(sys.argv[2]), people, sys.argv[4], sys.argv[5], sys.argv[6])
    elif cmd == "filter":
        check_filter(lines(sys.argv[2]), sys.argv[3], sys.argv[4:])
    elif cmd == "burst":
        check_burst(lines(sys.argv[2], timed=True), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "digest":
        check_digest(lines(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        fail("unknown command " + cmd)


main()
