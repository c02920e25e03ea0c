// screen.mjs: the officers' screen in headless Chromium (run by screen.sh,
// which passes URL, T, SHOTS, CASE, BASE_S, EDGE, STATE, INBOX, CLIP,
// CHROMIUM, FT_SYNC_SLOW). Writes the IDs of the alerts the case page shows
// to $T/vehicle-alerts.txt, the readiness alert's ID to $T/readiness.id,
// the inspection's record id to $T/inspection.id and the clip's media ID to
// $T/clip.id, for screen.sh to compare with the hub's and the log. Near the
// end it asks screen.sh to start the hub (it creates $T/want-hub and waits
// for $T/hub-up) and watches Today's page send what waited.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const env = process.env;
const URL = env.URL;
const SLOW = Number(env.FT_SYNC_SLOW || 1);
const CASE = env.CASE;
const BASE = Number(env.BASE_S) * 1000; /* activity times: 3 h ago, on the minute */
const MIN = 60000;
let step = "start";
const errors = [];

function log(msg) {
  console.log(`[screen] ${msg}`);
}

/* "YYYY-MM-DDTHH:MM:SS" in Asia/Shanghai (the browser's time zone). */
function local(ms) {
  return new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 19);
}

function headSeq() {
  const out = execFileSync(env.EDGE, ["status", "--state", env.STATE, "--json"]).toString();
  return Number(JSON.parse(out).head_seq);
}

/* A screenshot of the whole page (the toast hidden); with doc, also one of
 * the first screen only, for docs/vehicle.md (small). */
async function shot(page, name, doc) {
  await page.evaluate(() => (document.getElementById("toast").hidden = true));
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(env.SHOTS, name + ".png"), fullPage: true });
  if (doc) await page.screenshot({ path: path.join(env.SHOTS, "doc-" + doc + ".png") });
  log(`screenshot ${name}.png`);
}

async function go(page, hash, sel) {
  await page.evaluate((h) => {
    document.getElementById("main").dataset.ready = "";
    if (location.hash === h) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = h;
  }, hash);
  await page.waitForSelector(`#main[data-ready="1"] ${sel}`, { timeout: 15000 * SLOW });
}

async function fieldError(page, name) {
  const sel = `#record-form .field-error[data-for="${name}"]:not([hidden])`;
  await page.waitForSelector(sel, { timeout: 10000 * SLOW });
  return (await page.textContent(sel)).trim();
}

/* Fills and saves the form of a type; returns the saved record's id. */
async function save(page) {
  await page.click("#form-submit");
  await page.waitForSelector("#form-saved", { timeout: 10000 * SLOW });
  return page.getAttribute("#form-saved", "data-id");
}

/* Seconds to wait for a file screen.sh creates. */
async function waitFile(p, secs) {
  for (let i = 0; i < secs * 10; i++) {
    if (existsSync(p)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${p} did not appear`);
}

/* Whether the page works at this window size with a finger: nothing makes
 * the page wider than the window (wide tables scroll inside their own box),
 * every control is at least 36 px both ways and inside the window, and the
 * return buttons need no sideways scrolling. */
async function usable(page, where) {
  const bad = await page.evaluate(() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    const sw = document.documentElement.scrollWidth;
    if (sw > vw + 1) out.push(`the page is ${sw} px wide in a ${vw} px window`);
    const sel = "button, a.btn, .nav a, .type-btn, input:not([type=checkbox]), select, textarea, label.clip-choice";
    for (const el of document.querySelectorAll(sel)) {
      const b = el.getBoundingClientRect();
      if (!b.width || !b.height || el.closest("dialog:not([open])") || el.closest("[hidden]")) continue;
      const name = el.id ? "#" + el.id : el.tagName.toLowerCase() + (el.classList.length ? "." + el.classList[0] : "");
      if (b.height < 36 || b.width < 36) out.push(`${name} is ${Math.round(b.width)}×${Math.round(b.height)} px`);
      const inWrap = el.closest(".table-wrap") && !el.classList.contains("return-btn");
      if (!inWrap && (b.left < -1 || b.right > vw + 1)) out.push(`${name} reaches ${Math.round(b.left)}..${Math.round(b.right)} px of ${vw}`);
    }
    return out;
  });
  if (bad.length) throw new Error(`${where}: ${bad.slice(0, 6).join("; ")}`);
}

const profile = mkdtempSync(path.join(tmpdir(), "ft-screen-"));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=zh-CN"],
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/401|422|429|Unauthorized|Unprocessable/.test(m.text())) errors.push(`console: ${m.text()}`);
  });

  // ---- sign in ----
  step = "sign in";
  await page.goto(URL + "/");
  await page.waitForSelector("#login-form");
  await shot(page, "01-sign-in");
  await page.fill("#login-officer", "ZF-0107");
  await page.fill("#login-pin", "000000");
  await page.click("#login-submit");
  await page.waitForSelector("#login-error:not([hidden])");
  await page.fill("#login-pin", "246810");
  await page.click("#login-submit");
  await page.waitForSelector('#main[data-ready="1"] #recorders', { timeout: 15000 * SLOW });
  const chips = await page.locator("#officers .officer-chip").count();
  if (chips !== 1) throw new Error(`${chips} officers shown signed in`);
  const link = await page.getAttribute("#link", "data-link");
  if (link === "connected") throw new Error("the link to an unreachable hub shows connected");
  const untranslated = await page.evaluate(() => {
    const zh = Object.keys(FT_WORDS.zh), en = Object.keys(FT_WORDS.en);
    return zh.filter((k) => !en.includes(k)).concat(en.filter((k) => !zh.includes(k)));
  });
  if (untranslated.length) throw new Error("words in one language only: " + untranslated.join(" "));

  // ---- check out a recorder at 15 % ----
  step = "checkout";
  await page.fill("#co-recorder", "DSJ-0031");
  await page.fill("#co-battery", "15");
  await page.fill("#co-free", "9000");
  await page.fill("#co-time", local(BASE - 60 * MIN));
  await page.click("#co-submit");
  const row = '#recorders tr[data-recorder="DSJ-0031"]';
  await page.waitForSelector(`${row} .battery-low`, { timeout: 10000 * SLOW });
  const readiness = await page.getAttribute(row, "data-alert");
  if (!/^[0-9a-f]{16}$/.test(readiness || "")) throw new Error("the low battery has no alert ID: " + readiness);
  await page.waitForSelector(`#today-alerts li[data-alert="${readiness}"][data-rule="13"]`);
  writeFileSync(path.join(env.T, "readiness.id"), readiness + "\n");
  await shot(page, "02-today-low-battery", "today");

  // ---- a refused checkout stays beside its form, what was typed kept ----
  step = "checkout refused";
  const refusal = "recorder DSJ-0099 is not in this unit's register";
  await page.route("**/api/records", (route) =>
    route.fulfill({ status: 422, contentType: "application/json", body: JSON.stringify({ error: "rejected", message: refusal, field: "fields.recorder" }) })
  );
  await page.fill("#co-recorder", "DSJ-0099");
  await page.fill("#co-battery", "90");
  await page.fill("#co-free", "30000");
  await page.click("#co-submit");
  await page.waitForSelector("#co-error:not([hidden])", { timeout: 10000 * SLOW });
  const coError = await page.textContent("#co-error");
  if (!coError.includes(refusal)) throw new Error("the checkout refusal shows: " + coError);
  if ((await page.inputValue("#co-recorder")) !== "DSJ-0099") throw new Error("a refused checkout lost what was typed");
  await page.unroute("**/api/records");
  await page.fill("#co-recorder", "");

  // ---- another recorder out and back: the return is one tap ----
  step = "return";
  await page.fill("#co-recorder", "DSJ-0032");
  await page.fill("#co-battery", "80");
  await page.fill("#co-free", "20000");
  await page.click("#co-submit");
  const row2 = '#recorders tr[data-recorder="DSJ-0032"]';
  await page.waitForSelector(`${row2} .badge.ok`, { timeout: 10000 * SLOW });
  if (!(await page.isHidden("#co-error"))) throw new Error("the refusal stayed after a checkout that was stored");
  const beforeReturn = headSeq();
  await page.click(`${row2} .return-btn`);
  await page.waitForSelector(row2, { state: "detached", timeout: 10000 * SLOW });
  if (headSeq() !== beforeReturn + 1) throw new Error(`one tap on return wrote ${headSeq() - beforeReturn} entries`);
  if (!(await page.locator(row).count())) throw new Error("returning DSJ-0032 took DSJ-0031 away too");

  // ---- a site inspection: bad input first, nothing written ----
  step = "inspection form";
  await go(page, "#/new", "#type-list");
  await page.click('#type-list a[data-type="site_inspection"]');
  await page.waitForSelector('#main[data-ready="1"] #record-form', { timeout: 15000 * SLOW });
  const recs = await page.inputValue("#f-recorders");
  if (!recs.includes("DSJ-0031")) throw new Error("the form does not offer the checked-out recorder: " + recs);
  const before = headSeq();
  await page.fill("#f-start", local(BASE));
  await page.fill("#f-end", local(BASE + 20 * MIN));
  await page.click("#form-submit");
  const noCase = await fieldError(page, "case");
  if (noCase !== 'type "site_inspection" needs a "case"') throw new Error("case error: " + noCase);
  await page.fill("#f-case", CASE);
  await page.fill("#f-end", local(BASE - 5 * MIN));
  await page.click("#form-submit");
  const endErr = await fieldError(page, "end");
  if (endErr !== '"end" is before "start"') throw new Error("end error: " + endErr);
  await page.fill("#f-end", local(BASE + 20 * MIN));
  await page.fill("#f-start", "");
  await page.click("#form-submit");
  const noStart = await fieldError(page, "start");
  if (noStart !== 'activity "site_inspection" needs "start" and "end"') throw new Error("start error: " + noStart);
  if ((await fieldError(page, "end")) !== noStart) throw new Error("the end field does not show the same error");
  await page.fill("#f-start", local(BASE));
  await page.fill("#f-end", local(BASE - 5 * MIN));
  await page.click("#form-submit");
  if ((await fieldError(page, "end")) !== endErr) throw new Error("the end error did not come back");
  if (!(await page.locator('#record-form .field-error[data-for="start"][hidden]').count())) throw new Error("an old error stays beside start");
  await shot(page, "03-form-field-error");
  if (headSeq() !== before) throw new Error("a refused form wrote to the log");
  // the same record through `import` gives the same words
  const bad = JSON.stringify({ type: "site_inspection", case: CASE, start: "2026-03-02T10:00:00+08:00", end: "2026-03-02T09:00:00+08:00" });
  writeFileSync(path.join(env.T, "bad.jsonl"), bad + "\n");
  let words = "";
  try {
    execFileSync(env.EDGE, ["import", path.join(env.T, "bad.jsonl"), "--state", env.STATE], { stdio: "pipe" });
  } catch (e) {
    words = e.stderr.toString();
  }
  if (!words.includes(endErr)) throw new Error("import says otherwise: " + words);
  writeFileSync(path.join(env.T, "bad2.jsonl"), JSON.stringify({ type: "site_inspection", case: CASE, end: "2026-03-02T09:00:00+08:00" }) + "\n");
  words = "";
  try {
    execFileSync(env.EDGE, ["import", path.join(env.T, "bad2.jsonl"), "--state", env.STATE], { stdio: "pipe" });
  } catch (e) {
    words = e.stderr.toString();
  }
  if (!words.includes(noStart)) throw new Error("import says otherwise about start: " + words);
  if (headSeq() !== before) throw new Error("a refused import wrote to the log");

  // ---- saved without record_no: the missing-field warning ----
  step = "inspection saved";
  await page.fill("#f-end", local(BASE + 20 * MIN));
  const inspection = await save(page);
  writeFileSync(path.join(env.T, "inspection.id"), inspection + "\n");
  await page.waitForSelector('#form-alerts li[data-rule="4"]', { timeout: 10000 * SLOW });
  const fieldsAlert = await page.textContent('#form-alerts li[data-rule="4"]');
  if (!fieldsAlert.includes("record_no") || !fieldsAlert.includes("13(3)")) throw new Error("missing-field warning: " + fieldsAlert);
  await page.waitForSelector('#form-alerts li[data-rule="1"]'); /* and no media yet */
  await page.evaluate(() => document.getElementById("form-result").scrollIntoView({ block: "center" }));
  await shot(page, "04-form-missing-field", "form");

  // ---- the case: 0 %, then the clip comes in: 100 % ----
  step = "coverage";
  await go(page, `#/case/${encodeURIComponent(CASE)}`, "#case-records");
  const cov = `#case-records li[data-id="${inspection}"] .coverage`;
  if ((await page.getAttribute(cov, "data-covered")) !== "0.00") throw new Error("coverage before the clip is not 0");
  await page.waitForSelector(`#case-records li[data-id="${inspection}"] .missing[data-key="record_no"]`);
  const rdir = path.join(env.INBOX, "DSJ-0031", "DCIM");
  execFileSync("mkdir", ["-p", rdir]);
  execFileSync("cp", [env.CLIP, path.join(rdir, ".CLIP0001.MP4")]);
  execFileSync("mv", [path.join(rdir, ".CLIP0001.MP4"), path.join(rdir, "CLIP0001.MP4")]);
  const t0 = Date.now();
  await page.waitForSelector(`${cov}[data-covered="1.00"]`, { timeout: 60000 * SLOW });
  log(`coverage went to 100 % ${Date.now() - t0} ms after the clip was dropped`);
  if (await page.locator(`#case-alerts li[data-rule="1"]`).count()) throw new Error("the coverage alert stays after the clip");
  const clipOfficer = await page.textContent("#case .clips tbody tr td:nth-child(3)");
  if (!clipOfficer.includes("ZF-0107")) throw new Error("the clip's officer is not the checkout's: " + clipOfficer);
  await shot(page, "05-case-covered");

  // ---- correct the record: add record_no ----
  step = "correction";
  await page.click(`#case-records li[data-id="${inspection}"] .amend-btn`);
  await page.waitForSelector('#main[data-ready="1"] #record-form', { timeout: 15000 * SLOW });
  await page.fill("#f-fields-record_no", "KC-031-1");
  const corrected = await save(page);
  await go(page, `#/case/${encodeURIComponent(CASE)}`, "#case-records");
  await page.waitForSelector(`#case-records li.amended[data-id="${inspection}"]`);
  await page.waitForSelector(`#case-records li[data-id="${corrected}"] .coverage[data-covered="1.00"]`);
  if (await page.locator(`#case-alerts li[data-rule="4"]`).count()) throw new Error("the missing-field alert stays after the correction");

  // ---- more of the case, so that alerts remain to compare: an inquiry half
  // covered, a decision without reasons and without a leader's approval ----
  step = "more records";
  const OTHER = "NDG-2026-007";
  await go(page, "#/new/expert_panel", "#record-form");
  await page.fill("#f-case", OTHER);
  await page.fill("#f-fields-minutes_no", "ZJ-007");
  await save(page);

  // the case picker: the case touched last first, one tap fills it in
  step = "case picker";
  await go(page, "#/new/inquiry", "#record-form");
  await page.waitForSelector("#case-chips .chip", { timeout: 10000 * SLOW });
  const chipOrder = await page.$$eval("#case-chips .chip", (els) => els.map((e) => e.dataset.case));
  if (chipOrder.join(" ") !== `${OTHER} ${CASE}`) throw new Error("cases offered, recent first, are: " + chipOrder.join(" "));
  const listOrder = await page.$$eval("#recent-cases option", (els) => els.map((e) => e.value));
  if (listOrder.join(" ") !== `${OTHER} ${CASE}`) throw new Error("the case list is: " + listOrder.join(" "));
  await page.click(`#case-chips .chip[data-case="${CASE}"]`);
  if ((await page.inputValue("#f-case")) !== CASE) throw new Error("tapping the case did not fill it in");

  // the clip picker: clips of this vehicle in the activity's window only
  step = "clip picker";
  await page.fill("#f-start", local(BASE + 30 * MIN));
  await page.fill("#f-end", local(BASE + 40 * MIN));
  await page.waitForSelector(`#clip-picker[data-from="${BASE + 30 * MIN}"][data-to="${BASE + 40 * MIN}"]`, { timeout: 10000 * SLOW });
  if (await page.locator("#clip-picker .clip-choice").count()) throw new Error("a clip outside the window is offered");
  await page.fill("#f-start", local(BASE + 10 * MIN));
  await page.waitForSelector(`#clip-picker[data-from="${BASE + 10 * MIN}"] .clip-choice`, { timeout: 10000 * SLOW });
  const offered = await page.$$eval("#clip-picker .clip-choice", (els) => els.map((e) => e.dataset.clip));
  if (offered.length !== 1) throw new Error(`${offered.length} clips offered for the inquiry's window`);
  const clipId = offered[0];
  writeFileSync(path.join(env.T, "clip.id"), clipId + "\n");
  await page.click(`#clip-picker .clip-choice[data-clip="${clipId}"]`);
  if (!(await page.isChecked(`#clip-picker .clip-choice[data-clip="${clipId}"] input`))) throw new Error("tapping the clip did not pick it");
  await page.fill("#f-fields-subject", "张某");
  await page.fill("#f-fields-transcript_no", "XW-031-1");
  await save(page);
  await go(page, `#/new/decision?case=${encodeURIComponent(CASE)}`, "#record-form");
  await page.fill("#f-fields-decision_no", "JD-031");
  await save(page);
  await go(page, `#/case/${encodeURIComponent(CASE)}`, "#case-records");
  for (const rule of ["3", "4", "7"]) await page.waitForSelector(`#case-alerts li[data-rule="${rule}"]`, { timeout: 10000 * SLOW });
  await page.waitForSelector('#case-pending li[data-rule="9"]');
  const ids = await page.$$eval("#case-alerts li[data-alert]", (els) => els.map((e) => e.dataset.alert));
  writeFileSync(path.join(env.T, "vehicle-alerts.txt"), ids.join("\n") + "\n");
  log(`the case page shows ${ids.length} alerts: ${ids.join(" ")}`);
  await shot(page, "06-case-alerts", "case");

  // ---- what waits for the hub, file by file; then the hub comes ----
  step = "waiting for the hub";
  await go(page, "#/today", "#recorders");
  const tr = `#waiting .transfer[data-file="${clipId}"]`;
  await page.waitForSelector(tr, { timeout: 10000 * SLOW });
  if ((await page.getAttribute(tr, "data-pct")) !== "0") throw new Error("a clip shows progress with no hub");
  if (!(await page.textContent(tr)).includes("CLIP0001.MP4")) throw new Error("the waiting file is not named");
  if ((await page.textContent("#waiting-media strong")).trim() !== "1") throw new Error("not one file waiting");
  if (Number((await page.textContent("#waiting-records strong")).trim()) < 1) throw new Error("the records waiting are not counted");
  await page.waitForSelector(`#today-clips tr[data-clip="${clipId}"][data-hub="waiting"]`);
  // a clip from the inbox names no case: said in words, with what it means on hover
  const caseCell = `#today-clips tr[data-clip="${clipId}"] td:nth-child(4) span`;
  if ((await page.textContent(caseCell)).trim() !== "未标注案件") throw new Error("a clip without a case does not say so");
  if (!(await page.getAttribute(caseCell, "title")).includes("执法活动")) throw new Error("a clip without a case does not say what that means");
  if ((await page.textContent("#rules-from")).trim() !== "规则：内置默认") throw new Error("the rules are not the built-in default before any sync");
  writeFileSync(path.join(env.T, "want-hub"), "");
  await waitFile(path.join(env.T, "hub-up"), 60 * SLOW);
  step = "the hub is up";
  await page.waitForSelector('#link[data-link="connected"]', { timeout: 60000 * SLOW });
  await page.waitForSelector(tr, { state: "detached", timeout: 120000 * SLOW });
  await page.waitForSelector(`#today-clips tr[data-clip="${clipId}"][data-hub="at_hub"]`, { timeout: 10000 * SLOW });
  await page.waitForSelector("#waiting p.ok", { timeout: 60000 * SLOW });
  await page.waitForFunction(() => document.getElementById("rules-from").textContent.trim() === "规则：中心下发", null, { timeout: 10000 * SLOW });
  await shot(page, "09-today-all-sent");

  // ---- a form for every record type, made from the contract ----
  step = "every form";
  const types = await page.evaluate(() => S.types.types);
  if (types.length < 30) throw new Error(`only ${types.length} record types offered`);
  await go(page, "#/new", "#type-list");
  const listed = await page.$$eval("#type-list a[data-type]", (els) => els.map((e) => e.dataset.type));
  for (const x of types) {
    if (!listed.includes(x.type)) throw new Error(`no form offered for ${x.type}`);
  }
  for (const type of listed) {
    const x = types.find((y) => y.type === type);
    await go(page, `#/new/${type}`, "#record-form");
    const want = [x.activity ? "#f-start" : "#f-time", "#f-case"];
    if (x.activity) want.push("#f-end", "#clip-picker", "#f-media_unsuitable");
    if (x.needs_case) want.push('.form-row.required[data-field="case"]');
    for (const k of x.fields) want.push(`#f-fields-${k}`);
    for (const k of x.required || []) want.push(`.form-row.required[data-field="fields.${k}"] .art`);
    for (const sel of want) {
      if (!(await page.locator(`#record-form ${sel}`).count())) throw new Error(`the ${type} form lacks ${sel}`);
    }
  }

  // ---- a 10-inch tablet both ways, and a phone ----
  step = "sizes";
  for (const [w, hgt] of [[1280, 800], [800, 1280], [390, 844]]) {
    await page.setViewportSize({ width: w, height: hgt });
    for (const [hash, sel] of [["#/today", "#recorders"], ["#/new", "#type-list"], [`#/new/site_inspection?case=${encodeURIComponent(CASE)}`, "#record-form"], ["#/cases", "#cases"], [`#/case/${encodeURIComponent(CASE)}`, "#case-records"]]) {
      await go(page, hash, sel);
      await usable(page, `${hash} at ${w}×${hgt}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- a second officer, English, and the phone width ----
  step = "second officer";
  await page.click("#add-officer");
  await page.fill("#dialog #login-officer", "ZF-0112");
  await page.fill("#dialog #login-pin", "135791");
  await page.click("#dialog #login-submit");
  await page.waitForSelector('#officers .officer-chip[data-officer="ZF-0112"]');
  await page.click("#lang-toggle");
  await go(page, "#/today", "#recorders");
  await page.waitForSelector("text=Body-worn recorders");
  await page.setViewportSize({ width: 390, height: 844 });
  await usable(page, "today in English at 390 px");
  await shot(page, "07-today-phone-en", "phone");
  await page.click("#lang-toggle");
  await go(page, `#/case/${encodeURIComponent(CASE)}`, "#case-records");
  await shot(page, "08-case-phone");
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- sign out: the screen asks again ----
  step = "sign out";
  await page.click('#officers .officer-chip[data-officer="ZF-0112"] .chip-x');
  await page.waitForSelector('#officers .officer-chip[data-officer="ZF-0112"]', { state: "detached" });
  await page.click('#officers .officer-chip[data-officer="ZF-0107"] .chip-x');
  await page.waitForSelector("#login-form", { timeout: 10000 * SLOW });

  if (errors.length) throw new Error(errors.join("\n"));
  log("all steps passed");
} catch (e) {
  console.error(`[screen] FAILED at step "${step}": ${e.message}`);
  if (errors.length) console.error(errors.join("\n"));
  try {
    const page = ctx && ctx.pages()[0];
    if (page) await page.screenshot({ path: path.join(env.SHOTS, "failed.png"), fullPage: true });
  } catch (e2) {
    /* nothing more to show */
  }
  process.exitCode = 1;
} finally {
  if (ctx) await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
