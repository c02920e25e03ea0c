// screen.mjs: the officers' screen in headless Chromium (run by screen.sh,
// which passes URL, T, SHOTS, CASE, BASE_S, EDGE, STATE, INBOX, CLIP,
// CHROMIUM, FT_SYNC_SLOW). Writes the IDs of the alerts the case page shows
// to $T/vehicle-alerts.txt, the readiness alert's ID to $T/readiness.id and
// the inspection's record id to $T/inspection.id, for screen.sh to compare
// with the hub's.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
    location.hash = h;
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
  await go(page, `#/new/inquiry?case=${encodeURIComponent(CASE)}`, "#record-form");
  await page.fill("#f-start", local(BASE + 10 * MIN));
  await page.fill("#f-end", local(BASE + 40 * MIN));
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
