/* app.js: the dashboard: a hash-routed single page over the hub's JSON API
 * (docs/api.md), live through server-sent events (/api/events).
 *
 * Pages: #/sync, #/alerts, #/case/ID, #/search, #/compliance, #/devices,
 * #/audit. Every page renders from API data with DOM calls (never HTML
 * strings from data), so record text cannot inject markup.
 */
"use strict";

const S = {
  me: null, // {user, role, csrf}
  page: null, // current page name
  events: null, // EventSource
  handlers: {}, // event type -> page handler for the current page
};

const ROLE_RANK = { staff: 1, supervisor: 2, admin: 3 };

/* ---- small helpers ---- */

function h(tag, attrs, ...kids) {
  const el = document.createElementNS(
    tag.startsWith("svg:") ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag.replace(/^svg:/, "")
  );
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.setAttribute("class", v);
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else if (k === "style") for (const [sk, sv] of Object.entries(v)) el.style[sk] = sv;
      else el.setAttribute(k, v === true ? "" : v);
    }
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.appendChild(typeof kid === "object" ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function svg(tag, attrs, ...kids) {
  return h("svg:" + tag, attrs, ...kids);
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

function toast(msg, bad) {
  const el = document.getElementById("toast");
  el.textContent = msg;
  el.className = "toast" + (bad ? " bad" : "");
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 4000);
}

async function api(path, opts) {
  const o = Object.assign({ credentials: "same-origin", headers: {} }, opts || {});
  if (o.body && typeof o.body !== "string") {
    o.body = JSON.stringify(o.body);
    o.headers["Content-Type"] = "application/json";
  }
  if (o.method && o.method !== "GET" && S.me) o.headers["X-CSRF-Token"] = S.me.csrf;
  const r = await fetch(path, o);
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.hash);
    throw new Error("login required");
  }
  const ct = r.headers.get("Content-Type") || "";
  const data = ct.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const e = new Error((data && data.message) || r.statusText);
    e.status = r.status;
    e.data = data;
    throw e;
  }
  return data;
}

function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, v);
  const s = p.toString();
  return s ? "?" + s : "";
}

function hasRole(r) {
  return S.me && ROLE_RANK[S.me.role] >= ROLE_RANK[r];
}

const pad = (n) => String(n).padStart(2, "0");

/* Local (browser) time text of an RFC 3339 string or ms. */
function fmtTime(v, withSec) {
  if (v === null || v === undefined || v === "" || v === 0) return "—";
  const d = typeof v === "number" ? new Date(v) : new Date(v);
  if (isNaN(d)) return String(v);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withSec ? s + ":" + pad(d.getSeconds()) : s;
}

function fmtAgo(ms) {
  if (!ms) return t("never");
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  const en = ftLang() === "en";
  if (s < 60) return en ? `${s} s ago` : `${s} 秒前`;
  if (s < 3600) return en ? `${Math.floor(s / 60)} min ago` : `${Math.floor(s / 60)} 分钟前`;
  if (s < 86400) return en ? `${Math.floor(s / 3600)} h ago` : `${Math.floor(s / 3600)} 小时前`;
  return en ? `${Math.floor(s / 86400)} d ago` : `${Math.floor(s / 86400)} 天前`;
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return (i ? v.toFixed(1) : v) + " " + u[i];
}

function fmtDur(ms) {
  if (!ms && ms !== 0) return "—";
  const s = Math.round(ms / 1000);
  const h_ = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), ss = s % 60;
  if (ftLang() === "en") return h_ ? `${h_} h ${m} min` : m ? (ss ? `${m} min ${ss} s` : `${m} min`) : `${ss} s`;
  if (h_ >= 48 && !m) return `${Math.round(h_ / 24 * 10) / 10}天`;
  return h_ ? (m ? `${h_}小时${m}分` : `${h_}小时`) : m ? (ss ? `${m}分${ss}秒` : `${m}分钟`) : `${ss}秒`;
}

function fmtOffset(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = ms / 1000;
  return (s >= 0 ? "+" : "") + s.toFixed(1) + " s";
}

function pct(x) {
  return x === null || x === undefined ? "—" : Math.round(x * 1000) / 10 + "%";
}

function sevBadge(s) {
  return h("span", { class: "badge sev-" + (s || "low"), text: t("sev_" + (s || "low")) });
}

function stateBadge(s) {
  const cls = s === "open" ? "bad" : s === "justified" ? "info" : "ok";
  return h("span", { class: "badge " + cls, "data-state": s, text: t("st_" + s) });
}

function articleText(a) {
  return a ? t("article_n", { n: a }) : "—";
}

function alertMessage(a) {
  const zh = a.message_zh || (a.message && a.message.zh);
  const en = a.message_en || (a.message && a.message.en);
  const main = ftLang() === "en" ? en || zh : zh || en;
  return main || a.detail || a.rule || a.id;
}

function caseLink(c) {
  return c ? h("a", { href: "#/case/" + encodeURIComponent(c), class: "case-link", text: c }) : "—";
}

function pageHead(title, sub, ...right) {
  return h("div", { class: "page-head" }, h("div", null, h("h1", { text: title }), sub ? h("p", { text: sub }) : null), h("div", { class: "chips" }, ...right));
}

function errorBox(e) {
  return h("div", { class: "panel" }, h("div", { class: "empty", text: t("error_prefix") + (e.message || e) }));
}

function field(labelKey, input) {
  return h("label", null, h("span", { text: t(labelKey) }), input);
}

function selectOf(name, options, value) {
  const sel = h("select", { name });
  for (const [v, label] of options) {
    const o = h("option", { value: v, text: label });
    if (String(v) === String(value || "")) o.selected = true;
    sel.appendChild(o);
  }
  return sel;
}

function routeParams() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const parts = path.split("/").map(decodeURIComponent);
  return { page: parts[0] || "sync", arg: parts[1] || "", query: new URLSearchParams(query || "") };
}

/* ---- live events ---- */

function connectEvents() {
  if (S.events) S.events.close();
  const live = document.getElementById("live");
  const es = new EventSource("/api/events");
  S.events = es;
  es.addEventListener("open", () => {
    live.classList.remove("down");
    document.getElementById("live-text").textContent = t("live");
  });
  es.addEventListener("error", () => {
    live.classList.add("down");
    document.getElementById("live-text").textContent = t("offline_stream");
  });
  for (const type of ["sync", "alert", "records", "hublog", "resync"]) {
    es.addEventListener(type, (ev) => {
      const fn = S.handlers[type];
      if (fn) {
        let data = {};
        try {
          data = JSON.parse(ev.data);
        } catch (e) {
          /* keep {} */
        }
        fn(data);
      }
    });
  }
}

/* ---- pages ---- */

const PAGES = {};

/* Sync: every device, problems first. */
/* How long ago, as a duration ("3小时20分"), for ages that matter (offline
 * for, silent for, report age). */
function fmtFor(ms) {
  return ms > 0 ? fmtDur(Math.floor(ms / 60000) * 60000 || Math.round(ms / 1000) * 1000) : "—";
}

/* Seconds left, as h:mm:ss or m:ss. */
function fmtEta(s) {
  if (s === null || s === undefined) return "—";
  const h_ = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), ss = s % 60;
  const p2 = (n) => String(n).padStart(2, "0");
  return h_ ? `${h_}:${p2(m)}:${p2(ss)}` : `${m}:${p2(ss)}`;
}

/* Sync: who is behind. The plate first; offline for; the last complete
 * sync; records and media waiting on the vehicle as it last reported them
 * (and how old that report is); each upload's progress, rate over the last
 * minute and time left. Rows with a problem are red and first; a row is
 * marked only when it gets a new problem (never for figures moving). */
PAGES.sync = async (main) => {
  const data = await api("/api/sync");
  const rows = new Map();
  const cards = h("div", { class: "cards" });
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "data", id: "sync-table" },
    h("thead", null, h("tr", null, ["col_vehicle", "col_online", "col_synced", "col_waiting", "col_uploads", "col_bytes", "col_rate", "col_offset", "col_health", "col_error"].map((k) => h("th", { text: t(k) })))),
    tbody
  );
  main.append(
    pageHead(t("sync_title"), t("sync_sub"), h("button", { class: "btn", onclick: () => render(), text: t("refresh") })),
    cards,
    h("div", { class: "panel" }, h("div", { class: "table-wrap" }, table))
  );

  function renderCards(devs) {
    clear(cards);
    const online = devs.filter((d) => d.online).length;
    const problems = devs.filter((d) => d.problems.length).length;
    const backlog = devs.reduce((a, d) => a + (d.backlog || 0), 0);
    const pendingBytes = devs.reduce((a, d) => a + (d.backlog_bytes || 0), 0);
    const card = (k, v, cls, id) => h("div", { class: "card " + (cls || ""), id }, h("div", { class: "k", text: t(k) }), h("div", { class: "v", text: v }));
    cards.append(
      card("devices_total", devs.length, "", "card-total"),
      card("devices_online", online, online ? "ok" : "", "card-online"),
      card("devices_problem", problems, problems ? "bad" : "", "card-problems"),
      card("backlog_total", pendingBytes ? `${backlog} · ${fmtBytes(pendingBytes)}` : backlog, backlog || pendingBytes ? "bad" : "", "card-backlog")
    );
    // Forwarding to the provincial PostgreSQL (docs/province.md), when this hub forwards.
    const p = data.province;
    if (p) {
      const ok = p.state === "forwarding";
      cards.append(card("province_behind", ok ? p.behind : `${p.behind} · ${t("province_" + p.state) || p.state}`, ok && !p.behind ? "ok" : "bad", "card-province"));
    }
  }

  function rowOf(d) {
    const now = Date.now();
    const bad = d.problems.length > 0;
    let state;
    if (d.state === "revoked") state = h("span", { class: "dotline rev", text: t("revoked") });
    else if (d.online) state = h("span", { class: "dotline on", text: t("online") });
    else
      state = h(
        "div",
        null,
        h("span", { class: "dotline off", text: t("offline") }),
        h("div", { class: "offline-for" + (d.problems.includes("silent") ? " form-error" : " muted"), text: d.last_seen_ms ? t("offline_for", { d: fmtFor(now - d.last_seen_ms) }) : t("never") })
      );
    const health = h(
      "div",
      { class: "chips" },
      d.recorders.map((r) => {
        const bits = [r.recorder];
        if (r.battery_pct !== undefined) bits.push(t("battery") + " " + Math.round(r.battery_pct) + "%");
        if (r.free_mb !== undefined) bits.push(t("storage") + " " + fmtBytes(r.free_mb * 1048576));
        if (r.event) bits.push(r.event);
        return h("span", { class: "badge " + (r.ok ? "ok" : "bad"), title: fmtTime(r.at), text: bits.join(" · ") });
      })
    );
    // an endpoint mismatch: the edge's own words (what edge.conf says, what the hub announces) on hover
    const probs = d.problems.map((p) => h("span", { class: "badge bad", "data-problem": p, title: p === "endpoint" ? d.endpoint_mismatch : undefined, text: p === "silent" ? t("p_silent", { d: fmtFor(d.silent_limit_ms) }) : t("p_" + p) }));
    const mw = d.media_waiting || { files: 0, bytes: 0, received: 0 };
    const waiting = h(
      "td",
      { class: "nowrap waiting" },
      d.backlog === null
        ? h("div", { class: "muted", text: t("backlog_unknown") })
        : h("div", { class: "waiting-records " + (d.backlog ? (bad ? "badge bad" : "badge warn") : "muted"), "data-count": d.backlog, text: t("records_waiting", { n: d.backlog }) }),
      mw.bytes ? h("div", { class: "waiting-media " + (bad ? "badge bad" : "badge warn"), text: t("media_waiting", { n: mw.files, size: fmtBytes(mw.bytes - (mw.received || 0)) }) }) : null,
      d.report_ms ? h("div", { class: "muted report-age", title: fmtTime(d.report_ms, true), text: t("reported_ago", { d: fmtAgo(d.report_ms) }) }) : null
    );
    const uploads = h(
      "td",
      { class: "uploads" },
      (d.uploads || []).length
        ? (d.uploads || []).map((u) =>
            h(
              "div",
              { class: "upload", "data-media": u.media },
              h("div", { class: "upload-bar" }, h("span", { style: { width: Math.min(100, u.pct) + "%" } })),
              h("div", { class: "muted small-text", text: `${u.name || u.media.slice(0, 8)} · ${u.pct}% · ${u.rate_bps ? fmtBytes(u.rate_bps) + "/s" : "—"} · ${t("eta")} ${fmtEta(u.eta_s)}` })
            )
          )
        : h("span", { class: "muted", text: "—" })
    );
    return h(
      "tr",
      { class: bad ? "problem" : "", "data-device": d.device_id },
      h(
        "td",
        null,
        h("div", { class: "plate", text: d.vehicle || d.device_id }),
        h("div", { class: "muted mono nowrap small-text", text: d.device_id }),
        h("div", { class: "muted small-text", text: d.unit }),
        probs.length ? h("div", { class: "chips" }, probs) : null
      ),
      h("td", { class: "nowrap", title: fmtTime(d.last_seen, true) }, state),
      h("td", { class: "nowrap synced", title: d.synced_ms ? fmtTime(d.synced_ms, true) : "" }, d.synced_ms ? fmtAgo(d.synced_ms) : t("never")),
      waiting,
      uploads,
      h("td", { class: "right nowrap" }, fmtBytes(d.bytes)),
      h("td", { class: "right nowrap" }, d.rate_bps ? fmtBytes(d.rate_bps) + "/s" : "—"),
      h("td", { class: "right nowrap" + (d.problems.includes("clock") ? " form-error" : "") }, fmtOffset(d.clock_offset_ms)),
      h("td", null, d.recorders.length ? health : h("span", { class: "muted", text: "—" })),
      h("td", null, d.last_error ? h("div", null, h("div", { text: d.last_error }), h("div", { class: "muted", text: fmtTime(d.last_error_at) })) : h("span", { class: "muted", text: "—" }))
    );
  }

  let devs = data.devices;
  function renderRows(flashIds) {
    clear(tbody);
    rows.clear();
    if (!devs.length) {
      tbody.append(h("tr", null, h("td", { colspan: 10, class: "empty", text: t("no_devices") })));
    }
    for (const d of devs) {
      const tr = rowOf(d);
      if (flashIds && flashIds.has(d.device_id)) tr.classList.add("flash");
      rows.set(d.device_id, tr);
      tbody.append(tr);
    }
    tbody.dataset.flashes = String(Number(tbody.dataset.flashes || 0) + (flashIds ? flashIds.size : 0));
    renderCards(devs);
  }
  async function render() {
    const fresh = await api("/api/sync");
    data.province = fresh.province;
    devs = fresh.devices;
    renderRows();
  }
  renderRows();
  S.handlers.sync = (ev) => {
    const marked = new Set();
    for (const d of ev.devices || []) {
      const i = devs.findIndex((x) => x.device_id === d.device_id);
      const before = i >= 0 ? new Set(devs[i].problems) : new Set();
      const fresh = d.problems.filter((p) => !before.has(p));
      if (fresh.length) {
        marked.add(d.device_id);
        tbody.dataset.flashed = `${d.device_id}:${fresh.join(",")}`; /* the last row marked, and why */
      }
      if (i >= 0) devs[i] = d;
      else devs.push(d);
    }
    devs.sort((a, b) => (a.state === "revoked") - (b.state === "revoked") || b.problems.length - a.problems.length || (a.vehicle || "").localeCompare(b.vehicle || "") || a.device_id.localeCompare(b.device_id));
    renderRows(marked.size ? marked : null);
  };
  S.handlers.resync = () => render();
  /* Relative times age while the page is open. */
  S.tick = setInterval(() => renderRows(), 15000);
};

/* The alert's specifics in the page's language, from the engine's
 * structured detail (docs/alerts.md "Structured detail"); the English text
 * only on the English page when an alert has none (alerts of older hubs). */
function alertDetail(a) {
  const x = a.detail_args || {};
  const ty = (v) => (v ? typeName(v) : "—");
  const dur = (ms) => (ms || ms === 0 ? fmtDur(ms) : "—");
  const field = (k) => (t("fl_" + k) === "fl_" + k ? k : t("fl_" + k));
  switch (a.detail_tpl) {
    case "coverage":
      return t("dt_coverage", { type: ty(x.type), pct: Math.floor(x.pct || 0), linked: x.linked || 0, gap: dur(x.longest_ms) });
    case "fields":
      return t("dt_fields", { type: ty(x.type), fields: (x.missing || []).map(field).join(t("list_sep")) });
    case "followed_by":
      return t("dt_followed_by", { type: ty(x.type), needs: ty(x.needs), more: x.or_equivalent ? t("dt_or_equivalent") : "", within: dur(x.within_ms) });
    case "preceded_by":
      return t("dt_preceded_by", { type: ty(x.type), needs: ty(x.needs), before: x.before_ms ? t("dt_at_least", { d: dur(x.before_ms) }) : "" });
    case "preceded_each":
      return t("dt_preceded_each", { type: ty(x.type), needs: ty(x.needs), each: ty(x.each) });
    case "readiness":
      return t("dt_readiness", { recorder: x.recorder, battery: Math.round(x.battery_pct || 0), min_battery: x.min_battery_pct, free: Math.round(x.free_mb || 0), min_free: x.min_free_mb });
    case "conflict":
      return t("dt_conflict", { id: x.id, a: x.ref_a, b: x.ref_b });
    case "unlinked_media":
      return t("dt_unlinked_media", { media: x.media, recorder: x.recorder || "—", officer: x.officer || "—", grace: dur(x.grace_ms) });
    case "clock":
      return t("dt_clock", { device: x.device, offset: fmtOffset(x.offset_ms), limit: dur(x.limit_ms) });
    case "integrity":
      return t("dt_integrity", { device: x.device, reason: t("ir_" + x.reason) === "ir_" + x.reason ? x.reason : t("ir_" + x.reason) });
    case "silence":
      return t(x.last_seen_ms ? "dt_silence" : "dt_silence_never", { vehicle: x.vehicle || x.device, device: x.device, since: fmtTime(x.since_ms), limit: dur(x.limit_ms) });
    default:
      return ftLang() === "en" ? a.detail || "" : "";
  }
}

/* When the activity of an alert happened (its window, else its time). */
function activityWhen(act) {
  if (!act) return "—";
  if (act.start_ms && act.end_ms && act.end_ms > act.start_ms) return fmtTime(act.start_ms) + " – " + fmtTime(act.end_ms).slice(11);
  return fmtTime(act.time_ms || act.start_ms);
}

/* The timeline of the alert's case, opened on its activity. */
function activityLink(a) {
  const c = a.case || (a.activity && a.activity.case);
  if (!c) return null;
  const ref = a.activity && a.activity.ref;
  return "#/case/" + encodeURIComponent(c) + (ref ? "?ref=" + encodeURIComponent(ref) : "");
}

/* Alerts: a page of them in the order the hub gives (severity, then when
 * the gap became due), the true total, groups by case or officer with
 * counts; live changes are gathered and shown at most once a second, with
 * one notice. */
const ALERTS_PAGE = 100;
PAGES.alerts = async (main, arg, query) => {
  const f = {
    unit: query.get("unit") || "",
    case: query.get("case") || "",
    officer: query.get("officer") || "",
    article: query.get("article") || "",
    severity: query.get("severity") || "",
    state: query.get("state") === null ? "open" : query.get("state") === "all" ? "" : query.get("state"),
    q: query.get("q") || "",
    group: query.get("group") || "",
  };
  let offset = Math.max(0, Number(query.get("offset")) || 0);
  const apiQuery = () => qs(Object.assign({}, f, { offset, limit: ALERTS_PAGE }));
  let data = await api("/api/alerts" + apiQuery());
  const facets = data.facets || {};
  const opts = (name, labeler) => [["", t("all")]].concat(Object.keys(facets[name] || {}).filter((x) => x).sort().map((v) => [v, labeler ? labeler(v) : v]));
  const unitSel = selectOf("unit", opts("unit"), f.unit);
  const artSel = selectOf("article", opts("article", articleText), f.article);
  const sevSel = selectOf("severity", [["", t("all")], ["critical", t("sev_critical")], ["high", t("sev_high")], ["medium", t("sev_medium")], ["low", t("sev_low")]], f.severity);
  const stSel = selectOf("state", [["all", t("all")], ["open", t("st_open")], ["resolved", t("st_resolved")], ["justified", t("st_justified")]], f.state || "all");
  const grpSel = selectOf("group", [["", t("group_none")], ["case", t("group_case")], ["officer", t("group_officer")]], f.group);
  const caseIn = h("input", { name: "case", value: f.case, placeholder: "NDG-2026-031" });
  const offIn = h("input", { name: "officer", value: f.officer, placeholder: "ZF-0107" });
  const qIn = h("input", { name: "q", value: f.q });
  const hashOf = (over) =>
    "#/alerts" +
    qs(Object.assign({ unit: unitSel.value, case: caseIn.value.trim(), officer: offIn.value.trim(), article: artSel.value, severity: sevSel.value, state: stSel.value, q: qIn.value.trim(), group: grpSel.value }, over || {}));
  const apply = () => (location.hash = hashOf());
  const count = h("span", { class: "muted", id: "alerts-count" });
  const pager = h("div", { class: "pager", id: "alerts-pager" });
  const groupsBox = h("div", { class: "groups", id: "alert-groups" });
  const tbody = h("tbody");
  main.append(
    pageHead(t("alerts_title"), t("alerts_sub")),
    h(
      "div",
      { class: "panel" },
      h(
        "form",
        { class: "filters", id: "alert-filters", onsubmit: (e) => (e.preventDefault(), apply()) },
        field("f_unit", unitSel),
        field("f_case", caseIn),
        field("s_officer", offIn),
        field("f_article", artSel),
        field("f_severity", sevSel),
        field("f_state", stSel),
        field("f_group", grpSel),
        field("f_text", qIn),
        h("button", { class: "btn primary", type: "submit", text: t("apply") }),
        h("button", { class: "btn", type: "button", onclick: () => (location.hash = "#/alerts"), text: t("reset") }),
        count
      ),
      groupsBox,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", id: "alerts-table" },
          h("thead", null, h("tr", null, ["col_severity", "col_article", "col_message", "officers", "col_vehicle", "col_when", "col_case", "col_due", "col_state", "col_actions"].map((k) => h("th", { text: t(k) })))),
          tbody
        )
      ),
      pager
    )
  );

  function rowOf(a) {
    const actions = h("div", { class: "chips nowrap-chips" });
    const link = activityLink(a);
    if (link) actions.append(h("a", { class: "btn small open-activity", href: link, text: t("open_timeline") }));
    if (a.state !== "justified" && hasRole("supervisor")) actions.append(h("button", { class: "btn small justify-btn", onclick: () => justifyDialog(a), text: t("justify") }));
    const detail = alertDetail(a);
    return h(
      "tr",
      { "data-alert": a.id, "data-severity": a.severity },
      h("td", null, sevBadge(a.severity)),
      h("td", { class: "nowrap" }, articleText(a.article)),
      h(
        "td",
        { class: "msg-cell" },
        h("a", { href: "#", class: "alert-msg", onclick: (e) => (e.preventDefault(), alertDialog(a.id)), text: alertMessage(a) }),
        detail ? h("div", { class: "muted small-text alert-detail", text: detail }) : null,
        h("div", { class: "muted mono", text: `${t("rule")} ${a.rule} · ${a.id}` })
      ),
      h("td", { class: "alert-officers" }, (a.officers || []).join("、") || "—"),
      h("td", { class: "nowrap alert-vehicles" }, (a.vehicles || []).join("、") || "—"),
      h("td", { class: "nowrap alert-when" }, a.activity ? h("div", null, h("div", { text: activityWhen(a.activity) }), h("div", { class: "muted", text: typeName(a.activity.type) })) : "—"),
      h("td", { class: "nowrap" }, caseLink(a.case)),
      h("td", { class: "nowrap" }, fmtTime(a.due_at_ms || a.opened_at)),
      h("td", null, stateBadge(a.state)),
      h("td", null, actions)
    );
  }

  function renderGroups() {
    clear(groupsBox);
    groupsBox.hidden = !data.groups;
    if (!data.groups) return;
    const key = f.group === "case" ? "case" : "officer";
    groupsBox.append(h("span", { class: "muted", text: t(f.group === "case" ? "group_case" : "group_officer") + "：" }));
    for (const g of data.groups.slice(0, 60)) {
      const worst = ["critical", "high", "medium", "low"].find((s) => g[s]) || "low";
      const label = g.key || t(f.group === "case" ? "no_case_key" : "no_officer_key");
      const value = g.key || (key === "officer" ? "-" : "");
      groupsBox.append(
        h(
          "a",
          { class: "group-chip" + (f[key] && f[key] === value ? " active" : ""), href: hashOf({ [key]: value, offset: "" }), "data-group": value },
          h("span", { class: "badge sev-" + worst, text: String(g.count) }),
          " ",
          label
        )
      );
    }
  }

  function renderPager() {
    clear(pager);
    const from = data.total ? offset + 1 : 0, to = Math.min(offset + ALERTS_PAGE, data.total);
    count.textContent = t("alerts_count", { n: data.total });
    count.dataset.total = data.total;
    pager.append(h("span", { class: "muted", id: "alerts-range", text: t("alerts_range", { a: from, b: to, n: data.total }) }));
    if (offset > 0) pager.append(h("a", { class: "btn small", id: "alerts-prev", href: hashOf({ offset: Math.max(0, offset - ALERTS_PAGE) || "" }), text: t("prev_page") }));
    if (to < data.total) pager.append(h("a", { class: "btn small", id: "alerts-next", href: hashOf({ offset: offset + ALERTS_PAGE }), text: t("next_page") }));
  }

  function render(changed) {
    const rows = [];
    if (!data.alerts.length) rows.push(h("tr", null, h("td", { colspan: 10, class: "empty", text: t("no_alerts") })));
    for (const a of data.alerts) {
      const tr = rowOf(a);
      if (changed && changed.has(a.id)) tr.classList.add("flash");
      rows.push(tr);
    }
    clear(tbody).append(...rows);
    tbody.dataset.draws = String(Number(tbody.dataset.draws || 0) + 1);
    renderPager();
    renderGroups();
  }
  render();

  /* Live: changes are gathered; at most one redraw a second (one request
   * for the page as it is now) and one notice for all of them. */
  const pending = new Set();
  let timer = null, lastDraw = 0, loading = false;
  async function flush() {
    timer = null;
    if (loading) return schedule();
    const changed = new Set(pending);
    pending.clear();
    const before = new Set(data.alerts.map((a) => a.id));
    const total0 = data.total;
    loading = true;
    try {
      data = await api("/api/alerts" + apiQuery());
    } catch (e) {
      return;
    } finally {
      loading = false;
    }
    if (S.page !== "alerts") return;
    lastDraw = performance.now();
    render(changed);
    const fresh = data.alerts.filter((a) => changed.has(a.id) && !before.has(a.id)).length;
    const grew = data.total - total0;
    if (grew > 0 || fresh > 0) toast(t("alerts_new_n", { n: Math.max(grew, fresh), total: data.total }));
    else if (changed.size) toast(t("alerts_changed_n", { n: changed.size }));
  }
  function schedule() {
    if (timer) return;
    timer = setTimeout(flush, Math.max(0, 1000 - (performance.now() - lastDraw)));
  }
  S.handlers.alert = (a) => {
    pending.add(a.id);
    schedule();
  };
  S.handlers.resync = () => (pending.add(""), schedule());
  S.cleanup = () => clearTimeout(timer);
};

/* One alert with its history (every state change, who and why). */
async function alertDialog(id) {
  const a = await api("/api/alerts/" + encodeURIComponent(id));
  const dlg = document.getElementById("dialog");
  clear(dlg);
  const kv = h("div", { class: "kv" });
  const add = (k, v) => v && kv.append(h("span", { class: "k", text: t(k) }), typeof v === "string" ? h("span", { text: v }) : v);
  add("col_severity", sevBadge(a.severity));
  add("col_article", articleText(a.article));
  add("rule", a.rule);
  add("col_case", a.case ? caseLink(a.case) : null);
  add("f_unit", a.unit);
  add("col_detail", alertDetail(a) || null);
  add("officers", (a.officers || []).join("、") || null);
  add("col_vehicle", (a.vehicles || []).join("、") || null);
  add("col_when", a.activity ? activityWhen(a.activity) + " · " + typeName(a.activity.type) : null);
  add("col_due", a.due_at_ms ? fmtTime(a.due_at_ms, true) : null);
  add("col_opened", fmtTime(a.opened_at, true));
  add("col_state", stateBadge(a.state));
  const hist = h(
    "table",
    { class: "data", id: "alert-history" },
    h("thead", null, h("tr", null, ["col_state", "col_time", "col_user", "justify_reason"].map((k) => h("th", { text: t(k) })))),
    h("tbody", null, (a.history || []).map((x) => h("tr", null, h("td", null, stateBadge(x.state)), h("td", { class: "nowrap" }, fmtTime(x.at, true)), h("td", null, x.by || "—"), h("td", null, x.reason || ""))))
  );
  dlg.append(
    h("div", { class: "d-head" }, h("h2", { text: alertMessage(a) })),
    h("div", { class: "d-body" }, kv, h("h3", { text: t("history") }), hist),
    h("div", { class: "d-foot" }, h("button", { class: "btn", onclick: () => dlg.close(), text: t("close") }))
  );
  dlg.classList.add("wide");
  dlg.addEventListener("close", () => dlg.classList.remove("wide"), { once: true });
  dlg.showModal();
}

function justifyDialog(a) {
  const dlg = document.getElementById("dialog");
  clear(dlg);
  const reason = h("textarea", { id: "justify-reason", maxlength: 4000 });
  const err = h("p", { class: "form-error", hidden: true });
  const ok = h("button", { class: "btn primary", id: "justify-submit", text: t("confirm") });
  ok.addEventListener("click", async () => {
    const r = reason.value.trim();
    if (r.length < 4) {
      err.textContent = t("justify_short");
      err.hidden = false;
      return;
    }
    ok.disabled = true;
    try {
      await api("/api/alerts/" + encodeURIComponent(a.id) + "/justify", { method: "POST", body: { reason: r } });
      dlg.close();
      toast(t("st_justified") + ": " + a.id);
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      ok.disabled = false;
    }
  });
  dlg.append(
    h("div", { class: "d-head" }, h("h2", { text: t("justify_title") })),
    h(
      "div",
      { class: "d-body" },
      h("div", { class: "kv" }, h("span", { class: "k", text: t("col_message") }), h("span", { text: alertMessage(a) }), h("span", { class: "k", text: t("col_article") }), h("span", { text: articleText(a.article) }), h("span", { class: "k", text: t("col_case") }), h("span", { text: a.case || "—" })),
      h("label", { class: "form" }, h("span", { text: t("justify_reason") }), reason),
      h("div", { class: "note", text: t("justify_hint") }),
      err
    ),
    h("div", { class: "d-foot" }, h("button", { class: "btn", onclick: () => dlg.close(), text: t("cancel") }), ok)
  );
  dlg.showModal();
  reason.focus();
}

/* Case timeline: lanes per device, bars per activity with coverage. */
PAGES.case = async (main, arg, query) => {
  const focus = query ? query.get("ref") : null;
  const input = h("input", { id: "case-input", value: arg, placeholder: t("case_pick") });
  main.append(
    pageHead(
      t("case_title"),
      t("case_sub"),
      h("form", { class: "chips", onsubmit: (e) => (e.preventDefault(), input.value.trim() && (location.hash = "#/case/" + encodeURIComponent(input.value.trim()))) }, input, h("button", { class: "btn primary", type: "submit", text: t("case_open") }))
    )
  );
  if (!arg) {
    const cases = (await api("/api/cases")).cases.sort((a, b) => b.last_ms - a.last_ms);
    main.append(
      h(
        "div",
        { class: "panel" },
        h("div", { class: "panel-head" }, h("h2", { text: t("recent_cases") })),
        h(
          "table",
          { class: "data" },
          h("thead", null, h("tr", null, ["col_case", "cause", "party", "f_unit", "col_records", "col_media", "time"].map((k) => h("th", { text: t(k) })))),
          h(
            "tbody",
            null,
            cases.length
              ? cases.map((c) => h("tr", null, h("td", null, caseLink(c.case)), h("td", null, c.cause), h("td", null, c.party), h("td", null, c.unit), h("td", { class: "right" }, String(c.records)), h("td", { class: "right" }, String(c.media)), h("td", { class: "nowrap" }, fmtTime(c.first) + " – " + fmtTime(c.last))))
              : h("tr", null, h("td", { colspan: 7, class: "empty", text: t("no_case") }))
          )
        )
      )
    );
    return;
  }
  let tl;
  try {
    tl = await api("/api/cases/" + encodeURIComponent(arg) + "/timeline");
  } catch (e) {
    if (e.status === 404) {
      main.append(h("div", { class: "panel" }, h("div", { class: "empty", text: t("no_case") })));
      return;
    }
    throw e;
  }
  const kv = (k, v) => h("div", null, h("div", { class: "k", text: t(k) }), h("div", { class: "v", text: v || "—" }));
  const exportBtn = hasRole("supervisor") ? h("a", { class: "btn small", id: "export-case", href: "/api/cases/" + encodeURIComponent(arg) + "/export", download: "case-" + arg + ".json", text: t("export") }) : null;
  main.append(
    h(
      "div",
      { class: "panel", id: "case-summary" },
      h("div", { class: "panel-head" }, h("h2", { text: tl.case }), exportBtn),
      h("div", { class: "panel-body case-head" }, kv("cause", tl.cause), kv("party", tl.party), kv("units", tl.units.join("、")), kv("devices_n", String(tl.devices.length)), kv("items", String(tl.items.length)), kv("window", fmtTime(tl.from) + " – " + fmtTime(tl.to)))
    )
  );
  main.append(timelineChart(tl, focus));
  const player = h("div", { id: "player-slot" });
  main.append(player);
  if (tl.alerts.length) {
    main.append(
      h(
        "div",
        { class: "panel", id: "case-alerts" },
        h("div", { class: "panel-head" }, h("h2", { text: t("case_alerts") })),
        h(
          "table",
          { class: "data" },
          h("thead", null, h("tr", null, ["col_severity", "col_article", "col_message", "col_state", "col_opened"].map((k) => h("th", { text: t(k) })))),
          h("tbody", null, tl.alerts.map((a) => h("tr", { "data-alert": a.id }, h("td", null, sevBadge(a.severity)), h("td", null, articleText(a.article)), h("td", null, h("a", { href: "#", onclick: (e) => (e.preventDefault(), alertDialog(a.id)), text: alertMessage(a) }), alertDetail(a) ? h("div", { class: "muted small-text alert-detail", text: alertDetail(a) }) : null), h("td", null, stateBadge(a.state)), h("td", { class: "nowrap" }, fmtTime(a.opened_at)))))
        )
      )
    );
  }
  const tbody = h("tbody");
  for (const it of tl.items) {
    const cov = it.coverage;
    const covCell = cov
      ? h(
          "div",
          null,
          h("div", { class: "covbar", title: pct(cov.share) }, h("span", { style: { width: Math.round(cov.share * 100) + "%" } })),
          h("div", { class: "muted", text: `${pct(cov.share)} · ${t("longest_gap")} ${fmtDur(cov.longest_gap_ms)}` }),
          cov.pending_ms ? h("div", { class: "badge warn cov-pending", text: t("cov_pending", { d: fmtDur(cov.pending_ms) }) }) : null
        )
      : it.media_unsuitable
        ? h("span", { class: "badge grey", text: t("media_unsuitable") + ": " + it.media_unsuitable })
        : "";
    const kindKey = "kind_" + it.kind;
    /* Playback only for a clip the hub holds whole; one on its way shows
     * its progress (the recording happened: it counts as coverage). */
    const state = it.kind === "media" ? mediaState(it) : null;
    const playBtn =
      state === "held"
        ? h("button", { class: "btn small play-btn", onclick: () => playMedia(player, it), text: t("play") })
        : state === "uploading"
          ? h("span", { class: "badge warn media-uploading", "data-pct": it.upload.pct, text: t("uploading_pct", { pct: it.upload.pct }) })
          : state === "on-vehicle"
            ? h("span", { class: "badge grey media-on-vehicle", text: t("on_vehicle") })
            : null;
    tbody.append(
      h(
        "tr",
        { "data-ref": it.ref, id: "row-" + it.ref.replace(/[^A-Za-z0-9]/g, "_"), class: it.amended_by ? "superseded" : "" },
        h("td", { class: "nowrap", title: t("corrected") + " (" + fmtOffset(it.offset_ms) + ")" }, fmtTime(it.start_ms ? it.start : it.time, true), it.end_ms ? h("div", { class: "muted", text: "→ " + fmtTime(it.end, true) }) : null),
        h("td", null, h("span", { class: "badge " + (it.kind === "media" ? "info" : it.kind === "event" ? "warn" : "outline"), text: t(kindKey) }), " ", h("span", { text: typeName(it.type) }), it.amended_by ? h("div", null, h("span", { class: "badge grey", text: t("amended_by", { id: it.amended_by }) })) : null, it.amends ? h("div", { class: "muted", text: "⟲ " + it.amends }) : null),
        h("td", null, it.officers || "—", it.recorders ? h("div", { class: "muted", text: t("recorder") + " " + it.recorders }) : null),
        h("td", { class: "mono" }, it.device),
        h("td", null, covCell),
        h("td", null, playBtn)
      )
    );
  }
  main.append(
    h(
      "div",
      { class: "panel" },
      h("div", { class: "table-wrap" }, h("table", { class: "data", id: "timeline-table" }, h("thead", null, h("tr", null, ["time", "col_type", "officers", "col_device", "coverage", ""].map((k) => h("th", { text: k ? t(k) : "" })))), tbody))
    )
  );
  /* Opened from an alert: its activity, in view and marked. */
  if (focus) {
    S.afterRender = () => {
      const row = document.getElementById("row-" + focus.replace(/[^A-Za-z0-9]/g, "_"));
      if (!row) return;
      row.classList.add("focus", "flash");
      if (row.scrollIntoView) row.scrollIntoView({ block: "center" });
    };
  }
};

/* A clip at the hub: "held" (playable), "uploading" (part of it has
 * arrived), "on-vehicle" (announced, nothing arrived yet). */
function mediaState(it) {
  if (it.held !== false) return "held";
  return it.upload && it.upload.received > 0 ? "uploading" : "on-vehicle";
}

/* Local calendar day (YYYY-MM-DD) of ms. */
function dayOf(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const startOf = (it) => it.start_ms || it.time_ms;
const endOf = (it) => it.end_ms || it.time_ms;

/* The case's activities as a Gantt chart, one day at a time: a lane per
 * activity (its window, and under it the covered and uncovered stretches),
 * a lane per recorder's media, one lane of documents and events. */
function timelineChart(tl, focus) {
  const days = [...new Set(tl.items.map((it) => dayOf(startOf(it))))].sort();
  const activityDays = days.filter((d) => tl.items.some((it) => it.activity && it.end_ms && dayOf(it.start_ms) === d));
  const focused = focus ? tl.items.find((it) => it.ref === focus) : null;
  let day = focused ? dayOf(startOf(focused)) : activityDays[0] || days[0];
  const chips = h("div", { class: "chips day-chips", id: "timeline-days" });
  const body = h("div", { class: "panel-body tl-wrap" });
  function draw() {
    clear(chips);
    for (const d of days) {
      const n = tl.items.filter((it) => dayOf(startOf(it)) === d).length;
      chips.append(h("button", { class: "btn small" + (d === day ? " primary" : ""), "data-day": d, onclick: () => ((day = d), draw()), text: `${d.slice(5)} (${n})` }));
    }
    clear(body).append(ganttOf(tl.items.filter((it) => dayOf(startOf(it)) === day || (it.kind === "media" && dayOf(endOf(it)) === day))));
  }
  draw();
  const legend = h(
    "div",
    { class: "legend" },
    h("span", null, h("i", { class: "l-act" }), t("window")),
    h("span", null, h("i", { class: "l-cov" }), t("covered")),
    h("span", null, h("i", { class: "l-gap" }), t("gap")),
    h("span", null, h("i", { class: "l-media" }), t("kind_media")),
    h("span", null, h("i", { class: "l-point" }), t("kind_record"))
  );
  return h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", { text: t("coverage") }), legend), h("div", { class: "panel-body", style: { paddingBottom: "0" } }, chips), body);
}

function ganttOf(items) {
  const acts = items.filter((it) => it.kind === "record" && it.activity && it.end_ms > it.start_ms);
  const media = items.filter((it) => it.kind === "media");
  const points = items.filter((it) => !acts.includes(it) && it.kind !== "media");
  let from = Math.min(...items.map(startOf)), to = Math.max(...items.map(endOf));
  const pad_ = Math.max(5 * 60000, (to - from) * 0.04);
  from -= pad_;
  to += pad_;
  const span = Math.max(to - from, 60000);
  const lanes = [];
  for (const a of acts) lanes.push({ label: typeName(a.type), sub: a.officers, items: [a], kind: "act" });
  const byRec = new Map();
  for (const m of media) {
    const k = m.recorders || m.officers || m.device;
    if (!byRec.has(k)) byRec.set(k, []);
    byRec.get(k).push(m);
  }
  for (const [k, ms] of byRec) lanes.push({ label: t("media_lane"), sub: k, items: ms, kind: "media" });
  if (points.length) lanes.push({ label: t("docs_lane"), sub: "", items: points, kind: "points" });
  const labelW = 230, W = 1180, plotW = W - labelW - 16, laneH = 40, top = 30;
  const H = top + lanes.length * laneH + 8;
  const x = (ms) => labelW + ((Math.min(Math.max(ms, from), to) - from) / span) * plotW;
  const root = svg("svg", { class: "tl", width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: "timeline-chart", role: "img" });
  /* ticks at a round interval */
  const steps = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * 60000);
  const step = steps.find((st) => span / st <= 10) || steps[steps.length - 1];
  const axis = svg("g", { class: "axis" });
  const tz = new Date(from).getTimezoneOffset() * 60000;
  for (let ms = Math.ceil((from - tz) / step) * step + tz; ms <= to; ms += step) {
    const d = new Date(ms);
    axis.append(svg("line", { x1: x(ms), x2: x(ms), y1: top - 6, y2: H - 4 }), svg("text", { x: x(ms), y: 16, "text-anchor": "middle", text: `${pad(d.getHours())}:${pad(d.getMinutes())}` }));
  }
  root.append(axis);
  const jump = (it) => () => {
    const row = document.getElementById("row-" + it.ref.replace(/[^A-Za-z0-9]/g, "_"));
    if (row) {
      row.scrollIntoView({ block: "center" });
      row.classList.remove("flash");
      void row.offsetWidth;
      row.classList.add("flash");
    }
  };
  lanes.forEach((lane, li) => {
    const y = top + li * laneH;
    root.append(svg("rect", { class: li % 2 ? "lane-bg alt" : "lane-bg", x: 0, y, width: W, height: laneH }));
    root.append(svg("text", { class: "lane-label", x: 10, y: y + 17, text: lane.label }));
    if (lane.sub) root.append(svg("text", { class: "lane-sub", x: 10, y: y + 32, text: lane.sub.length > 30 ? lane.sub.slice(0, 30) + "…" : lane.sub }));
    for (const it of lane.items) {
      const g = svg("g", { class: "item", "data-ref": it.ref });
      g.append(svg("title", { text: `${typeName(it.type)} ${fmtTime(startOf(it), true)}${it.end_ms ? " – " + fmtTime(it.end_ms, true) : ""}` }));
      g.addEventListener("click", jump(it));
      if (lane.kind === "act") {
        const x0 = x(it.start_ms), x1 = x(it.end_ms);
        g.append(svg("rect", { class: "act" + (it.amended_by ? " superseded" : ""), x: x0, y: y + 7, width: Math.max(2, x1 - x0), height: 14, rx: 3 }));
        const cov = it.coverage;
        if (cov && !it.media_unsuitable) {
          let at = it.start_ms;
          const gaps = cov.gaps.map((gp) => [Date.parse(gp.from), Date.parse(gp.to)]).sort((p, q) => p[0] - q[0]);
          for (const [ga, gb] of gaps) {
            if (ga > at) g.append(svg("rect", { class: "cov", x: x(at), y: y + 25, width: Math.max(1, x(ga) - x(at)), height: 7 }));
            g.append(svg("rect", { class: "gapbar", x: x(ga), y: y + 25, width: Math.max(2, x(gb) - x(ga)), height: 7 }));
            at = Math.max(at, gb);
          }
          if (it.end_ms > at) g.append(svg("rect", { class: "cov", x: x(at), y: y + 25, width: Math.max(1, x(it.end_ms) - x(at)), height: 7 }));
          g.append(svg("text", { class: "pct", x: x1 + 6, y: y + 19, text: pct(cov.share) }));
        } else if (it.media_unsuitable) {
          g.append(svg("text", { class: "pct", x: x1 + 6, y: y + 19, text: t("media_unsuitable") }));
        }
      } else if (lane.kind === "media") {
        const a = x(startOf(it)), b = x(endOf(it));
        const state = mediaState(it);
        g.append(svg("rect", { class: "media " + state, x: a, y: y + 10, width: Math.max(3, b - a), height: 18, rx: 3 }));
        if (state === "uploading") g.append(svg("text", { class: "pct", x: a + 4, y: y + 23, text: t("uploading_pct", { pct: it.upload.pct }) }));
        else if (state === "on-vehicle") g.append(svg("text", { class: "pct", x: a + 4, y: y + 23, text: t("on_vehicle") }));
      } else {
        const cx = x(it.time_ms), cy = y + 20;
        g.append(svg("path", { class: it.kind === "event" ? "evt" : "point", d: `M${cx} ${cy - 7} L${cx + 7} ${cy} L${cx} ${cy + 7} L${cx - 7} ${cy} Z` }));
      }
      root.append(g);
    }
  });
  return root;
}

function playDialog(it) {
  const dlg = document.getElementById("dialog");
  clear(dlg);
  const slot = h("div", { class: "d-body" });
  dlg.append(h("div", { class: "d-head" }, h("h2", { text: t("play_title") })), slot, h("div", { class: "d-foot" }, h("button", { class: "btn", onclick: () => dlg.close(), text: t("close") })));
  dlg.classList.add("wide");
  dlg.addEventListener("close", () => (clear(slot), dlg.classList.remove("wide")), { once: true });
  dlg.showModal();
  playMedia(slot, it);
}

async function playMedia(slot, it) {
  clear(slot);
  let info;
  try {
    info = await api("/api/media/" + encodeURIComponent(it.id));
  } catch (e) {
    slot.append(errorBox(e));
    return;
  }
  const head = h("div", { class: "panel-head" }, h("h2", { text: `${typeName(it.type)} · ${fmtTime(it.start, true)}` }), h("button", { class: "btn small", onclick: () => clear(slot), text: t("close") }));
  const body = h("div", { class: "panel-body" });
  if (!info.playable) {
    body.append(h("div", { class: "note", id: "not-playable", text: t("not_playable") }));
  } else {
    const src = info.content;
    const el =
      it.type === "photo"
        ? h("img", { src, alt: it.id })
        : it.type === "audio"
          ? h("audio", { src, controls: true, preload: "metadata", id: "media-player" })
          : h("video", { src, controls: true, preload: "metadata", id: "media-player" });
    body.append(h("div", { class: "player" }, el));
  }
  body.append(
    h("div", { class: "kv" }, h("span", { class: "k", text: "ID" }), h("span", { class: "mono", text: it.id }), h("span", { class: "k", text: t("officers") }), h("span", { text: it.officers || "—" }), h("span", { class: "k", text: t("recorder") }), h("span", { text: it.recorders || "—" }), h("span", { class: "k", text: t("col_bytes") }), h("span", { text: fmtBytes(info.size) }))
  );
  slot.append(h("div", { class: "panel", id: "player" }, head, body));
  if (slot.scrollIntoView) slot.scrollIntoView({ block: "nearest" });
}

/* Search (Art. 10). */
PAGES.search = async (main, arg, query) => {
  const fields = ["unit", "recorder", "officer", "cause", "party", "case", "from", "to", "kind"];
  const f = {};
  for (const k of fields) f[k] = query.get(k) || "";
  const inputs = {
    unit: h("input", { name: "unit", value: f.unit }),
    recorder: h("input", { name: "recorder", value: f.recorder }),
    officer: h("input", { name: "officer", value: f.officer }),
    cause: h("input", { name: "cause", value: f.cause }),
    party: h("input", { name: "party", value: f.party }),
    case: h("input", { name: "case", value: f.case }),
    from: h("input", { name: "from", type: "date", value: f.from }),
    to: h("input", { name: "to", type: "date", value: f.to }),
    kind: selectOf("kind", [["", t("all")], ["record", t("kind_record")], ["media", t("kind_media")]], f.kind),
  };
  const go = () => {
    const p = {};
    for (const k of fields) p[k] = inputs[k].value.trim();
    location.hash = "#/search" + qs(p);
  };
  main.append(
    pageHead(t("search_title"), t("search_sub")),
    h(
      "div",
      { class: "panel" },
      h(
        "form",
        { class: "filters", id: "search-form", onsubmit: (e) => (e.preventDefault(), go()) },
        field("f_unit", inputs.unit),
        field("s_recorder", inputs.recorder),
        field("s_officer", inputs.officer),
        field("s_cause", inputs.cause),
        field("s_party", inputs.party),
        field("f_case", inputs.case),
        field("s_from", inputs.from),
        field("s_to", inputs.to),
        field("s_kind", inputs.kind),
        h("button", { class: "btn primary", type: "submit", text: t("apply") })
      )
    )
  );
  const p = {};
  for (const k of fields) p[k] = f[k];
  if (p.to && p.to.length === 10) p.to = p.to + "T23:59:59+08:00";
  const res = await api("/api/search" + qs(p));
  const tbody = h("tbody");
  for (const it of res.items) {
    tbody.append(
      h(
        "tr",
        null,
        h("td", { class: "nowrap" }, fmtTime(it.start_ms ? it.start : it.time)),
        h("td", null, h("span", { class: "badge " + (it.kind === "media" ? "info" : "outline"), text: t("kind_" + it.kind) }), " ", typeName(it.type), it.kind === "media" ? h("button", { class: "btn small play-btn", style: { marginLeft: "8px" }, onclick: () => playDialog(it), text: t("play") }) : null),
        h("td", null, caseLink(it.case)),
        h("td", null, it.cause || "—"),
        h("td", null, it.party || "—"),
        h("td", null, it.unit || "—"),
        h("td", null, it.officers || "—"),
        h("td", null, it.recorders || "—")
      )
    );
  }
  if (!res.items.length) tbody.append(h("tr", null, h("td", { colspan: 8, class: "empty", text: t("none") })));
  main.lastChild.append(
    h("div", { class: "panel-head" }, h("span", { class: "muted", id: "search-count", text: t("s_results", { n: res.total }) })),
    h("div", { class: "table-wrap" }, h("table", { class: "data", id: "search-table" }, h("thead", null, h("tr", null, ["time", "col_type", "col_case", "cause", "party", "f_unit", "s_officer", "s_recorder"].map((k) => h("th", { text: t(k) })))), tbody))
  );
};

/* Compliance per unit and officer. */
PAGES.compliance = async (main, arg, query) => {
  if (!hasRole("supervisor")) {
    main.append(h("div", { class: "panel" }, h("div", { class: "empty", text: t("forbidden") })));
    return;
  }
  const now = new Date();
  const first = new Date(now.getFullYear(), now.getMonth() - 11, 1);
  const iso = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const f = { from: query.get("from") || iso(first), to: query.get("to") || iso(now), unit: query.get("unit") || "" };
  const fromIn = h("input", { type: "date", name: "from", value: f.from });
  const toIn = h("input", { type: "date", name: "to", value: f.to });
  const unitIn = h("input", { name: "unit", value: f.unit });
  const data = await api("/api/compliance" + qs(f));
  main.append(
    pageHead(t("comp_title"), t("comp_sub")),
    h(
      "div",
      { class: "panel" },
      h(
        "form",
        { class: "filters", onsubmit: (e) => (e.preventDefault(), (location.hash = "#/compliance" + qs({ from: fromIn.value, to: toIn.value, unit: unitIn.value.trim() }))) },
        field("s_from", fromIn),
        field("s_to", toIn),
        field("f_unit", unitIn),
        h("button", { class: "btn primary", type: "submit", text: t("apply") })
      )
    )
  );
  main.append(h("div", { class: "grid2", style: { marginTop: "16px" } }, h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", { text: t("share_chart") })), h("div", { class: "panel-body" }, shareChart(data.units, data.min_covered || []))), h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", { text: t("alerts_by_article") })), h("div", { class: "panel-body" }, articleChart(data.alerts_by_article)))));
  const table = (rows, first) =>
    h(
      "table",
      { class: "data" },
      h("thead", null, h("tr", null, [first, "col_activities", "col_hours", "col_share", "col_media", "col_alerts"].map((k) => h("th", { text: t(k) })))),
      h(
        "tbody",
        null,
        rows.length
          ? rows.map((g) =>
              h(
                "tr",
                null,
                h("td", null, g.name, g.unit && first !== "f_unit" ? h("div", { class: "muted", text: g.unit }) : null),
                h("td", { class: "right" }, String(g.activities), g.exempt ? h("div", { class: "muted exempt", text: t("exempt_n", { n: g.exempt }) }) : null),
                h("td", { class: "right nowrap" }, fmtDur(g.activity_ms)),
                h("td", null, g.share_covered === null ? "—" : h("div", null, h("div", { class: "covbar" }, h("span", { style: { width: Math.round(g.share_covered * 100) + "%" } })), h("div", { class: "muted", text: pct(g.share_covered) }))),
                h("td", { class: "right" }, String(g.media)),
                h("td", null, g.alerts ? h("div", { class: "chips" }, Object.entries(g.alerts_by_article || {}).map(([a, n]) => h("span", { class: "badge warn", text: `${articleText(a)} × ${n}` }))) : "0")
              )
            )
          : h("tr", null, h("td", { colspan: 6, class: "empty", text: t("none") }))
      )
    );
  main.append(h("div", { class: "panel", style: { marginTop: "16px" } }, h("div", { class: "panel-head" }, h("h2", { text: t("by_unit") })), h("div", { class: "table-wrap" }, table(data.units, "f_unit"))));
  main.append(h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", { text: t("by_officer") })), h("div", { class: "table-wrap" }, table(data.officers, "s_officer"))));
};

// limits: the loaded rule pack's `min covered` shares, ascending (GET /api/compliance)
function shareChart(units, limits) {
  const rows = units.filter((u) => u.share_covered !== null);
  if (!rows.length) return h("div", { class: "empty", text: t("none") });
  const W = 560, bh = 26, left = 200, H = rows.length * (bh + 10) + 30;
  const root = svg("svg", { class: "chart", width: "100%", viewBox: `0 0 ${W} ${H}`, id: "share-chart" });
  const grid = svg("g", { class: "grid" });
  for (let i = 0; i <= 4; i++) {
    const x = left + ((W - left - 50) * i) / 4;
    grid.append(svg("line", { x1: x, x2: x, y1: 0, y2: H - 20 }), svg("text", { x, y: H - 4, "text-anchor": "middle", text: i * 25 + "%" }));
  }
  root.append(grid);
  rows.forEach((u, i) => {
    const y = i * (bh + 10) + 6;
    const w = (W - left - 50) * u.share_covered;
    const cls = limits.length && u.share_covered < limits[0] ? "bar low" : limits.length && u.share_covered < limits[limits.length - 1] ? "bar mid" : "bar";
    root.append(svg("text", { x: left - 8, y: y + bh / 2 + 4, "text-anchor": "end", text: u.name.length > 14 ? u.name.slice(0, 14) + "…" : u.name }), svg("rect", { class: cls, x: left, y, width: Math.max(1, w), height: bh, rx: 3 }), svg("text", { x: left + w + 6, y: y + bh / 2 + 4, text: pct(u.share_covered) }));
  });
  return root;
}

function articleChart(byArticle) {
  const rows = Object.entries(byArticle || {}).sort((a, b) => b[1] - a[1]);
  if (!rows.length) return h("div", { class: "empty", text: t("none") });
  const max = Math.max(...rows.map((r) => r[1]));
  const W = 560, bw = Math.min(60, (W - 40) / rows.length - 12), H = 220;
  const root = svg("svg", { class: "chart", width: "100%", viewBox: `0 0 ${W} ${H}`, id: "article-chart" });
  rows.forEach(([a, n], i) => {
    const x = 30 + i * (bw + 12);
    const hgt = ((H - 50) * n) / max;
    root.append(svg("rect", { class: "bar2", x, y: H - 30 - hgt, width: bw, height: hgt, rx: 3 }), svg("text", { x: x + bw / 2, y: H - 34 - hgt, "text-anchor": "middle", text: String(n) }), svg("text", { x: x + bw / 2, y: H - 12, "text-anchor": "middle", text: articleText(a) }));
  });
  return root;
}

/* Devices: enrol (admin), revoke (admin). */
PAGES.devices = async (main) => {
  const data = await api("/api/devices");
  const admin = hasRole("admin");
  main.append(pageHead(t("dev_title"), t("dev_sub")));
  main.append(
    h(
      "div",
      { class: "panel" },
      h("div", { class: "panel-body kv" }, h("span", { class: "k", text: t("hub_id") }), h("span", { class: "mono", id: "hub-id", text: data.hub.hub_id }), h("span", { class: "k", text: t("hub_key") }), h("span", { class: "mono", text: data.hub.transport_public }))
    )
  );
  if (admin) {
    const unit = h("input", { name: "unit", required: true });
    const vehicle = h("input", { name: "vehicle", required: true });
    const pub = h("textarea", { name: "device_pub", placeholder: t("enrol_pub_hint"), required: true });
    const err = h("p", { class: "form-error", hidden: true });
    const form = h(
      "form",
      {
        class: "panel-body form",
        id: "enrol-form",
        onsubmit: async (e) => {
          e.preventDefault();
          err.hidden = true;
          try {
            const r = await api("/api/devices", { method: "POST", body: { unit: unit.value.trim(), vehicle: vehicle.value.trim(), device_pub: pub.value } });
            toast(t("enrol_done", { id: r.device_id }));
            route();
          } catch (ex) {
            err.textContent = ex.message;
            err.hidden = false;
          }
        },
      },
      h("div", { class: "form-row" }, field("col_unit", unit), field("col_vehicle", vehicle)),
      field("enrol_pub", pub),
      err,
      h("div", null, h("button", { class: "btn primary", type: "submit", text: t("enrol") }))
    );
    main.append(h("div", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", { text: t("enrol") })), form));
  } else {
    main.append(h("div", { class: "note", style: { margin: "16px 0" }, text: t("admin_only") }));
  }
  const tbody = h("tbody");
  for (const d of data.devices) {
    const revokeBtn =
      admin && d.state !== "revoked"
        ? h("button", {
            class: "btn small danger revoke-btn",
            onclick: async () => {
              if (!confirm(t("revoke_confirm", { id: d.device_id }))) return;
              try {
                await api("/api/devices/" + encodeURIComponent(d.device_id) + "/revoke", { method: "POST", body: {} });
                toast(t("revoke_done", { id: d.device_id }));
                route();
              } catch (ex) {
                toast(ex.message, true);
              }
            },
            text: t("revoke"),
          })
        : null;
    tbody.append(
      h(
        "tr",
        { "data-device": d.device_id },
        h("td", { class: "mono" }, d.device_id),
        h("td", null, d.unit),
        h("td", null, d.vehicle),
        h("td", null, d.state === "revoked" ? h("span", { class: "badge bad", text: t("revoked") + " " + fmtTime(d.revoked_at) }) : h("span", { class: "badge ok", text: t("enrolled") })),
        h("td", { class: "nowrap" }, fmtTime(d.enrolled_at)),
        h("td", { class: "mono", title: d.sign_public }, d.sign_public.slice(0, 16) + "…"),
        h("td", null, revokeBtn)
      )
    );
  }
  if (!data.devices.length) tbody.append(h("tr", null, h("td", { colspan: 7, class: "empty", text: t("no_devices") })));
  main.append(h("div", { class: "panel" }, h("div", { class: "table-wrap" }, h("table", { class: "data", id: "devices-table" }, h("thead", null, h("tr", null, ["col_device", "col_unit", "col_vehicle", "col_state", "col_enrolled", "col_keys", ""].map((k) => h("th", { text: k ? t(k) : "" })))), tbody))));
};

/* Audit log: the hub's own signed log. */
PAGES.audit = async (main, arg, query) => {
  if (!hasRole("supervisor")) {
    main.append(h("div", { class: "panel" }, h("div", { class: "empty", text: t("forbidden") })));
    return;
  }
  /* It opens on what people did and what happened to the evidence (views,
   * plays, exports, logins, changes); the gap engine's alert bookkeeping is
   * behind the kind filter (kind=alert, or all). */
  const kindArg = query.get("kind");
  const f = { kind: kindArg === null ? "actions" : kindArg === "all" ? "" : kindArg, user: query.get("user") || "", action: query.get("action") || "", target: query.get("target") || "" };
  const kindSel = selectOf(
    "kind",
    [["actions", t("k_actions")], ["all", t("k_all")], ["audit", t("k_audit")], ["record", t("k_record")], ["enrolment", t("k_enrolment")], ["integrity", t("k_integrity")], ["deletion", t("k_deletion")], ["alert", t("k_alert")]],
    f.kind || "all"
  );
  const actions = ["login", "logout", "view_case", "play", "export_case", "justify_alert", "device_enrol", "device_revoke", "user_add", "user_change", "user_passwd", "alert_open", "alert_resolved", "alert_justified"];
  const actSel = selectOf("action", [["", t("all")]].concat(actions.map((a) => [a, t("a_" + a)])), f.action);
  const userIn = h("input", { name: "user", value: f.user });
  const targetIn = h("input", { name: "target", value: f.target });
  const verdict = h("span", { id: "chain-verdict" });
  const verifyBtn = h("button", {
    class: "btn",
    id: "verify-chain",
    type: "button",
    onclick: async () => {
      const v = await api("/api/audit/verify");
      clear(verdict).append(v.intact ? h("span", { class: "badge ok", text: t("chain_ok", { n: v.checked }) }) : h("span", { class: "badge bad", text: t("chain_bad", { seq: v.bad_seq, detail: v.detail }) }));
    },
    text: t("verify_chain"),
  });
  main.append(pageHead(t("audit_title"), t("audit_sub"), verdict, verifyBtn));
  const tbody = h("tbody");
  const more = h("button", { class: "btn", hidden: true, text: t("older") });
  main.append(
    h(
      "div",
      { class: "panel" },
      h(
        "form",
        { class: "filters", onsubmit: (e) => (e.preventDefault(), (location.hash = "#/audit" + qs({ kind: kindSel.value, user: userIn.value.trim(), action: actSel.value, target: targetIn.value.trim() }))) },
        field("col_kind2", kindSel),
        field("col_user", userIn),
        field("col_action", actSel),
        field("col_target", targetIn),
        h("button", { class: "btn primary", type: "submit", text: t("apply") })
      ),
      h("div", { class: "table-wrap" }, h("table", { class: "data", id: "audit-table" }, h("thead", null, h("tr", null, ["col_seq", "col_time", "col_kind2", "col_user", "col_action", "col_target", "col_detail"].map((k) => h("th", { text: t(k) })))), tbody)),
      h("div", { class: "panel-body" }, more)
    )
  );
  async function load(before) {
    const res = await api("/api/audit" + qs(Object.assign({ limit: 100, before }, f)));
    const empty = tbody.querySelector("td.empty");
    if (empty) empty.parentNode.remove();
    for (const e of res.entries) {
      const act = e.action ? t("a_" + e.action) : "";
      tbody.append(
        h(
          "tr",
          { "data-seq": e.seq, "data-action": e.action, "data-kind": e.kind },
          h("td", { class: "right mono", title: e.entry_hash }, String(e.seq)),
          h("td", { class: "nowrap" }, fmtTime(e.time, true)),
          h("td", null, h("span", { class: "badge " + (e.kind === "alert" ? "grey" : "outline"), text: t("k_" + e.kind) })),
          h("td", null, e.user || "—"),
          h("td", null, act.startsWith("a_") ? e.action : act || "—"),
          h("td", { class: "mono" }, e.target || "—"),
          h("td", null, e.detail || "")
        )
      );
    }
    if (!tbody.firstChild) tbody.append(h("tr", null, h("td", { colspan: 7, class: "empty", text: t("none") })));
    more.hidden = !res.next_before;
    more.onclick = () => load(res.next_before);
  }
  await load();
};

/* ---- shell ---- */

async function route() {
  const started = performance.now();
  const { page, arg, query } = routeParams();
  const main = document.getElementById("main");
  S.handlers = {};
  clearInterval(S.tick);
  if (S.cleanup) S.cleanup();
  S.cleanup = null;
  S.afterRender = null;
  const name = PAGES[page] ? page : "sync";
  S.page = name;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === name);
  clear(main).append(h("div", { class: "empty", text: t("loading") }));
  document.title = t("nav_" + name) + " · " + t("product_short");
  const frag = h("div", { id: "page-" + name, class: "page" });
  try {
    await PAGES[name](frag, arg, query);
  } catch (e) {
    if (e.message === "login required") return;
    frag.append(errorBox(e));
  }
  if (S.page === name) {
    clear(main).append(frag);
    main.dataset.page = name;
    if (S.afterRender) S.afterRender();
    main.dataset.renderMs = String(Math.round(performance.now() - started));
    main.dataset.ready = "1";
  }
}

async function boot() {
  ftTranslate();
  try {
    S.me = await api("/api/me");
  } catch (e) {
    return;
  }
  document.getElementById("whoami").textContent = `${S.me.user} · ${t("role_" + S.me.role)}`;
  for (const a of document.querySelectorAll("#nav a[data-role]")) a.hidden = !hasRole(a.dataset.role);
  document.getElementById("lang-toggle").addEventListener("click", () => {
    ftSetLang(ftLang() === "en" ? "zh" : "en");
    ftTranslate();
    document.getElementById("whoami").textContent = `${S.me.user} · ${t("role_" + S.me.role)}`;
    route();
  });
  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await api("/api/logout", { method: "POST", body: {} });
    } finally {
      location.href = "/login";
    }
  });
  window.addEventListener("hashchange", route);
  connectEvents();
  await route();
}

document.addEventListener("DOMContentLoaded", boot);
