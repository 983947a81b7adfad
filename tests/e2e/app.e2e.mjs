// End-to-end: the real app binary (UI embedded) under Xvfb, driven through tauri-driver and
// WebKitWebDriver. Run by scripts/e2e.sh, which starts Xvfb, a private D-Bus session with an
// unlocked GNOME Keyring, a fresh HOME (so a fresh app data dir) and tauri-driver.
//
// One shop's day, in order: first-run setup, staff, a cashier's phone order with a down payment
// and 3 installments, an installment payment, a refused overpayment, a deletion that needs a
// manager (wrong PIN refused, right PIN deletes), the audit log and its chain check, Bahasa
// Indonesia, a restart that finds everything still there, and sync: the owner pairs the counter
// with the order-service, an order is recorded while the service is down, and the end-of-day
// sync puts everything on the service (checked through its REST API). Screenshots of the main screens go
// to $E2E_ARTIFACTS/screenshots; cold start and memory figures to $E2E_ARTIFACTS/figures.json.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { $, APP, ARTIFACTS, click, fill, launch, lock, login, shot, text, use, waitText } from "./lib.mjs";

const OWNER_PIN = "135790";
const MANAGER_PIN = "2468";
const CASHIER_PIN = "1357";
const figures = {};
let browser;

/** Resident memory of the app and the WebKit processes it started (KiB). */
function treeRssKib(rootPid) {
  const parents = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(d), ppid);
    } catch {
      /* the process ended meanwhile */
    }
  }
  const inTree = (pid) => {
    for (let p = pid; p > 1; p = parents.get(p) ?? 0) if (p === rootPid) return true;
    return false;
  };
  let total = 0;
  let totalPss = 0;
  const parts = {};
  const anon = {};
  for (const pid of parents.keys()) {
    if (!inTree(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const pss = Number(/Pss:\s+(\d+)/.exec(rollup)?.[1] ?? 0);
      totalPss += pss;
      const name = /Name:\s+(\S+)/.exec(status)?.[1] ?? String(pid);
      // E2E_SMAPS=1 keeps every mapping of each process, to see where the memory is
      if (process.env.E2E_SMAPS) writeFileSync(join(ARTIFACTS, `smaps-${name}-${pid}.txt`), readFileSync(`/proc/${pid}/smaps`, "utf8"));
      total += rss;
      parts[name] = (parts[name] ?? 0) + rss;
      // heap and other private memory, as opposed to mapped libraries
      anon[name] = (anon[name] ?? 0) + Number(/Anonymous:\s+(\d+)/.exec(rollup)?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return { total, totalPss, parts, anon };
}

function appPid() {
  const out = execFileSync("pgrep", ["-n", "-f", `^${APP}`], { encoding: "utf8" }).trim();
  return Number(out);
}

before(async () => {
  ({ b: browser } = await launch());
  use(browser);
});

after(async () => {
  if (service) service.kill("SIGKILL");
  writeFileSync(join(ARTIFACTS, "figures.json"), JSON.stringify(figures, null, 2));
  await browser?.deleteSession().catch(() => undefined);
});

test("first-run setup creates the shop and logs the owner in", async () => {
  await (await $('form[aria-label="Set up this counter"]')).waitForDisplayed({ timeout: 30000 });
  await fill('input[name="shop_name"]', "Toko Maju Jaya");
  await fill('input[name="owner_name"]', "Ibu Sari");
  await fill('input[name="owner_pin"]', OWNER_PIN);
  await fill('input[name="owner_pin2"]', OWNER_PIN);
  await fill('input[name="recovery_passphrase"]', "frasa sandi toko maju jaya");
  await fill('input[name="recovery_passphrase2"]', "frasa sandi toko maju jaya");
  await shot("01-setup");
  await browser.keys("Enter");
  await waitText('[data-testid="who"]', "Ibu Sari");
});

test("the owner adds a manager and a cashier", async () => {
  await click('button[name="nav-staff"]');
  for (const [name, role, pin] of [
    ["Pak Budi", "manager", MANAGER_PIN],
    ["Ani", "cashier", CASHIER_PIN],
  ]) {
    await fill('input[name="staff_name"]', name);
    await (await $('select[name="staff_role"]')).selectByAttribute("value", role);
    await fill('input[name="staff_pin"]', pin);
    await browser.keys("Enter");
    await waitText('[data-testid="staff"] .staff-list', name);
  }
  await lock();
  await shot("02-login");
});

test("a cashier records a phone order with a down payment and 3 installments", async () => {
  await login("Ani", CASHIER_PIN);
  await click('button[name="nav-new"]');
  await click('//label[.//input[@name="channel" and @value="phone"]]');
  await fill('input[name="customer_name"]', "Siti Rahma");
  await fill('input[name="customer_phone"]', "0812 3456 7890");
  await fill('input[name="item_name_0"]', "Rice cooker");
  await fill('input[name="item_qty_0"]', "2");
  await fill('input[name="item_price_0"]', "750000");
  await click('//label[.//input[@name="terms" and @value="installment"]]');
  await fill('input[name="down_payment"]', "300000");
  await fill('input[name="installment_count"]', "3");
  await browser.waitUntil(
    async () => (await browser.$$('[data-testid="schedule-preview"] tbody tr')).length === 4,
    { timeoutMsg: "the live schedule preview never showed 4 lines" },
  );
  // the suggested payment, written the way the language writes numbers
  assert.equal(await (await $('input[name="payment_amount"]')).getValue(), "300,000");
  await shot("03-new-order");
  await click('//button[normalize-space()="Record order"]');
  await (await $('[data-testid="order-detail"][data-status="pending"]')).waitForDisplayed();
  assert.match(await text('[data-testid="order-paid"]'), /300,000/);
  assert.match(await text('[data-testid="order-balance"]'), /1,200,000/);
  const statuses = await browser.$$('[data-testid="order-schedule"] tbody tr').map((r) => r.getAttribute("data-status"));
  assert.deepEqual(statuses, ["paid", "due", "due", "due"]);
});

test("an installment payment updates the schedule and the balance", async () => {
  await fill('form[aria-label="Record payment"] input[name="amount"]', "400000");
  await browser.keys("Enter");
  await waitText('[data-testid="order-paid"]', "700,000");
  const statuses = await browser.$$('[data-testid="order-schedule"] tbody tr').map((r) => r.getAttribute("data-status"));
  assert.deepEqual(statuses, ["paid", "paid", "due", "due"]);
  assert.equal((await browser.$$('[data-testid="payments"] li')).length, 2);
  await shot("04-order-detail");
});

test("an overpayment is refused next to the amount, and nothing changes", async () => {
  await fill('form[aria-label="Record payment"] input[name="amount"]', "5000000");
  await browser.keys("Enter");
  const err = await $('form[aria-label="Record payment"] .field-error');
  await err.waitForDisplayed();
  assert.match(await err.getText(), /more than the outstanding balance/);
  assert.match(await text('[data-testid="order-paid"]'), /700,000/);
  assert.equal((await browser.$$('[data-testid="payments"] li')).length, 2);
  await shot("05-overpayment");
});

test("a cashier's delete needs a manager: a wrong PIN is refused, the right one refunds and deletes", async () => {
  await click('button[name="delete"]');
  const dialog = await $('[data-testid="approval-dialog"]');
  await dialog.waitForDisplayed();
  // Refund before delete: the 700,000 taken is given back (reversed) under the same approval.
  assert.match(await text('[data-testid="refund-notice"]'), /700,000/);
  await fill('textarea[name="reason"]', "Customer cancelled by phone");
  await (await $('select[name="approver"]')).selectByVisibleText("Pak Budi (Manager)");
  await fill('input[name="approver_pin"]', "9999");
  await browser.keys("Enter");
  const err = await $('[data-testid="approval-dialog"] .field-error');
  await err.waitForDisplayed();
  assert.match(await err.getText(), /Wrong PIN/);
  await shot("06-approval-dialog");
  await fill('input[name="approver_pin"]', MANAGER_PIN);
  await browser.keys("Enter");
  await (await $('[data-testid="order-detail"][data-status="deleted"]')).waitForDisplayed();
  assert.match(await text('[data-testid="deletion-note"]'), /approved by Pak Budi: Customer cancelled by phone/);
  assert.match(await text('[data-testid="order-paid"]'), /IDR\s0$/);
  assert.equal((await browser.$$('[data-testid="payments"] li')).length, 4, "two payments and their two reversals");
});

test("a walk-in order paid in full is paid at once", async () => {
  await click('button[name="nav-new"]');
  await fill('input[name="customer_name"]', "Budi");
  await fill('input[name="item_name_0"]', "Kopi 1 kg");
  await fill('input[name="item_price_0"]', "150000");
  await fill('input[name="item_discount_0"]', "10000");
  await waitText('[data-testid="preview-total"]', "140,000");
  assert.equal(await (await $('input[name="payment_amount"]')).getValue(), "140,000");
  await click('//button[normalize-space()="Record order"]');
  await (await $('[data-testid="order-detail"][data-status="paid"]')).waitForDisplayed();
  assert.match(await text('[data-testid="order-balance"]'), /IDR\s0$/);
});

test("the audit log shows the events and the chain verifies", async () => {
  await lock();
  await login("Pak Budi", MANAGER_PIN);
  await click('button[name="nav-audit"]');
  await browser.waitUntil(async () => (await browser.$$('[data-testid="audit-log"] tbody tr')).length > 5);
  const ops = await browser.$$('[data-testid="audit-log"] tbody tr').map((r) => r.getAttribute("data-operation"));
  // The refused manager PIN is in the trail too, before the approval that followed it.
  for (const op of ["order.create", "payment.record", "payment.reverse", "order.delete", "approval.failed", "approval.granted"]) {
    assert.ok(ops.includes(op), `${op} in ${ops}`);
  }
  assert.ok(ops.indexOf("approval.failed") > ops.indexOf("approval.granted"), "newest first: failed before granted");
  const actions = await browser.$$('[data-testid="audit-log"] tbody tr').map((r) => r.getAttribute("data-action"));
  for (const a of ["CREATE", "PAYMENT", "DELETE", "ACCESS", "READ"]) assert.ok(actions.includes(a), `${a} audited`);
  await click('button[name="verify"]');
  const report = await $('[data-testid="chain-report"]');
  await report.waitForDisplayed();
  assert.equal(await report.getAttribute("data-ok"), "true");
  await shot("07-audit-log");
  await click('button[name="nav-dashboard"]');
  // The deleted order's money was refunded the same day; the walk-in order counts.
  await waitText('[data-testid="dash-collected"]', "140,000");
  assert.equal(await text('[data-testid="dash-orders"] .tile-value'), "1");
  assert.equal(await text('[data-testid="dash-completion"] .tile-value'), "100.0%");
  await shot("08-dashboard");
  await click('button[name="nav-orders"]');
  await (await $('[data-testid="order-list"] tbody tr')).waitForDisplayed();
  await shot("09-order-list");
});

test("Bahasa Indonesia translates the labels", async () => {
  await click('button[name="nav-settings"]');
  await (await $('select[name="language"]')).selectByAttribute("value", "id");
  await fill('textarea[name="receipt_header"]', "Jl. Merdeka 1, Bandung");
  await browser.keys(["Tab"]);
  await click('//button[normalize-space()="Save"]');
  await waitText('button[name="nav-orders"]', "Pesanan");
  assert.equal(await text('button[name="nav-dashboard"]'), "Dasbor");
  assert.equal(await text('button[name="lock"]'), "Kunci");
  await shot("10-settings-id");
  const mem = treeRssKib(appPid());
  figures.rss_after_flow_mib = Math.round((mem.total / 1024) * 10) / 10;
  // PSS shares each shared page among the processes that map it, so the sum is not inflated.
  figures.pss_after_flow_mib = Math.round((mem.totalPss / 1024) * 10) / 10;
  figures.rss_parts_mib = Object.fromEntries(Object.entries(mem.parts).map(([k, v]) => [k, Math.round(v / 102.4) / 10]));
  figures.anonymous_parts_mib = Object.fromEntries(Object.entries(mem.anon).map(([k, v]) => [k, Math.round(v / 102.4) / 10]));
});

test("after a restart everything is still there", async () => {
  await browser.deleteSession();
  const { b, started } = await launch();
  browser = use(b);
  await (await $('[data-testid="login-screen"]')).waitForDisplayed({ timeout: 30000 });
  figures.cold_start_to_login_ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
  assert.equal(await text('[data-testid="login-screen"] h2'), "Siapa yang bertugas di kasir?");
  await login("Pak Budi", MANAGER_PIN);
  const row = await $('//tr[td[normalize-space()="Siti Rahma"]]');
  await row.waitForDisplayed();
  assert.match(await row.getText(), /Dihapus/);
  assert.equal((await browser.$$('[data-testid="order-list"] tbody tr')).length, 2);
  await (await row.$("td")).click();
  await (await $('[data-testid="order-detail"][data-status="deleted"]')).waitForDisplayed();
  assert.match(await text('[data-testid="order-paid"]'), /\s0$/);
  await shot("11-after-restart");
});

// The order-service for the sync step: scripts/e2e.sh migrated a database with one shop; the
// test starts the service process, and stops it to record orders offline.
let service;
let servicePort;
async function freePort() {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address();
  srv.close();
  return port;
}
const serviceUrl = () => `http://127.0.0.1:${servicePort}`;
async function api(method, path, token, body) {
  const r = await fetch(serviceUrl() + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
async function startService() {
  servicePort ??= await freePort();
  service = spawn(process.env.ORDER_SERVICE_BIN, ["serve"], {
    env: { ...process.env, ORDER_SERVICE_LISTEN: `127.0.0.1:${servicePort}`, RUST_LOG: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  // ready when it answers (bounded)
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${serviceUrl()}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail("the order-service did not start");
}
async function stopService() {
  service.kill("SIGKILL");
  await once(service, "exit");
  service = undefined;
}

test("the owner pairs the counter; an order recorded offline reaches the service at the end-of-day sync", async () => {
  await startService();
  const { access_token: token } = await api("POST", "/api/v1/auth/login", null, {
    tenant: "toko-maju",
    email: "owner@tokomaju.id",
    password: "e2e owner password",
  });
  const { code } = await api("POST", "/api/v1/devices/pairing-codes", token, {});

  await lock();
  await login("Ibu Sari", OWNER_PIN);
  assert.equal(await (await $('[data-testid="sync-indicator"]')).getAttribute("data-state"), "unpaired");
  await click('button[name="nav-sync"]');
  await fill('input[name="server_url"]', serviceUrl());
  await fill('input[name="pairing_code"]', code);
  await click('button[name="pair"]');
  await (await $('[data-testid="paired"]')).waitForDisplayed();
  // the background sync sends the day so far by itself
  await browser.waitUntil(async () => (await text('[data-testid="sync-pending"]')).startsWith("0 "), {
    timeout: 30000,
    timeoutMsg: "the background sync never emptied the queue",
  });

  await stopService();
  await click('button[name="nav-new"]');
  await fill('input[name="customer_name"]', "Dewi Lestari");
  await fill('input[name="item_name_0"]', "Teh 500 g");
  // typed the Indonesian way: "." groups thousands
  await fill('input[name="item_price_0"]', "50.000");
  await click('form[data-testid="new-order"] button[type="submit"]');
  await (await $('[data-testid="order-detail"][data-status="paid"]')).waitForDisplayed();
  await browser.waitUntil(
    async () => (await (await $('[data-testid="sync-indicator"]')).getAttribute("data-state")) === "offline" && !(await text('[data-testid="sync-pending"]')).startsWith("0 "),
    { timeout: 30000, timeoutMsg: "the indicator never showed offline with changes waiting" },
  );
  await shot("12-offline-pending");

  // The end-of-day sync starts while the service is still down: it holds the one sync slot
  // (the background loop cannot take these changes first) and retries with backoff, so once
  // the service is back the report must show this run pushing the offline order.
  await click('button[name="nav-sync"]');
  await click('button[name="eod-sync"]');
  await waitText('[data-testid="sync-progress"]', "0 dari 2");
  await startService();
  await (await $('[data-testid="sync-report"]')).waitForDisplayed({ timeout: 90000 });
  await waitText('[data-testid="report-verdict"]', "Semua sudah ada di layanan.");
  assert.equal(await text('[data-testid="report-pushed-count"]'), "2", "the order and its payment, pushed by this run");
  assert.equal(await text('[data-testid="report-pending-count"]'), "0");
  assert.equal(await text('[data-testid="report-attention-count"]'), "0");
  assert.equal(await text('[data-testid="sync-progress"] span'), "2 dari 2 perubahan");
  await shot("13-end-of-day-report");

  // the shop's service has every order of the day, the deleted one as deleted
  const page = await api("GET", "/api/v1/offline-orders?limit=50", token);
  const byName = Object.fromEntries(page.items.map((o) => [o.customer.name, o]));
  assert.ok(byName["Dewi Lestari"], JSON.stringify(Object.keys(byName)));
  assert.equal(byName["Dewi Lestari"].status, "paid");
  assert.equal(byName["Dewi Lestari"].total, "50000", "50.000 typed in Indonesian is fifty thousand");
  assert.equal(byName["Budi"].status, "paid");
  assert.equal(byName["Siti Rahma"]?.status, "deleted");
  await stopService();
});
