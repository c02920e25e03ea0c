// browser.mjs: the provincial dashboard in Chromium (run by browser.sh, which
// sets up PostgreSQL, the counties and the node, and passes URL, T, SHOTS,
// CHROMIUM, FT_SLOW, BLK_DEV, BLK_SEQ, UA, UB, UC). PostgreSQL is
// stopped and started by browser.sh on request: ask("pg_stop") writes $T/ask
// and waits for $T/ask.done.
import { createRequire } from "node:module";
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const env = process.env;
const URL = env.URL;
const SLOW = Number(env.FT_SLOW || 1);
const errors = [];
let step = "start";
// HTTP statuses a step expects; Chromium logs each failed load as a console
// error, and those are errors of the test unless listed here.
let expected = [];

const log = (msg) => console.log(`[provui] ${msg}`);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function ask(what) {
  const done = path.join(env.T, "ask.done");
  if (existsSync(done)) unlinkSync(done);
  writeFileSync(path.join(env.T, "ask"), what);
  for (let i = 0; i < 600 * SLOW; i++) {
    if (existsSync(done)) {
      unlinkSync(done);
      return;
    }
    await sleep(100);
  }
  throw new Error(`browser.sh did not answer ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(env.SHOTS, name + ".png"), fullPage: true });
  log(`screenshot ${name}.png`);
}

const profiles = [];
const contexts = [];
async function open(viewport) {
  const profile = mkdtempSync(path.join(tmpdir(), "ft-chromium-"));
  profiles.push(profile);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: viewport || { width: 1366, height: 860 },
    locale: "zh-CN",
    timezoneId: "Asia/Shanghai",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=zh-CN"],
  });
  contexts.push(ctx);
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on("pageerror", (e) => errors.push(`${step}: page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const st = (m.text().match(/status of (\d+)/) || [])[1];
    if (st && expected.includes(Number(st))) return;
    errors.push(`${step}: console: ${m.text()}`);
  });
  return page;
}

async function ready(page) {
  await page.waitForSelector('#main[data-ready="1"]', { timeout: 15000 * SLOW });
}

async function goto(page, hash) {
  await page.evaluate((h) => {
    document.getElementById("main").dataset.ready = "";
    location.hash = h;
  }, hash);
  await ready(page);
}

async function login(page, user, pw) {
  await page.goto(URL + "/login");
  await page.fill("#login-user", user);
  await page.fill("#login-password", pw || `pw-of-${user}-123`);
  await page.click("#login-submit");
  await page.waitForURL(URL + "/", { timeout: 15000 * SLOW });
  await ready(page);
}

// The column of the alerts table named by its data: the cases shown.
// The cases of the alerts shown, sorted. Alerts of no case (the province's
// integrity alert for the blocked device) are left out: checked on their own.
async function casesShown(page) {
  if (!(await page.locator("#alerts-table").count())) return [];
  return page.$$eval("#alerts-table tbody tr", (rows) => rows.map((r) => r.children[2].textContent).filter((c) => c).sort());
}

// The detail texts of the alerts shown that belong to no case.
async function caselessDetails(page) {
  if (!(await page.locator("#alerts-table").count())) return [];
  return page.$$eval("#alerts-table tbody tr", (rows) => rows.filter((r) => !r.children[2].textContent).map((r) => r.children[7].textContent));
}

async function filter(page, values) {
  for (const [k, v] of Object.entries(values)) {
    const sel = `#main form.filters [name="${k}"]`;
    if (k === "state") await page.selectOption(sel, v);
    else await page.fill(sel, v);
  }
  await page.evaluate(() => (document.getElementById("main").dataset.ready = ""));
  await page.click("#main form.filters button[type=submit]");
  await ready(page);
}

// No untranslated key (pv_..., st_..., role_...) shows anywhere on the page.
async function noKeys(page, where) {
  const text = await page.textContent("body");
  const m = text.match(/\b(pv_|st_|role_|nav_|lang_)\w+/);
  check(!m, `${where}: an untranslated key shows: ${m && m[0]}`);
}

// At 390 px: the page no wider than the screen, its navigation and logout
// on screen.
async function narrow(page, hash, name) {
  await goto(page, hash);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= 392, `${hash} at 390 px: the page is ${wide} px wide (tables must scroll inside their panel)`);
  for (const sel of ['#nav a[data-page="alerts"]', '#nav a[data-page="counties"]', '#nav a[data-page="case"]', "#logout", "#lang-toggle"]) {
    const b = await page.locator(sel).boundingBox();
    check(b && b.x >= 0 && b.x + b.width <= 391 && b.width > 0, `${hash} at 390 px: ${sel} is off screen (${JSON.stringify(b)})`);
  }
  await shot(page, name);
}

try {
  // ---- the login page; a bad password ----
  step = "login-page";
  const page = await open();
  await page.goto(URL + "/");
  check(page.url().startsWith(URL + "/login"), `/ without a login went to ${page.url()}`);
  await page.waitForSelector("#login-form");
  await shot(page, "00-login-zh");
  expected = [401];
  await page.fill("#login-user", "ua");
  await page.fill("#login-password", "wrong-password");
  await page.click("#login-submit");
  await page.waitForSelector("#login-error:not([hidden])");
  check((await page.textContent("#login-error")) === "用户名或密码错误", "a bad password is not refused in words");
  expected = [];

  // ---- unit A: the alerts, with filters ----
  step = "alerts-ua";
  await login(page, "ua");
  check((await page.textContent("#whoami")).includes(env.UA), "the top bar does not name ua's unit");
  check((await page.textContent('#nav a[data-page="alerts"]')) === "告警", "the navigation is not in Chinese");
  let cases = await casesShown(page);
  check(JSON.stringify(cases) === '["CA-1"]', `unit A's alerts show cases ${cases}`);
  // the blocked device's entry raised the province's own integrity alert, in unit A
  const integ = await caselessDetails(page);
  check(integ.length === 1 && integ[0].includes(env.BLK_DEV), `unit A's integrity alert for the blocked device: ${JSON.stringify(integ)}`);
  const row = page.locator("#alerts-table tbody tr", { hasText: "CA-1" }).first();
  const cells = await row.locator("td").allTextContents();
  check(cells[0] === "ca" && cells[1] === env.UA, `the alert row: ${cells}`);
  check(cells[5] === "未处理", `the alert's state shows "${cells[5]}"`);
  check(/\d{4}/.test(cells[6]) && cells[7].length > 0, `the alert lacks its time or detail: ${cells}`);
  const heads = await page.$$eval("#alerts-table thead th", (th) => th.map((h) => h.textContent));
  check(heads.length === 8 && heads.every((h) => h && /[\u4e00-\u9fff]/.test(h)), `the alerts' headings: ${heads}`);
  await noKeys(page, "alerts");
  const rule = cells[3];
  await shot(page, "01-alerts-ua-zh");
  await filter(page, { county: "cb" });
  check((await casesShown(page)).length === 0 && (await page.locator("#main .empty").count()) === 1, "county cb lets A's alerts through");
  check((await page.textContent("#main .empty")).includes("仅显示您所属单位"), "the empty list is not explained");
  await filter(page, { county: "ca", state: "resolved" });
  check((await casesShown(page)).length === 0, "the state filter lets open alerts through");
  await filter(page, { state: "open" });
  check(JSON.stringify(await casesShown(page)) === '["CA-1"]', "the state filter open drops CA-1");
  check(page.url().includes("state=open") && page.url().includes("county=ca"), `the filters are not in the address: ${page.url()}`);
  await filter(page, { rule: "no-such-rule" });
  check((await casesShown(page)).length === 0, "the rule filter lets other rules through");
  await filter(page, { rule });
  check(JSON.stringify(await casesShown(page)) === '["CA-1"]', `the rule filter ${rule} drops CA-1`);
  await shot(page, "02-alerts-ua-filtered");

  // ---- a case from the list: its records and alerts ----
  step = "case-ua";
  await page.evaluate(() => (document.getElementById("main").dataset.ready = ""));
  await page.click('#alerts-table a[href="#/case/ca/CA-1"]');
  await ready(page);
  const recs = await page.$$eval("#case-records tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(recs.length === 1 && recs[0][1] === "证据登记" && recs[0][2] === env.UA, `CA-1's records: ${JSON.stringify(recs)}`);
  check(recs[0][4].split(" ")[0].length > 8, `CA-1's record does not name its device: ${recs[0][4]}`);
  check((await page.locator("#case-alerts tbody tr").count()) === 1, "CA-1's alert is not on its page");
  check((await page.inputValue('#main form [name="county"]')) === "ca", "the case form does not show the county");
  await shot(page, "03-case-ua-zh");

  // ---- another unit's case: a plain refusal, nothing of it ----
  step = "case-other";
  expected = [404];
  await goto(page, "#/case/cb/CB-1");
  const refusal = await page.textContent("#page-error");
  check(refusal === "在您所属单位的案件中没有县 cb 的案件 CB-1", `B's case for ua says "${refusal}"`);
  check(!(await page.locator("#case-records").count()), "B's case shows records to ua");
  check(!(await page.textContent("#main")).includes(env.UB), "B's unit shows on ua's refusal");
  await shot(page, "04-case-other-unit-zh");
  expected = [];

  // ---- the counties: forwarding lag, the blocked device ----
  step = "counties-ua";
  await goto(page, "#/counties");
  let crow = await page.$$eval("#counties-table tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(crow.length === 1 && crow[0][0] === "ca", `unit A's counties: ${JSON.stringify(crow)}`);
  check(crow[0][1] === env.UA, `ca's units for ua: ${crow[0][1]}`);
  check(/^[1-9]\d*$/.test(crow[0][2]), `the entries forwarded: ${crow[0][2]}`);
  check(/^\d+ s$/.test(crow[0][4]), `the forwarding lag: ${crow[0][4]}`);
  check(/^[12] \/ 2$/.test(crow[0][5]), `the devices verified: ${crow[0][5]}`);
  const blk = `设备 ${env.BLK_DEV} 自第 ${env.BLK_SEQ} 条起核验未通过`;
  check(crow[0][8] === blk, `the blocked device: "${crow[0][8]}", not "${blk}"`);
  check(await page.locator("#counties-table td.blocked-cell").isVisible(), "the blocked cell is not marked");
  await noKeys(page, "counties");
  await shot(page, "05-counties-ua-zh");

  // ---- English ----
  step = "english";
  await page.evaluate(() => (document.getElementById("main").dataset.ready = ""));
  await page.click("#lang-toggle");
  await ready(page);
  check((await page.textContent('#nav a[data-page="counties"]')) === "Counties", "the navigation is not in English");
  check((await page.textContent("#lang-toggle")) === "中文", "the language switch does not offer Chinese");
  check((await page.textContent("#whoami")).includes("Staff"), "the role is not in English");
  check((await page.evaluate(() => document.documentElement.lang)) === "en", "the document's language is not en");
  crow = await page.$$eval("#counties-table tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(crow[0][8] === `device ${env.BLK_DEV} stopped at entry ${env.BLK_SEQ}, which did not verify`, `in English the blocked device: "${crow[0][8]}"`);
  const eheads = await page.$$eval("#counties-table thead th", (th) => th.map((h) => h.textContent));
  check(eheads.every((h) => /^[A-Za-z ]+$/.test(h)), `the counties' headings in English: ${eheads}`);
  await noKeys(page, "counties (en)");
  await shot(page, "06-counties-ua-en");
  await goto(page, "#/alerts");
  check((await page.textContent("#alerts-table tbody tr td:nth-child(6)")) === "open", "the state in English");
  check((await page.textContent("#alerts-table thead th")) === "County", "the alerts' headings in English");
  check((await page.textContent('#main form.filters select[name="state"] option[value=""]')) === "any", "the state filter in English");
  await noKeys(page, "alerts (en)");
  await shot(page, "07-alerts-ua-en");
  expected = [404];
  await goto(page, "#/case/cb/CB-1");
  check((await page.textContent("#page-error")) === "No case CB-1 of county cb among the cases of your units", "the refusal in English");
  expected = [];
  await goto(page, "#/case/ca/CA-1");
  check((await page.$$eval("#case-records thead th", (th) => th.map((h) => h.textContent))).join("|") === "When|Kind|Unit|Officers|Device", "the records' headings in English");
  check((await page.textContent("#case-records tbody td:nth-child(2)")) === "Evidence registration", "the record type in English");
  await shot(page, "08-case-ua-en");
  // the choice stays after a reload
  await page.reload();
  await ready(page);
  check((await page.textContent('#nav a[data-page="alerts"]')) === "Alerts", "the language is not kept across a reload");
  await page.click("#lang-toggle");
  await ready(page);

  // ---- 390 px wide ----
  step = "narrow";
  await page.setViewportSize({ width: 390, height: 844 });
  await narrow(page, "#/alerts", "09-alerts-390");
  // the unit's name on one line: the table scrolls, its cells do not fold
  // (a long detail may wrap in its own cell; the short cells keep one line)
  // the height of each short cell's content against its font size
  const lines = await page.$$eval("#alerts-table tbody tr td.nowrap", (tds) =>
    Math.max(
      ...tds.map((td) => {
        const range = document.createRange();
        range.selectNodeContents(td);
        return range.getBoundingClientRect().height / parseFloat(getComputedStyle(td).fontSize);
      })
    )
  );
  check(lines < 2.2, `an alert's short cells at 390 px are ${lines.toFixed(1)} em tall (they fold letter by letter)`);
  await narrow(page, "#/counties", "10-counties-390");
  await narrow(page, "#/case/ca/CA-1", "11-case-390");
  const wrap = await page.$eval("#case-records", (t) => getComputedStyle(t.parentElement).overflowX);
  check(wrap === "auto", `the records' table does not scroll inside its panel (${wrap})`);
  await page.setViewportSize({ width: 1366, height: 860 });

  // ---- logout ----
  step = "logout";
  await page.click("#logout");
  await page.waitForURL(/\/login/, { timeout: 15000 * SLOW });
  expected = [401];
  const after = await page.evaluate(async () => (await fetch("/api/prov/alerts")).status);
  check(after === 401, `the API after logout answers ${after}`);
  await page.goto(URL + "/#/counties");
  check(page.url().startsWith(URL + "/login"), `the dashboard after logout: ${page.url()}`);
  expected = [];
  await shot(page, "12-after-logout");

  // ---- unit C: county ca, without unit A's blocked device ----
  step = "counties-uc";
  await login(page, "uc");
  await goto(page, "#/counties");
  crow = await page.$$eval("#counties-table tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(crow.length === 1 && crow[0][0] === "ca" && crow[0][1] === env.UC, `unit C's counties: ${JSON.stringify(crow)}`);
  check(crow[0][8] === "无", `unit C is shown blocked devices: "${crow[0][8]}"`);
  check(!(await page.textContent("body")).includes(env.BLK_DEV), "unit A's blocked device shows to unit C");
  check(JSON.stringify(await (goto(page, "#/alerts").then(() => casesShown(page)))) === '["CC-1"]', "unit C's alerts");
  check((await caselessDetails(page)).length === 0, "unit A's integrity alert shows to unit C");
  await shot(page, "13-counties-uc");
  await page.click("#logout");
  await page.waitForURL(/\/login/, { timeout: 15000 * SLOW });

  // ---- every unit ----
  step = "all";
  await login(page, "all");
  check((await page.textContent("#whoami")).includes("全部单位"), "the all-units user is not said to see all units");
  cases = await casesShown(page);
  check(JSON.stringify(cases) === '["CA-1","CB-1","CC-1"]', `the all-units user's alerts: ${cases}`);
  await filter(page, { county: "cb" });
  check(JSON.stringify(await casesShown(page)) === '["CB-1"]', "the county filter for the all-units user");
  await filter(page, { county: "", unit: env.UC });
  check(JSON.stringify(await casesShown(page)) === '["CC-1"]', "the unit filter for the all-units user");
  await goto(page, "#/case/cb/CB-1");
  check((await page.locator("#case-records tbody tr").count()) === 1, "the all-units user cannot open CB-1");
  await goto(page, "#/counties");
  crow = await page.$$eval("#counties-table tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(crow.map((r) => r[0]).join(",") === "ca,cb", `the all-units user's counties: ${JSON.stringify(crow)}`);
  check(crow[0][8] === blk && crow[1][8] === "无", `the blocked devices for every unit: ${crow[0][8]} | ${crow[1][8]}`);
  await shot(page, "14-counties-all");

  // ---- PostgreSQL stopped under the open page, then back ----
  step = "db-down";
  await ask("pg_stop");
  expected = [503];
  await goto(page, "#/alerts");
  const down = await page.textContent("#page-error");
  check(down === "暂时无法连接省级数据库，页面内容无法显示；请稍后刷新重试。", `with the database down the page says "${down}"`);
  check(!(await page.locator("#alerts-table").count()), "a table with the database down");
  await shot(page, "15-db-down-page");
  await page.reload();
  const reloaded = await page.textContent("body");
  check(/无法连接数据库/.test(reloaded) && /database cannot be reached/.test(reloaded), `a reload with the database down shows "${reloaded.slice(0, 300)}"`);
  await shot(page, "16-db-down-reload");
  const p2 = await open();
  await p2.goto(URL + "/login");
  await p2.fill("#login-user", "ua");
  await p2.fill("#login-password", "pw-of-ua-123");
  await p2.click("#login-submit");
  await p2.waitForSelector("#login-error:not([hidden])");
  check((await p2.textContent("#login-error")) === "数据库暂时无法连接，无法登录；请稍后再试", "a login with the database down is not explained");
  await shot(p2, "17-db-down-login");
  await ask("pg_up");
  step = "db-back";
  let back = false;
  await page.goto(URL + "/#/counties");
  for (let i = 0; i < 60 * SLOW && !back; i++) {
    await page.reload();
    if (page.url().startsWith(URL + "/login")) throw new Error("the session was lost while the database was down");
    back = (await page.locator("#counties-table").count()) > 0 ||
      (await page.waitForSelector("#counties-table", { timeout: 1000 }).then(() => true, () => false));
    if (!back) await sleep(500);
  }
  check(back, "the page did not come back with the database");
  expected = [];
  await ready(page);
  check((await page.locator("#counties-table tbody tr").count()) === 2, "the counties after the database came back");
  await shot(page, "18-db-back");

  if (errors.length) throw new Error(`errors in the pages:\n  ${errors.join("\n  ")}`);
  log("OK");
} catch (e) {
  console.error(`[provui] FAILED at ${step}: ${e.stack || e.message}`);
  if (errors.length) console.error(`  errors in the pages:\n  ${errors.join("\n  ")}`);
  process.exitCode = 1;
} finally {
  for (const c of contexts) await c.close().catch(() => {});
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
}
