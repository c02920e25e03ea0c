/* app.js: the vehicle's screen: a hash-routed page over the edge's JSON API
 * (edge/ui/uiapi.c; docs/vehicle.md).
 *
 * Pages: sign-in, #/today, #/new (the record types), #/new/TYPE?case=ID (a
 * form made from the record contract), #/amend/ID (a correction), #/cases,
 * #/case/ID. Everything is drawn with DOM calls from API data (never HTML
 * from data). A page that shows the log's state polls it every 3 s; forms
 * are not redrawn while an officer types.
 */
"use strict";

const S = {
  gen: 0, // routes started: only the latest draws
  me: null, // {officers, csrf, device, unit, vehicle, rules}
  types: null, // {types: [...], readiness}
  page: null,
  timer: null,
};

/* ---- small helpers ---- */

function h(tag, attrs, ...kids) {
  const el = document.createElementNS(
    tag.startsWith("svg:") ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag.replace(/^svg:/, "")
  );
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.appendChild(typeof kid === "object" ? kid : document.createTextNode(String(kid)));
  }
  return el;
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
  toast.timer = setTimeout(() => (el.hidden = true), 5000);
}

async function api(path, opts) {
  const o = Object.assign({ credentials: "same-origin", headers: {} }, opts || {});
  if (o.body && typeof o.body !== "string") {
    o.body = JSON.stringify(o.body);
    o.headers["Content-Type"] = "application/json";
  }
  if (o.method && o.method !== "GET" && S.me && S.me.csrf) o.headers["X-CSRF-Token"] = S.me.csrf;
  const r = await fetch(path, o);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && path !== "/api/login") {
    S.me = null;
    route();
    throw Object.assign(new Error(t("sign_in")), { status: 401 });
  }
  if (!r.ok) throw Object.assign(new Error(data.message || r.statusText), { status: r.status, data });
  return data;
}

const pad = (n) => String(n).padStart(2, "0");

function fmtTime(ms, sec) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  const s = `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return sec ? s + ":" + pad(d.getSeconds()) : s;
}

function fmtClock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fmtBytes(n) {
  const u = ["B", "KB", "MB", "GB"];
  let i = 0;
  let v = Number(n || 0);
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

/* "YYYY-MM-DDTHH:MM:SS" in local time, for datetime-local inputs. */
function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(
    d.getMinutes()
  )}:${pad(d.getSeconds())}`;
}

/* A datetime-local value as RFC 3339 with this tablet's offset, or "". */
function fromLocalInput(v) {
  if (!v) return "";
  if (/T\d\d:\d\d$/.test(v)) v += ":00";
  const d = new Date(v);
  if (isNaN(d)) return v; /* the import names what is wrong with it */
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `${v}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/* RFC 3339 text -> datetime-local value (local time). */
function rfcToLocal(s) {
  const ms = Date.parse(s);
  return isNaN(ms) ? "" : toLocalInput(ms);
}

/* "Today": since local midnight, or the last 12 hours when that reaches
 * further back, so that a night shift keeps its evening after midnight. */
const SHIFT_MS = 12 * 3600000;
function dayBounds() {
  const d = new Date();
  const midnight = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return { from: Math.min(midnight, d.getTime() - SHIFT_MS), to: midnight + 86400000 };
}

function newId() {
  const d = new Date();
  const r = new Uint8Array(3);
  crypto.getRandomValues(r);
  const rnd = Array.from(r, (b) => b.toString(16).padStart(2, "0")).join("");
  const pre = ((S.me && S.me.device) || "EDGE").slice(0, 4);
  return `${pre}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(
    d.getMinutes()
  )}${pad(d.getSeconds())}-${rnd}`;
}

function art(a) {
  return t("article", { a });
}

function alertText(a) {
  return lang() === "en" ? a.message_en : a.message_zh;
}

function typeInfo(type) {
  return ((S.types && S.types.types) || []).find((x) => x.type === type);
}

/* ---- header ---- */

function drawHeader() {
  const me = S.me;
  document.getElementById("vehicle").textContent = me
    ? ` ${me.vehicle || ""} ${me.unit || ""}`.trimEnd()
    : "";
  const box = clear(document.getElementById("officers"));
  const signed = me && me.officers.length > 0;
  document.getElementById("nav").hidden = !signed;
  document.getElementById("add-officer").hidden = !signed;
  if (!signed) return;
  for (const o of me.officers) {
    box.appendChild(
      h(
        "span",
        { class: "officer-chip", "data-officer": o.id },
        h("strong", null, o.name || o.id),
        " ",
        o.id,
        h("button", { class: "chip-x", type: "button", title: t("sign_out"), onclick: () => signOut(o.id) }, "×")
      )
    );
  }
}

async function signOut(id) {
  try {
    S.me = await api("/api/logout", { method: "POST", body: id ? { officer: id } : {} });
  } catch (e) {
    /* signed out anyway */
  }
  if (!S.me || !S.me.officers.length) S.me = null;
  drawHeader();
  route();
}

function drawLink(status) {
  const sync = (status && status.sync) || {};
  const el = document.getElementById("link");
  const link = sync.link || "never";
  const key = { connected: "link_connected", disconnected: "link_disconnected", never: "link_never", refused: "link_refused", halted: "link_halted" }[link] || "link_disconnected";
  el.className = "link " + (link === "connected" ? "up" : "down");
  el.dataset.link = link;
  document.getElementById("link-text").textContent = t("link") + t("colon") + t(key);
}

/* ---- sign-in ---- */

function signInForm(onDone, adding) {
  const err = h("div", { id: "login-error", class: "error", hidden: true });
  const form = h(
    "form",
    { id: "login-form", class: "card login" },
    h("h1", null, adding ? t("sign_in_more") : t("sign_in_title")),
    h("p", { class: "sub" }, t("sign_in_sub")),
    h("label", null, t("officer_id"), h("input", { id: "login-officer", autocomplete: "username", required: true, autocapitalize: "characters" })),
    h("label", null, t("pin"), h("input", { id: "login-pin", type: "password", inputmode: "numeric", autocomplete: "current-password", required: true })),
    err,
    h("div", { class: "actions" }, h("button", { id: "login-submit", class: "btn primary big", type: "submit" }, t("sign_in")))
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    try {
      S.me = await api("/api/login", {
        method: "POST",
        body: { officer: form.querySelector("#login-officer").value.trim(), pin: form.querySelector("#login-pin").value },
      });
      onDone();
    } catch (e) {
      err.textContent = e.status === 429 ? t("locked", { s: (e.data && e.data.wait_s) || "?" }) : e.status === 401 ? t("wrong_pin") : t("error") + e.message;
      err.hidden = false;
      form.querySelector("#login-pin").value = "";
    }
  });
  return form;
}

function pageSignIn(main) {
  main.appendChild(
    signInForm(() => {
      drawHeader();
      location.hash = "#/today";
      route();
    }, false)
  );
  main.querySelector("#login-officer").focus();
}

function addOfficerDialog() {
  const dlg = document.getElementById("dialog");
  clear(dlg);
  dlg.appendChild(
    signInForm(() => {
      dlg.close();
      drawHeader();
      toast(t("signed_in") + t("colon") + S.me.officers.map((o) => o.id).join(t("list_sep")));
    }, true)
  );
  dlg.appendChild(h("button", { class: "btn ghost", type: "button", onclick: () => dlg.close() }, t("cancel")));
  dlg.showModal();
}

/* ---- shared drawings ---- */

/* The coverage of an activity: a bar over its window, the stretches no clip
 * covers in red. */
function coverageBar(r) {
  const c = r.coverage;
  if (!c) return null;
  const w = Math.max(1, r.end_ms - r.start_ms);
  const svg = h("svg:svg", { class: "covbar", viewBox: "0 0 1000 14", preserveAspectRatio: "none" });
  svg.appendChild(h("svg:rect", { x: 0, y: 0, width: 1000, height: 14, class: "cov-ok" }));
  for (const [a, b] of c.uncovered) {
    const x = ((a - r.start_ms) / w) * 1000;
    svg.appendChild(h("svg:rect", { x: x.toFixed(1), y: 0, width: Math.max(2, ((b - a) / w) * 1000).toFixed(1), height: 14, class: "cov-gap" }));
  }
  const pct = Math.floor((c.covered || 0) * 100 + 1e-9);
  const gaps = c.uncovered.map(([a, b]) => `${fmtClock(a)}–${fmtClock(b)}`).join("，");
  return h(
    "div",
    { class: "coverage" + (c.media_unsuitable ? " unsuitable" : ""), "data-covered": (c.covered || 0).toFixed(2) },
    svg,
    h(
      "div",
      { class: "cov-text" },
      h("span", { class: "cov-pct" }, `${t("coverage")} ${pct}%`),
      " · ",
      t("linked_clips", { n: c.linked }),
      c.uncovered.length && !c.media_unsuitable ? h("span", { class: "cov-gaps" }, ` · ${t("uncovered")} ${gaps}`) : null,
      c.media_unsuitable ? h("span", null, ` · ${t("unsuitable")}${t("colon")}${c.media_unsuitable}`) : null
    )
  );
}

function sevBadge(sev) {
  return h("span", { class: "sev sev-" + sev }, t("sev_" + sev));
}

function missingBadges(r) {
  return (r.missing || []).map((m) =>
    h("span", { class: "badge warn missing", "data-key": m.key }, t("missing", { f: fieldName(m.key) }), ` (${art(m.article)})`)
  );
}

/* What an officer can still do about an alert, as buttons. */
function alertActions(a, caseId) {
  const acts = [];
  const rid = a.record_ids && a.record_ids[a.record_ids.length - 1];
  if (a.kind === "coverage" && rid) {
    acts.push(h("span", { class: "hint" }, t("do_record")));
    acts.push(h("a", { class: "btn small", href: `#/amend/${encodeURIComponent(rid)}?focus=media` }, t("do_link")));
    acts.push(h("a", { class: "btn small", href: `#/amend/${encodeURIComponent(rid)}?focus=media_unsuitable` }, t("do_unsuitable")));
  } else if (a.kind === "fields" && rid) {
    const keys = (a.detail.split("lacks: ")[1] || "").split(", ").filter(Boolean);
    acts.push(
      h("a", { class: "btn small do-field", href: `#/amend/${encodeURIComponent(rid)}?focus=fields.${encodeURIComponent(keys[0] || "")}` }, t("do_field", { f: keys.map(fieldName).join(t("list_sep")) }))
    );
  } else if ((a.kind === "followed_by" || a.kind === "preceded_by") && caseId) {
    const need = (a.detail.match(/has no ([a-z_]+)/) || [])[1];
    if (need) acts.push(h("a", { class: "btn small", href: `#/new/${need}?case=${encodeURIComponent(caseId)}` }, t("do_make", { t: typeName(need) })));
  } else if (a.kind === "readiness") {
    acts.push(h("span", { class: "hint" }, t("do_recorder")));
  }
  return acts;
}

function alertItem(a, caseId) {
  return h(
    "li",
    { class: "alert", "data-alert": a.id, "data-rule": a.rule, "data-kind": a.kind },
    h("div", { class: "alert-head" }, sevBadge(a.severity), " ", h("strong", null, art(a.article)), " ", alertText(a)),
    h("div", { class: "alert-detail" }, a.detail, a.case ? h("span", null, " · ", h("a", { href: `#/case/${encodeURIComponent(a.case)}` }, a.case)) : null),
    h("div", { class: "alert-actions" }, h("span", { class: "muted" }, t("what_to_do") + t("colon")), alertActions(a, caseId)),
    h("code", { class: "alert-id" }, a.id)
  );
}

function clipRow(c) {
  const state = c.hub === "at_hub" ? t("at_hub") : t("waiting_one");
  return h(
    "tr",
    { "data-clip": c.media_id, "data-hub": c.hub },
    h("td", null, `${fmtTime(c.start_ms, true)}–${fmtClock(c.end_ms)}`),
    h("td", null, c.recorder || "—"),
    h("td", null, c.officer || "—", c.officer_source === "checkout" ? h("small", { class: "muted" }, ` (${t("via_checkout")})`) : null),
    h("td", null, c.case ? h("a", { href: `#/case/${encodeURIComponent(c.case)}` }, c.case) : h("span", { class: "muted", title: t("clip_no_case_hint") }, t("clip_no_case"))),
    h("td", null, c.file_name || ""),
    h("td", { class: c.hub === "at_hub" ? "ok" : "muted" }, state)
  );
}

function clipTable(clips) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
    "table",
    { class: "table clips" },
    h("thead", null, h("tr", null, h("th", null, t("time")), h("th", null, t("recorder")), h("th", null, t("holder")), h("th", null, t("case")), h("th", null, ""), h("th", null, ""))),
    h("tbody", null, clips.map(clipRow))
    )
  );
}

/* ---- today ---- */

async function checkout(form) {
  const recorder = form.querySelector("#co-recorder").value.trim();
  const rec = {
    type: "recorder_checkout",
    id: newId(),
    time: fromLocalInput(form.querySelector("#co-time").value),
    recorders: recorder ? [recorder] : undefined,
    fields: {
      recorder,
      officer: form.querySelector("#co-officer").value,
      battery_pct: numberOr(form.querySelector("#co-battery").value),
      free_mb: numberOr(form.querySelector("#co-free").value),
    },
  };
  for (const k of Object.keys(rec.fields)) if (rec.fields[k] === "" || rec.fields[k] === undefined) delete rec.fields[k];
  return submit(rec, form);
}

async function giveBack(r) {
  return submit({
    type: "recorder_return",
    id: newId(),
    time: fromLocalInput(toLocalInput(Date.now())),
    recorders: [r.recorder],
    fields: { recorder: r.recorder, officer: r.officer || S.me.officers[0].id },
  });
}

function numberOr(v) {
  if (v === "" || v === null || v === undefined) return "";
  const n = Number(v);
  return isNaN(n) ? v : n;
}

/* Posts one record; shows what it raised. Returns the answer, or null after
 * a refusal (shown). */
async function submit(rec, form) {
  try {
    const res = await api("/api/records", { method: "POST", body: { record: rec } });
    toast(res.outcome === "stored" ? t("saved", { seq: res.seq }) : t("duplicate", { seq: res.seq }));
    return res;
  } catch (e) {
    /* A refusal stays beside the form that was refused (a toast is gone in
     * 5 s, before an officer in a moving vehicle has read it). */
    if (form) showFieldError(form, e.data && e.data.message ? e.data : { message: e.message });
    else toast(t("rejected") + e.message, true);
    return null;
  }
}

function recorderRow(r) {
  const verdicts = [];
  if (r.battery_low) verdicts.push(h("span", { class: "badge bad battery-low" }, t("battery_low", { min: r.min_battery })));
  if (r.storage_low) verdicts.push(h("span", { class: "badge bad storage-low" }, t("storage_low", { min: r.min_free_mb })));
  if (!verdicts.length) verdicts.push(h("span", { class: "badge ok" }, t("ready_ok")));
  return h(
    "tr",
    { "data-recorder": r.recorder, "data-alert": r.alert ? r.alert.id : null, class: r.alert ? "problem" : null },
    h("td", null, h("strong", null, r.recorder)),
    h("td", null, r.officer || "—"),
    h("td", null, fmtTime(r.since_ms)),
    h("td", { class: r.battery_low ? "bad" : null }, r.battery_pct === null ? "—" : `${r.battery_pct}%`),
    h("td", { class: r.storage_low ? "bad" : null }, r.free_mb === null ? "—" : `${r.free_mb} MB`),
    h("td", null, verdicts, r.alert ? h("div", { class: "muted small alert-ref" }, `${art(r.alert.article)} · ${r.alert.id}`) : null),
    h(
      "td",
      null,
      h(
        "button",
        {
          class: "btn return-btn",
          type: "button",
          onclick: async () => {
            if (await giveBack(r)) refresh();
          },
        },
        t("return")
      )
    )
  );
}

function activityItem(r) {
  const rec = r.record || {};
  return h(
    "li",
    { class: "activity" + (r.amended_by ? " amended" : ""), "data-id": r.id || "", "data-ref": r.ref },
    h(
      "div",
      { class: "act-head" },
      h("strong", null, typeName(r.type)),
      " ",
      `${fmtTime(r.start_ms)}–${fmtClock(r.end_ms)}`,
      r.case ? h("a", { class: "case-link", href: `#/case/${encodeURIComponent(r.case)}` }, r.case) : null,
      r.amended_by ? h("span", { class: "badge" }, t("amended_by", { id: r.amended_by })) : null,
      r.amended_by ? null : missingBadges(r),
      (rec.officers || []).length ? h("span", { class: "muted" }, " · " + rec.officers.join(t("list_sep"))) : null
    ),
    r.amended_by ? null : coverageBar(r)
  );
}

async function pageToday(main, live) {
  const me = S.me;
  const officerSel = h("select", { id: "co-officer" }, me.officers.map((o) => h("option", { value: o.id }, `${o.name || ""} ${o.id}`.trim())));
  const known = h("datalist", { id: "known-recorders" });
  const coForm = h(
    "form",
    { id: "checkout-form", class: "row-form" },
    h("label", null, t("recorder"), h("input", { id: "co-recorder", list: "known-recorders", required: true, autocapitalize: "characters" })),
    h("label", null, t("battery") + " %", h("input", { id: "co-battery", type: "number", min: 0, max: 100, inputmode: "numeric", required: true })),
    h("label", null, t("free_space") + " MB", h("input", { id: "co-free", type: "number", min: 0, inputmode: "numeric", required: true })),
    h("label", null, t("holder"), officerSel),
    h("label", null, t("time"), h("input", { id: "co-time", type: "datetime-local", step: 1, value: toLocalInput(Date.now()) })),
    h("button", { id: "co-submit", class: "btn primary", type: "submit" }, t("check_out")),
    h("div", { id: "co-error", class: "error form-error", role: "alert", hidden: true }),
    known
  );
  coForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await checkout(coForm)) {
      coForm.querySelector("#co-error").hidden = true;
      coForm.querySelector("#co-recorder").value = "";
      coForm.querySelector("#co-battery").value = "";
      coForm.querySelector("#co-free").value = "";
      refresh();
    }
  });
  const recBody = h("tbody", { id: "recorders-body" });
  main.appendChild(
    h(
      "section",
      { class: "grid" },
      h(
        "div",
        { class: "card wide", id: "recorders-card" },
        h("h2", null, t("recorders")),
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "table", id: "recorders" },
            h("thead", null, h("tr", null, [t("recorder"), t("holder"), t("since"), t("battery"), t("free_space"), t("verdict"), ""].map((x) => h("th", null, x)))),
            recBody
          )
        ),
        h("p", { id: "recorders-none", class: "muted", hidden: true }, t("recorders_none")),
        h("h3", null, t("checkout_title")),
        coForm
      ),
      h("div", { class: "card wide" }, h("h2", null, t("alerts")), h("ul", { id: "today-alerts", class: "alerts" })),
      h("div", { class: "card" }, h("h2", null, t("activities")), h("ul", { id: "today-activities", class: "activities" })),
      h("div", { class: "card" }, h("h2", null, t("waiting")), h("div", { id: "waiting" })),
      h("div", { class: "card wide" }, h("h2", null, t("clips")), h("div", { id: "today-clips" })),
      h("div", { class: "card wide" }, h("h2", null, t("documents")), h("ul", { id: "today-records", class: "records-list" }))
    )
  );
  const draw = async () => {
    const b = dayBounds();
    const d = await api(`/api/today?from=${b.from}&to=${b.to}`);
    if (!live()) return;
    drawLink(d.status);
    clear(known);
    for (const k of d.known_recorders) known.appendChild(h("option", { value: k }));
    clear(recBody);
    for (const r of d.recorders) recBody.appendChild(recorderRow(r));
    document.getElementById("recorders-none").hidden = d.recorders.length > 0;
    const al = clear(document.getElementById("today-alerts"));
    if (!d.alerts.length) al.appendChild(h("li", { class: "muted none" }, t("alerts_none")));
    for (const a of d.alerts) al.appendChild(alertItem(a, a.case));
    const acts = clear(document.getElementById("today-activities"));
    if (!d.activities.length) acts.appendChild(h("li", { class: "muted" }, t("activities_none")));
    for (const r of d.activities) acts.appendChild(activityItem(r));
    const recs = clear(document.getElementById("today-records"));
    for (const r of d.records) {
      recs.appendChild(
        h(
          "li",
          { "data-id": r.id || "" },
          h("strong", null, typeName(r.type)),
          " ",
          fmtTime(r.time_ms),
          r.case ? h("a", { class: "case-link", href: `#/case/${encodeURIComponent(r.case)}` }, r.case) : null,
          missingBadges(r)
        )
      );
    }
    const cl = clear(document.getElementById("today-clips"));
    cl.appendChild(d.clips.length ? clipTable(d.clips) : h("p", { class: "muted" }, t("clips_none")));
    drawWaiting(d.status, d.rules || S.me.rules);
  };
  S.refresh = draw;
  await draw();
}

function drawWaiting(st, rules) {
  const box = clear(document.getElementById("waiting"));
  const sync = st.sync || {};
  const media = st.media || {};
  box.appendChild(h("p", { id: "waiting-records" }, h("strong", null, String(sync.unacked || 0)), " ", t("waiting_records")));
  box.appendChild(h("p", { id: "waiting-media" }, h("strong", null, String(media.files_pending || 0)), " ", t("waiting_media"), media.bytes_pending ? ` (${fmtBytes(media.bytes_pending)})` : ""));
  for (const f of media.transfers || []) {
    const pct = f.size ? Math.floor((100 * f.sent_bytes) / f.size) : 0;
    box.appendChild(
      h(
        "div",
        { class: "transfer", "data-file": f.file_id, "data-pct": pct },
        h("span", null, `${f.name} (${f.recorder}, ${fmtBytes(f.size)})`),
        h("progress", { max: 100, value: pct }),
        h("span", null, f.sent_bytes ? `${pct}% ${t("sending")}` : t("waiting_one"))
      )
    );
  }
  for (const f of media.ingesting || []) {
    const pct = f.size ? Math.floor((100 * f.done_bytes) / f.size) : 0;
    box.appendChild(h("div", { class: "transfer ingesting" }, h("span", null, f.path), h("progress", { max: 100, value: pct }), h("span", null, `${pct}% ${t("ingesting")}`)));
  }
  if (!sync.unacked && !media.files_pending) box.appendChild(h("p", { class: "ok" }, t("all_sent")));
  box.appendChild(h("p", { class: "muted small", id: "rules-from" }, rules.from === "hub" ? t("rules_from_hub") : t("rules_default")));
  if (rules.note) box.appendChild(h("p", { class: "warn small", id: "rules-note" }, t("rules_not_used"), h("br"), rules.note));
}

/* ---- new record: the types ---- */

function pageNew(main, query) {
  const types = S.types.types;
  const groups = [
    ["group_activity", types.filter((x) => x.activity)],
    ["group_document", types.filter((x) => !x.activity && !x.type.startsWith("recorder_"))],
    ["group_recorder", types.filter((x) => x.type.startsWith("recorder_"))],
  ];
  const caseQ = query.get("case");
  main.appendChild(
    h(
      "section",
      { class: "card", id: "type-list" },
      h("h1", null, t("new_title")),
      h("p", { class: "sub" }, t("new_sub")),
      groups.map(([g, list]) =>
        h(
          "div",
          { class: "type-group" },
          h("h2", null, t(g)),
          h(
            "div",
            { class: "type-grid" },
            list.map((x) =>
              h(
                "a",
                { class: "type-btn", "data-type": x.type, href: `#/new/${x.type}${caseQ ? "?case=" + encodeURIComponent(caseQ) : ""}` },
                h("strong", null, typeName(x.type)),
                h("small", null, art(x.article))
              )
            )
          )
        )
      )
    )
  );
}

/* ---- a record's form, made from the contract ---- */

const LIST_FIELDS = ["items", "failed_methods"];
const BOOL_FIELDS = ["accepted", "performed"];
const NUMBER_FIELDS = ["battery_pct", "free_mb"];
const CHOICES = { "legal_hold.reason": ["objection", "obstruction", "mass_incident", "other"] };

function fieldInput(type, key, value) {
  const id = "f-fields-" + key;
  const choices = CHOICES[type + "." + key];
  if (BOOL_FIELDS.includes(key)) {
    const sel = h("select", { id }, h("option", { value: "" }, "—"), h("option", { value: "true" }, t("yes")), h("option", { value: "false" }, t("no")));
    if (value === true || value === false) sel.value = String(value);
    return sel;
  }
  if (choices) {
    const sel = h("select", { id }, h("option", { value: "" }, "—"), choices.map((c) => h("option", { value: c }, t("lh_" + c))));
    if (value !== undefined) sel.value = value;
    return sel;
  }
  if (LIST_FIELDS.includes(key)) {
    return h("textarea", { id, rows: 3, placeholder: t("list_hint") }, Array.isArray(value) ? value.join("\n") : value || "");
  }
  if (NUMBER_FIELDS.includes(key)) return h("input", { id, type: "number", value: value === undefined ? "" : value });
  if (key === "date") return h("input", { id, type: "date", value: value || "" });
  return h("input", { id, value: value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : value });
}

function fieldValue(type, key, el) {
  const v = el.value;
  if (BOOL_FIELDS.includes(key)) return v === "" ? undefined : v === "true";
  if (LIST_FIELDS.includes(key)) {
    const items = v.split("\n").map((x) => x.trim()).filter(Boolean);
    return items.length ? items : undefined;
  }
  if (NUMBER_FIELDS.includes(key)) return v === "" ? undefined : numberOr(v);
  return v.trim() === "" ? undefined : v;
}

function row(name, label, input, opts) {
  const o = opts || {};
  return h(
    "div",
    { class: "form-row" + (o.required ? " required" : ""), "data-field": name },
    h("label", { for: input.id }, label, o.required ? h("span", { class: "req", title: o.title || "" }, " *") : null, o.art ? h("small", { class: "art" }, " " + o.art) : null),
    input,
    o.hint ? h("small", { class: "hint" }, o.hint) : null,
    h("div", { class: "field-error", "data-for": name, hidden: true })
  );
}

function showFieldError(form, data) {
  for (const e of form.querySelectorAll(".field-error")) e.hidden = true;
  const top = form.querySelector(".form-error");
  top.hidden = true;
  const names = (data.field || "").split(",").filter(Boolean);
  let shown = false;
  for (const n of names) {
    const el = form.querySelector(`.field-error[data-for="${CSS.escape(n)}"]`);
    if (el) {
      el.textContent = data.message;
      el.hidden = false;
      if (!shown) el.parentElement.scrollIntoView({ block: "center" });
      shown = true;
    }
  }
  top.textContent = t("rejected") + data.message;
  top.hidden = false;
}

async function pageForm(main, type, query, amendId) {
  let base = null;
  if (amendId) {
    const got = await api(`/api/record?id=${encodeURIComponent(amendId)}`);
    base = got.record;
    type = base.type;
  }
  const info = typeInfo(type);
  if (!info) {
    main.appendChild(h("p", { class: "error" }, t("error") + type));
    return;
  }
  const b = base || {};
  const now = Date.now();
  const caseVal = b.case || query.get("case") || "";
  const casesList = h("datalist", { id: "recent-cases" });
  const caseChips = h("div", { class: "chips", id: "case-chips" });
  const fields = h("fieldset", { class: "fields" }, h("legend", null, t("fields")));
  const required = new Set(info.required || []);
  const keys = [...info.fields];
  for (const k of Object.keys(b.fields || {})) if (!keys.includes(k)) keys.push(k);
  for (const k of info.required || []) if (!keys.includes(k)) keys.push(k);
  for (const key of keys) {
    fields.appendChild(
      row("fields." + key, fieldName(key), fieldInput(type, key, (b.fields || {})[key]), {
        required: required.has(key),
        art: required.has(key) ? t("required_by", { a: info.article }) : null,
      })
    );
  }
  /* recorders checked out to the signed-in officers: clips link by them */
  let myRecorders = [];
  if (info.activity && !base) {
    const bd = dayBounds();
    const d = await api(`/api/today?from=${bd.from}&to=${bd.to}`);
    myRecorders = d.recorders.filter((r) => S.me.officers.some((o) => o.id === r.officer)).map((r) => r.recorder);
  }
  const clipBox = h("div", { id: "clip-picker", class: "clip-picker" });
  const form = h(
    "form",
    { id: "record-form", class: "card form", "data-type": type },
    h("h1", null, amendId ? t("amend_title", { id: amendId }) : typeName(type), " ", h("small", { class: "art" }, art(info.article))),
    amendId ? h("p", { class: "sub" }, t("amend_note")) : null,
    h("div", { id: "form-error", class: "error form-error", role: "alert", hidden: true }),
    h("p", { class: "muted" }, t("officers") + t("colon") + S.me.officers.map((o) => `${o.name || ""} ${o.id}`.trim()).join(t("list_sep"))),
    info.needs_case || caseVal
      ? row("case", t("case"), h("input", { id: "f-case", list: "recent-cases", value: caseVal, autocapitalize: "characters" }), { required: info.needs_case })
      : row("case", t("case"), h("input", { id: "f-case", list: "recent-cases", value: "" })),
    caseChips,
    casesList,
    row("cause", t("cause"), h("input", { id: "f-cause", value: b.cause || "" })),
    row("party", t("party"), h("input", { id: "f-party", value: b.party || "" })),
    info.activity
      ? [
          row("start", t("start"), h("input", { id: "f-start", type: "datetime-local", step: 1, value: b.start ? rfcToLocal(b.start) : toLocalInput(now - 30 * 60000) }), { required: true }),
          row("end", t("end"), h("input", { id: "f-end", type: "datetime-local", step: 1, value: b.end ? rfcToLocal(b.end) : toLocalInput(now) }), { required: true }),
        ]
      : row("time", t("time"), h("input", { id: "f-time", type: "datetime-local", step: 1, value: b.time ? rfcToLocal(b.time) : b.start ? "" : toLocalInput(now) })),
    info.activity
      ? row("recorders", t("recorders_used"), h("input", { id: "f-recorders", value: (b.recorders || (base ? [] : myRecorders)).join(", ") }), { hint: t("recorders_hint") })
      : null,
    info.activity ? row("media", t("media"), clipBox, { hint: t("media_hint") }) : null,
    info.activity ? row("media_unsuitable", t("media_unsuitable"), h("textarea", { id: "f-media_unsuitable", rows: 2 }, b.media_unsuitable || ""), { hint: t("media_unsuitable_hint") }) : null,
    keys.length ? fields : null,
    h(
      "div",
      { class: "actions" },
      h("button", { id: "form-submit", class: "btn primary big", type: "submit" }, t("save")),
      h("a", { class: "btn ghost", href: caseVal ? `#/case/${encodeURIComponent(caseVal)}` : "#/today" }, t("cancel"))
    ),
    h("div", { id: "form-result", hidden: true })
  );
  main.appendChild(form);
  api("/api/cases").then((cs) => {
    for (const c of cs) casesList.appendChild(h("option", { value: c.case }, c.cause || ""));
    for (const c of cs.slice(0, 6)) {
      caseChips.appendChild(
        h("button", { type: "button", class: "chip", "data-case": c.case, onclick: () => (form.querySelector("#f-case").value = c.case) }, c.case, c.cause ? h("small", null, " " + c.cause) : null)
      );
    }
  });
  /* the clip picker: clips of this vehicle in the activity's window */
  const picked = new Set(b.media || []);
  let clipAsk = 0; /* only the answer for the window asked last is drawn */
  const loadClips = async () => {
    if (!info.activity) return;
    const ask = ++clipAsk;
    const s = Date.parse(fromLocalInput(form.querySelector("#f-start").value));
    const e = Date.parse(fromLocalInput(form.querySelector("#f-end").value));
    const clips = isNaN(s) || isNaN(e) ? [] : await api(`/api/clips?from=${Math.min(s, e)}&to=${Math.max(s, e) + 1}`);
    if (ask !== clipAsk) return;
    clear(clipBox);
    clipBox.dataset.from = isNaN(s) ? "" : String(Math.min(s, e));
    clipBox.dataset.to = isNaN(e) ? "" : String(Math.max(s, e));
    if (isNaN(s) || isNaN(e)) return;
    if (!clips.length) clipBox.appendChild(h("span", { class: "muted" }, t("media_none")));
    for (const c of clips) {
      const box = h("input", { type: "checkbox", value: c.media_id, checked: picked.has(c.media_id) });
      box.addEventListener("change", () => (box.checked ? picked.add(c.media_id) : picked.delete(c.media_id)));
      clipBox.appendChild(h("label", { class: "clip-choice", "data-clip": c.media_id }, box, ` ${fmtTime(c.start_ms)}–${fmtClock(c.end_ms)} · ${c.recorder || ""} · ${c.officer || ""}`));
    }
  };
  if (info.activity) {
    form.querySelector("#f-start").addEventListener("change", loadClips);
    form.querySelector("#f-end").addEventListener("change", loadClips);
    loadClips();
  }
  const focus = query.get("focus");
  if (focus) {
    const el = form.querySelector(`[data-field="${CSS.escape(focus)}"]`);
    if (el) {
      el.classList.add("focus");
      setTimeout(() => el.scrollIntoView({ block: "center" }), 50);
      const inp = el.querySelector("input,textarea,select");
      if (inp) inp.focus();
    }
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    /* the whole corrected record: what it had, then what the form says */
    const rec = base ? JSON.parse(JSON.stringify(base)) : {};
    delete rec.officers;
    rec.type = type;
    rec.id = form.dataset.id || (form.dataset.id = newId());
    if (amendId) rec.amends = amendId;
    const set = (k, v) => (v === undefined || v === "" || (Array.isArray(v) && !v.length) ? delete rec[k] : (rec[k] = v));
    set("case", form.querySelector("#f-case").value.trim());
    set("cause", form.querySelector("#f-cause").value.trim());
    set("party", form.querySelector("#f-party").value.trim());
    if (info.activity) {
      set("start", fromLocalInput(form.querySelector("#f-start").value));
      set("end", fromLocalInput(form.querySelector("#f-end").value));
      set("recorders", form.querySelector("#f-recorders").value.split(/[,，\s]+/).filter(Boolean));
      set("media", [...picked]);
      set("media_unsuitable", form.querySelector("#f-media_unsuitable").value.trim());
    } else {
      set("time", fromLocalInput(form.querySelector("#f-time").value));
    }
    const f = Object.assign({}, rec.fields || {});
    for (const key of keys) {
      const v = fieldValue(type, key, form.querySelector("#f-fields-" + key));
      if (v === undefined) delete f[key];
      else f[key] = v;
    }
    set("fields", Object.keys(f).length ? f : undefined);
    if (rec.fields === undefined) delete rec.fields;
    const res = await submit(rec, form);
    if (!res) return;
    for (const e of form.querySelectorAll(".field-error")) e.hidden = true;
    form.querySelector("#form-error").hidden = true;
    form.dataset.id = ""; /* the next save is another record */
    const out = clear(form.querySelector("#form-result"));
    out.hidden = false;
    out.appendChild(h("p", { class: "ok", id: "form-saved", "data-id": res.id, "data-seq": res.seq }, res.outcome === "stored" ? t("saved", { seq: res.seq }) : t("duplicate", { seq: res.seq })));
    if (res.alerts.length) {
      out.appendChild(h("h3", null, t("after_save")));
      out.appendChild(h("ul", { class: "alerts", id: "form-alerts" }, res.alerts.map((a) => alertItem(a, res.case))));
    }
    if (res.case) out.appendChild(h("a", { class: "btn", id: "form-open-case", href: `#/case/${encodeURIComponent(res.case)}` }, t("open_case")));
    form.querySelector("#form-submit").disabled = true;
    setTimeout(() => (form.querySelector("#form-submit").disabled = false), 800);
  });
}

/* ---- cases ---- */

async function pageCases(main) {
  const cs = await api("/api/cases");
  main.appendChild(
    h(
      "section",
      { class: "card", id: "cases" },
      h("h1", null, t("cases_title")),
      h("p", { class: "sub" }, t("cases_sub")),
      h(
        "ul",
        { class: "case-list" },
        cs.map((c) =>
          h(
            "li",
            { "data-case": c.case },
            h("a", { href: `#/case/${encodeURIComponent(c.case)}` }, h("strong", null, c.case)),
            " ",
            c.cause || "",
            " ",
            c.party || "",
            h("span", { class: "muted" }, ` · ${fmtTime(c.last_ms)} · ${c.records} ${t("records")} · ${c.clips} ${t("clips_case")}`)
          )
        )
      )
    )
  );
}

async function pageCase(main, id, live) {
  const box = h("section", { id: "case", class: "grid" });
  main.appendChild(box);
  const draw = async () => {
    let c;
    try {
      c = await api(`/api/case?id=${encodeURIComponent(id)}`);
    } catch (e) {
      clear(box).appendChild(h("p", { class: "card muted" }, e.status === 404 ? t("case_none") : t("error") + e.message));
      return;
    }
    if (!live()) return;
    clear(box);
    box.appendChild(
      h(
        "div",
        { class: "card wide" },
        h("h1", null, t("case_title", { id: c.case }), " ", h("small", null, [c.cause, c.party].filter(Boolean).join(" · "))),
        h("a", { class: "btn primary", id: "case-add", href: `#/new?case=${encodeURIComponent(c.case)}` }, t("add_record"))
      )
    );
    box.appendChild(
      h(
        "div",
        { class: "card wide" },
        h("h2", null, t("alerts")),
        h("ul", { class: "alerts", id: "case-alerts" }, c.alerts.length ? c.alerts.map((a) => alertItem(a, c.case)) : h("li", { class: "muted none" }, t("alerts_none")))
      )
    );
    box.appendChild(
      h(
        "div",
        { class: "card wide" },
        h("h2", null, t("records")),
        h(
          "ul",
          { class: "records", id: "case-records" },
          c.records.map((r) =>
            h(
              "li",
              { class: "record" + (r.amended_by ? " amended" : ""), "data-id": r.id || "", "data-ref": r.ref },
              h(
                "div",
                { class: "rec-head" },
                h("strong", null, typeName(r.type)),
                " ",
                r.activity ? `${fmtTime(r.start_ms)}–${fmtClock(r.end_ms)}` : fmtTime(r.time_ms),
                h("code", { class: "muted" }, " " + (r.id || "")),
                r.amended_by ? h("span", { class: "badge" }, t("amended_by", { id: r.amended_by })) : null,
                r.amended_by ? null : missingBadges(r),
                (r.record.officers || []).length ? h("span", { class: "muted" }, " · " + r.record.officers.join(t("list_sep"))) : null,
                r.id && !r.amended_by ? h("a", { class: "btn small amend-btn", href: `#/amend/${encodeURIComponent(r.id)}` }, t("amend")) : null
              ),
              r.amended_by ? null : coverageBar(r)
            )
          )
        )
      )
    );
    box.appendChild(
      h(
        "div",
        { class: "card" },
        h("h2", null, t("pending")),
        h(
          "ul",
          { id: "case-pending" },
          c.pending.length
            ? c.pending.map((p) =>
                h("li", { "data-rule": p.rule }, t("pending_item", { t: p.needs.map(typeName).join(" / "), due: fmtTime(p.due_ms), a: art(p.article) }), " ",
                  h("a", { class: "btn small", href: `#/new/${p.needs[0]}?case=${encodeURIComponent(c.case)}` }, t("do_make", { t: typeName(p.needs[0]) })))
              )
            : h("li", { class: "muted" }, t("pending_none"))
        )
      )
    );
    box.appendChild(h("div", { class: "card" }, h("h2", null, t("clips_case")), c.clips.length ? clipTable(c.clips) : h("p", { class: "muted" }, t("none"))));
  };
  S.refresh = draw;
  await draw();
}

/* ---- routing ---- */

function refresh() {
  if (S.refresh) S.refresh().catch(() => {});
}

/* Draws the page of the hash. A route started later supersedes one still
 * loading (S.gen): the older one draws into a box no longer shown. */
async function route() {
  const gen = ++S.gen;
  clearInterval(S.timer);
  S.refresh = null;
  const shell = clear(document.getElementById("main"));
  shell.dataset.ready = "";
  const main = h("div", { class: "view" });
  shell.appendChild(main);
  const hash = location.hash || "#/today";
  const [path, qs] = hash.slice(1).split("?");
  const query = new URLSearchParams(qs || "");
  const parts = path.split("/").filter(Boolean);
  if (!S.me || !S.me.officers.length) {
    S.page = "signin";
    drawHeader();
    pageSignIn(main);
    shell.dataset.ready = "1";
    return;
  }
  if (!S.types) S.types = await api("/api/types");
  if (gen !== S.gen) return;
  S.page = parts[0] || "today";
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === S.page);
  const live = () => gen === S.gen;
  try {
    if (S.page === "today") {
      await pageToday(main, live);
      if (live()) S.timer = setInterval(refresh, 3000);
    } else if (S.page === "new" && parts[1]) {
      await pageForm(main, decodeURIComponent(parts[1]), query, null);
    } else if (S.page === "new") {
      pageNew(main, query);
    } else if (S.page === "amend") {
      await pageForm(main, null, query, decodeURIComponent(parts.slice(1).join("/")));
    } else if (S.page === "cases") {
      await pageCases(main);
    } else if (S.page === "case") {
      await pageCase(main, decodeURIComponent(parts.slice(1).join("/")), live);
      if (live()) S.timer = setInterval(refresh, 3000);
    } else {
      location.hash = "#/today";
      return;
    }
  } catch (e) {
    if (e.status !== 401) main.appendChild(h("p", { class: "error" }, t("error") + e.message));
  }
  if (live()) shell.dataset.ready = "1";
}

async function start() {
  translatePage();
  document.getElementById("lang-toggle").addEventListener("click", () => {
    setLang(lang() === "en" ? "zh" : "en");
    translatePage();
    drawHeader();
    route();
  });
  document.getElementById("add-officer").addEventListener("click", addOfficerDialog);
  try {
    S.me = await api("/api/me");
    if (!S.me.officers.length) S.me = null;
  } catch (e) {
    S.me = null;
  }
  window.addEventListener("hashchange", route);
  drawHeader();
  await route();
}

document.addEventListener("DOMContentLoaded", start);
