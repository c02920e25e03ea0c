/* province.js: the provincial node's dashboard across counties (docs/province.md
 * "Dashboard"): alerts with filters, each county's forwarding and
 * verification position, and a case as the province holds it. Everything
 * shown comes from /api/prov/* already scoped to the user's units; values are
 * set as text, never as markup. */
"use strict";

const P = { me: null };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "on") e.addEventListener("click", v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k)));
  return e;
}

function toast(msg, bad) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.className = "toast" + (bad ? " bad" : "");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 5000);
}

async function api(path, opts) {
  const o = Object.assign({ credentials: "same-origin", headers: {} }, opts || {});
  if (o.method && o.method !== "GET" && P.me) o.headers["X-CSRF-Token"] = P.me.csrf;
  const r = await fetch(path, o);
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.hash);
    throw new Error("login required");
  }
  let data = null;
  try {
    data = await r.json();
  } catch (e) {
    data = null;
  }
  if (!r.ok || !data) {
    const e = new Error((data && data.message) || r.statusText);
    e.status = r.status;
    throw e;
  }
  return data;
}

function when(t) {
  return t ? new Date(t).toLocaleString() : "—";
}

function table(id, heads, rows) {
  return el("div", { class: "panel" }, el("div", { class: "table-wrap" },
    el("table", { id, class: "data" }, el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", {}, t(h))))),
      el("tbody", {}, ...rows))));
}

function caseLink(county, id) {
  return el("a", { href: "#/case/" + encodeURIComponent(county) + "/" + encodeURIComponent(id) }, id);
}

function alertRows(alerts) {
  return alerts.map((a) => el("tr", {},
    el("td", { class: "nowrap" }, a.county), el("td", { class: "nowrap" }, a.unit),
    el("td", { class: "nowrap" }, caseLink(a.county, a.case)),
    el("td", { class: "mono nowrap" }, a.rule), el("td", { class: "nowrap" }, a.article),
    el("td", { class: "nowrap", "data-state": a.state },
      el("span", { class: "badge " + (a.state === "open" ? "bad" : "ok") }, t("st_" + a.state))), el("td", { class: "nowrap" }, when(a.at)),
    el("td", { class: "msg-cell" }, a.detail)));
}

const ALERT_HEADS = ["pv_county", "pv_unit", "pv_case", "rule", "pv_article", "pv_state", "pv_when", "pv_detail"];

async function pageAlerts(main) {
  const q = new URLSearchParams(location.hash.split("?")[1] || "");
  const form = el("form", { class: "filters" });
  for (const k of ["county", "unit", "case", "state", "rule", "article"]) {
    let input;
    if (k === "state") {
      input = el("select", { name: k }, el("option", { value: "" }, t("pv_any_state")),
        el("option", { value: "open" }, t("st_open")), el("option", { value: "resolved" }, t("st_resolved")));
    } else {
      input = el("input", { name: k });
    }
    input.value = q.get(k) || "";
    form.append(el("label", {}, t("pv_f_" + k) + " ", input));
  }
  form.append(el("button", { class: "btn primary", type: "submit" }, t("pv_filter")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    location.hash = "#/alerts?" + p.toString();
  });
  main.append(el("div", { class: "page-head" }, el("h1", {}, t("nav_alerts"))), form);
  const data = await api("/api/prov/alerts?" + q.toString());
  main.append(data.alerts.length ? table("alerts-table", ALERT_HEADS, alertRows(data.alerts)) : el("p", { class: "empty" }, t("pv_none")));
  if (data.truncated) main.append(el("p", { class: "muted" }, t("pv_truncated")));
}

async function pageCounties(main) {
  main.append(el("div", { class: "page-head" }, el("h1", {}, t("pv_nav_counties"))));
  const data = await api("/api/prov/counties");
  const rows = data.counties.map((c) => el("tr", {},
    el("td", { class: "nowrap" }, c.county), el("td", { class: "nowrap" }, c.units.join(", ")),
    el("td", {}, c.entries_forwarded ?? "—"), el("td", { class: "nowrap" }, when(c.entries_checkpoint_at)),
    el("td", {}, c.checkpoint_lag_s == null ? "—" : c.checkpoint_lag_s + " s"),
    el("td", {}, (c.devices_taken_in ?? 0) + " / " + c.devices), el("td", {}, c.entries_taken_in ?? 0),
    el("td", { class: "nowrap" }, when(c.head_taken_in_at)),
    el("td", { class: c.blocked.length ? "blocked-cell" : "" }, c.blocked.length
      ? c.blocked.map((b) => t("pv_blocked_at", { device: b.device, seq: b.blocked_seq })).join("; ")
      : t("pv_no_blocked"))));
  main.append(data.counties.length
    ? table("counties-table", ["pv_county", "pv_units", "pv_forwarded", "pv_checkpoint", "pv_lag", "pv_devices", "pv_taken_in", "pv_head", "pv_blocked"], rows)
    : el("p", { class: "empty" }, t("pv_none")));
}

async function pageCase(main, county, id) {
  const form = el("form", { class: "filters" },
    el("label", {}, t("pv_f_county") + " ", Object.assign(el("input", { name: "county" }), { value: county || "" })),
    el("label", {}, t("pv_f_case") + " ", Object.assign(el("input", { name: "case" }), { value: id || "" })),
    el("button", { class: "btn primary", type: "submit" }, t("pv_open")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    location.hash = "#/case/" + encodeURIComponent(f.get("county")) + "/" + encodeURIComponent(f.get("case"));
  });
  main.append(el("div", { class: "page-head" }, el("h1", {}, t("pv_nav_case"))), form);
  if (!county || !id) return;
  let c;
  try {
    c = await api("/api/prov/cases/" + encodeURIComponent(county) + "/" + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) e.message = t("pv_case_refused", { county, case: id });
    throw e;
  }
  main.append(el("h2", {}, c.county + " · " + c.case));
  main.append(table("case-records", ["pv_when", "pv_kind", "pv_unit", "pv_officers", "pv_device"], c.records.map((r) => el("tr", {},
    el("td", { class: "nowrap" }, when(r.at)), el("td", {}, r.kind === "media" ? t("pv_media") + " " + r.media_id : typeName(r.type)),
    el("td", { class: "nowrap" }, r.unit), el("td", {}, r.officers.join(", ")), el("td", { class: "mono" }, r.device + " " + r.epoch + ":" + r.seq)))));
  main.append(el("h2", {}, t("nav_alerts")));
  main.append(c.alerts.length ? table("case-alerts", ALERT_HEADS, alertRows(c.alerts)) : el("p", { class: "empty" }, t("pv_none")));
}

function showWho() {
  if (!P.me) return;
  document.getElementById("whoami").textContent =
    P.me.user + " · " + t("role_" + P.me.role) + " · " + (P.me.units ? P.me.units.join(", ") : t("pv_all_units"));
}

/* Each page is built apart and shown once complete, unless a newer route
 * started meanwhile; #main's data-ready is "1" once it is shown. */
async function route() {
  const gen = (route.gen = (route.gen || 0) + 1);
  const shown = document.getElementById("main");
  shown.dataset.ready = "";
  const main = el("div", {});
  const parts = (location.hash.replace(/^#\//, "").split("?")[0] || "alerts").split("/").map(decodeURIComponent);
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === parts[0]);
  try {
    if (parts[0] === "counties") await pageCounties(main);
    else if (parts[0] === "case") await pageCase(main, parts[1], parts[2]);
    else await pageAlerts(main);
  } catch (e) {
    main.append(el("p", { id: "page-error", class: "form-error", role: "alert" },
      e.status === 503 ? t("pv_unavailable") : e.message));
    if (e.status === 503) main.append(el("p", { class: "muted" }, e.message));
  }
  if (gen !== route.gen) return;
  shown.replaceChildren(...main.childNodes);
  shown.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", async () => {
  ftTranslate();
  document.title = t("pv_title") + " · fieldtrail";
  document.getElementById("lang-toggle").addEventListener("click", () => {
    ftSetLang(ftLang() === "en" ? "zh" : "en");
    ftTranslate();
    document.title = t("pv_title") + " · fieldtrail";
    showWho();
    route();
  });
  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await api("/api/logout", { method: "POST" });
    } catch (e) {
      toast(e.message, true);
      return;
    }
    location.href = "/login";
  });
  try {
    P.me = await api("/api/me");
  } catch (e) {
    const main = document.getElementById("main");
    main.append(el("p", { id: "page-error", class: "form-error", role: "alert" },
      e.status === 503 ? t("pv_unavailable") : e.message));
    main.dataset.ready = "1";
    return;
  }
  showWho();
  window.addEventListener("hashchange", route);
  route();
});
