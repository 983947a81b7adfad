// End-to-end: the counter as an Indonesian cashier uses it, on a 1024×768 screen (scripts/e2e.sh
// starts this suite under a 1024×768 Xvfb, with a fresh HOME, so a first run).
//
// Bahasa Indonesia is chosen first at setup; amounts are typed the Indonesian way ("75.000",
// "0,5", a price without grouping shown back grouped, an ambiguous or wrong amount refused at its
// field) and the parsed values checked on the order the counter recorded; the receipt adds up on
// its face; the main screens fit the screen (one-row top bar, the new order's total and record
// button in view, order-list rows on one line); a dialog keeps Tab inside and gives focus back;
// and no English is left on any screen visited. Screenshots go to $E2E_ARTIFACTS/screenshots
// (the README's come from this run).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { $, click, englishOn, fill, launch, lock, login, shot, text, use, waitText } from "./lib.mjs";

const OWNER_PIN = "246810";
const CASHIER_PIN = "8642";
let browser;

before(async () => {
  browser = use((await launch()).b);
});

after(async () => {
  await browser?.deleteSession().catch(() => undefined);
});

/** Fails when a screen shows English: any text of the English catalogue that Bahasa words differently. */
async function noEnglish(screen) {
  const found = await englishOn();
  assert.deepEqual(found, [], `English left on ${screen}`);
}

/** "Rp 1.680.000" → 1680000n (exact, no Number). */
function rupiah(s) {
  const m = /(−|-)?\s*Rp\s*([0-9.]+)/.exec(s);
  assert.ok(m, `no Rupiah amount in ${JSON.stringify(s)}`);
  return (m[1] ? -1n : 1n) * BigInt(m[2].replaceAll(".", ""));
}

async function inView(sel) {
  return browser.execute((s) => {
    const r = document.querySelector(s)?.getBoundingClientRect();
    return !!r && r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
  }, sel);
}

/** The top bar is one row: every control in it sits on the same line, and all of them are in view. */
async function topBarFits() {
  const rows = await browser.execute(() => {
    const bar = document.querySelector("header.topbar");
    const tops = [...bar.querySelectorAll("button, .who, .shop")].map((e) => {
      const r = e.getBoundingClientRect();
      return { mid: Math.round(r.top + r.height / 2), right: r.right };
    });
    return { mids: [...new Set(tops.map((t) => t.mid))], right: Math.max(...tops.map((t) => t.right)), width: window.innerWidth };
  });
  assert.ok(Math.max(...rows.mids) - Math.min(...rows.mids) <= 4, `the top bar wraps: rows at ${rows.mids}`);
  assert.ok(rows.right <= rows.width, `the top bar runs off the screen (${rows.right} > ${rows.width})`);
}

test("the window opens within a 1024×768 screen and setup asks for the language first", async () => {
  const lang = await $('select[name="language"]');
  await lang.waitForDisplayed({ timeout: 30000 });
  const fit = await browser.execute(() => ({ w: window.outerWidth, h: window.outerHeight, sw: screen.availWidth, sh: screen.availHeight }));
  assert.ok(fit.sw <= 1024 && fit.sh <= 768, `the test screen is 1024×768 (${fit.sw}×${fit.sh})`);
  assert.ok(fit.w <= fit.sw && fit.h <= fit.sh, `the window (${fit.w}×${fit.h}) is larger than the screen`);
  // the first control of the form is the language
  const first = await browser.execute(() => document.querySelector("form select, form input")?.getAttribute("name"));
  assert.equal(first, "language");
  await lang.selectByAttribute("value", "id");
  await waitText("form h1, form h2", "Siapkan");
  await fill('input[name="shop_name"]', "Toko Maju Jaya");
  await fill('input[name="owner_name"]', "Ibu Sari");
  await fill('input[name="owner_pin"]', OWNER_PIN);
  await fill('input[name="owner_pin2"]', OWNER_PIN);
  await fill('input[name="recovery_passphrase"]', "frasa sandi kasir dua");
  await fill('input[name="recovery_passphrase2"]', "frasa sandi kasir dua");
  await noEnglish("setup");
  await shot("id-01-setup");
  await browser.keys("Enter");
  await waitText('[data-testid="who"]', "Ibu Sari");
  await topBarFits();
  assert.ok(await inView('button[name="lock"]'), "the lock button is in view");
  assert.ok(await inView('[data-testid="sync-indicator"]'), "the sync state is in view");
});

test("the owner adds a cashier, in Bahasa", async () => {
  await click('button[name="nav-staff"]');
  await fill('input[name="staff_name"]', "Ani");
  await (await $('select[name="staff_role"]')).selectByAttribute("value", "cashier");
  await fill('input[name="staff_pin"]', "12");
  await browser.keys("Enter");
  // a refused PIN is explained in Bahasa at its field
  await waitText('[data-testid="staff"] .field-error', "PIN");
  await noEnglish("staff (refused PIN)");
  await fill('input[name="staff_pin"]', CASHIER_PIN);
  await browser.keys("Enter");
  await waitText('[data-testid="staff"] .staff-list', "Ani");
  await topBarFits();
  await noEnglish("staff");
  await lock();
  // nobody is preselected: a cashier's PIN cannot use up the owner's attempts
  assert.equal((await browser.$$(".staff-choice.selected")).length, 0);
  await noEnglish("login");
  await shot("id-02-login");
});

test("a cashier types amounts the Indonesian way and the counter records exactly those values", async () => {
  await login("Ani", CASHIER_PIN);
  await click('button[name="nav-new"]');
  await topBarFits();
  await click('//label[.//input[@name="channel" and @value="phone"]]');
  await fill('input[name="customer_name"]', "Siti Rahma");
  await fill('input[name="customer_phone"]', "0812-3456-7890");
  await fill('input[name="item_name_0"]', "Beras 5 kg");
  await fill('input[name="item_qty_0"]', "2");
  await fill('input[name="item_price_0"]', "75.000");
  await fill('input[name="item_discount_0"]', "5.000");
  await click('//button[contains(normalize-space(), "Tambah barang")]');
  await fill('input[name="item_name_1"]', "Gula pasir (kg)");
  await fill('input[name="item_qty_1"]', "2,5");
  await fill('input[name="item_price_1"]', "18.000");
  await click('//button[contains(normalize-space(), "Tambah barang")]');
  await fill('input[name="item_name_2"]', "Kulkas 2 pintu");
  await fill('input[name="item_qty_2"]', "1");
  // a price typed with a decimal comma and three decimals is ambiguous for Rupiah: refused at the field
  await fill('input[name="item_price_2"]', "1.500,555");
  await browser.keys("Tab");
  const err = await $('//tr[.//input[@name="item_price_2"]]//*[contains(@class,"field-error")]');
  await err.waitForDisplayed();
  assert.doesNotMatch(await err.getText(), /invalid args|preview_order|[A-Z][a-z]+ [a-z]+ is/);
  await noEnglish("new order (refused amount)");
  // typed without grouping, shown back grouped
  await fill('input[name="item_price_2"]', "1500000");
  await browser.keys("Tab");
  await browser.waitUntil(async () => (await (await $('input[name="item_price_2"]')).getValue()) === "1.500.000", {
    timeoutMsg: "1500000 was not shown back as 1.500.000",
  });
  await fill('input[name="order_discount"]', "10.000");
  await click('//label[.//input[@name="terms" and @value="installment"]]');
  await fill('input[name="down_payment"]', "300.000");
  // dates as Indonesian writes them, typed and shown (not the platform's mm/dd/yyyy)
  assert.match(await (await $('input[name="first_due_date"]')).getValue(), /^\d{2}\/\d{2}\/\d{4}$/);
  await fill('input[name="installment_count"]', "3");
  await browser.keys("Tab");
  await browser.waitUntil(async () => (await browser.$$('[data-testid="schedule-preview"] tbody tr')).length === 4, {
    timeoutMsg: "the live schedule preview never showed 4 lines",
  });
  // 2 × 75.000 − 5.000 + 2,5 × 18.000 + 1.500.000 − 10.000
  await browser.waitUntil(async () => rupiah(await text('[data-testid="preview-total"]')) === 1_680_000n, {
    timeoutMsg: "the total is not Rp 1.680.000",
  });
  assert.equal(await (await $('input[name="payment_amount"]')).getValue(), "300.000", "the down payment is suggested, grouped");
  // the total and the record button are in view without scrolling, on a 1024×768 screen
  await browser.execute(() => window.scrollTo(0, 0));
  assert.ok(await inView('[data-testid="order-total-bar"]'), "the order's total is in view");
  assert.ok(await inView('form[data-testid="new-order"] button[type="submit"]'), "the record button is in view");
  await noEnglish("new order");
  await shot("id-03-new-order");
  await click('form[data-testid="new-order"] button[type="submit"]');
  await (await $('[data-testid="order-detail"][data-status="pending"]')).waitForDisplayed();
  assert.equal(rupiah(await text('[data-testid="order-paid"]')), 300_000n);
  assert.equal(rupiah(await text('[data-testid="order-balance"]')), 1_380_000n);
  // the items as recorded: 2 × Rp 75.000, 2,5 × Rp 18.000, 1 × Rp 1.500.000
  const lines = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="order-items"] tbody tr')].map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent.trim())),
  );
  assert.deepEqual(
    lines.map((l) => l[1].replace(/\s+/g, " ")),
    ["2 × Rp 75.000", "2,5 × Rp 18.000", "1 × Rp 1.500.000"],
  );
  await noEnglish("order detail");
});

test("an installment typed with grouping is recorded, and the receipt adds up on its face", async () => {
  await fill('[data-testid="order-detail"] form input[name="amount"]', "460.000");
  await browser.keys("Enter");
  await browser.waitUntil(async () => rupiah(await text('[data-testid="order-paid"]')) === 760_000n, { timeoutMsg: "the payment of 460.000 was not recorded as Rp 460.000" });
  const statuses = await browser.$$('[data-testid="order-schedule"] tbody tr').map((r) => r.getAttribute("data-status"));
  assert.deepEqual(statuses, ["paid", "paid", "due", "due"]);
  await noEnglish("order detail after a payment");
  await shot("id-04-order-detail");

  const rows = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="receipt-lines"] tr')].map((r) => ({ kind: r.dataset.kind, cells: [...r.querySelectorAll("td")].map((c) => c.textContent.trim()) })),
  );
  const amount = (r) => rupiah(r.cells[r.cells.length - 1]);
  const of = (kind) => rows.filter((r) => r.kind === kind);
  const one = (kind) => (of(kind).length ? amount(of(kind)[0]) : 0n);
  for (const line of of("line")) {
    // "2 × Beras 5 kg @ Rp 75.000 Diskon baris −Rp 5.000"
    const m = /^([0-9.,]+) × .* @ (Rp\s[0-9.]+)(?:.*−(Rp\s[0-9.]+))?/.exec(line.cells[0]);
    assert.ok(m, `receipt line ${JSON.stringify(line.cells[0])}`);
    const [whole, frac = ""] = m[1].replaceAll(".", "").split(",");
    const scale = 10n ** BigInt(frac.length);
    const gross = (BigInt(whole + frac) * rupiah(m[2])) / scale;
    assert.equal(gross - (m[3] ? rupiah(m[3]) : 0n), amount(line), `line ${line.cells[0]}`);
  }
  const sum = (kind) => of(kind).reduce((s, r) => s + amount(r), 0n);
  assert.equal(sum("line"), one("subtotal"), "the lines add up to the subtotal");
  // the order discount is shown as a negative amount (−Rp 10.000): added on its face
  assert.ok(one("discount") < 0n, "the order discount is shown taken off");
  assert.equal(one("subtotal") + one("discount"), one("total"), "subtotal less the order discount is the total");
  assert.equal(one("total"), 1_680_000n);
  assert.equal(sum("payment"), one("paid"), "the payments add up to what is paid");
  assert.equal(one("total") - one("paid"), one("balance"), "total less paid is the balance");
  assert.match(rows.map((r) => r.cells.join(" ")).join("\n"), /Tunai/, "each payment names its method");
  assert.match(await browser.execute(() => document.querySelector(".receipt").textContent), /Ani/, "the receipt names who served");
});

test("a dialog keeps Tab inside it and gives focus back when it closes", async () => {
  const del = await $('button[name="delete"]');
  await del.click();
  const dialog = await $('[data-testid="approval-dialog"]');
  await dialog.waitForDisplayed();
  await noEnglish("delete dialog");
  await shot("id-05-approval-dialog");
  for (let i = 0; i < 12; i++) {
    await browser.keys("Tab");
    const inside = await browser.execute(() => !!document.activeElement?.closest('[data-testid="approval-dialog"]'));
    assert.ok(inside, `Tab ${i + 1} left the dialog`);
  }
  await browser.keys("Escape");
  await dialog.waitForDisplayed({ reverse: true });
  assert.equal(await browser.execute(() => document.activeElement?.getAttribute("name")), "delete", "focus is back on the button that opened the dialog");
});

test("the order list, dashboard, audit log, sync and settings fit the screen, all in Bahasa", async () => {
  await click('button[name="nav-orders"]');
  const row = await $('[data-testid="order-list"] tbody tr');
  await row.waitForDisplayed();
  await topBarFits();
  const heights = await browser.execute(() => {
    const cells = [...document.querySelectorAll('[data-testid="order-list"] tbody tr td')];
    const line = parseFloat(getComputedStyle(cells[0]).lineHeight) || 22;
    return { max: Math.max(...cells.map((c) => c.getBoundingClientRect().height)), line };
  });
  assert.ok(heights.max < heights.line * 2 + 12, `an order-list row wraps (${heights.max}px for ${heights.line}px lines)`);
  // dates dd/mm/yyyy
  const day = await browser.execute(() => document.querySelector('[data-testid="order-list"] tbody tr td:nth-child(2)').textContent);
  assert.match(day, /^\d{2}\/\d{2}\/\d{4}$/);
  await noEnglish("order list");
  await shot("id-06-order-list");

  await lock();
  await login("Ibu Sari", OWNER_PIN);
  await click('button[name="nav-dashboard"]');
  await (await $('[data-testid="dash-collected"]')).waitForDisplayed();
  await topBarFits();
  await noEnglish("dashboard");
  await shot("id-07-dashboard");

  await click('button[name="nav-audit"]');
  await browser.waitUntil(async () => (await browser.$$('[data-testid="audit-log"] tbody tr')).length > 3);
  await topBarFits();
  await noEnglish("audit log");
  await shot("id-08-audit-log");

  await click('button[name="nav-sync"]');
  // a service that does not answer: the error is in Bahasa too
  await fill('input[name="server_url"]', "http://127.0.0.1:9");
  await fill('input[name="pairing_code"]', "ABCD-EFGH");
  await click('button[name="pair"]');
  await (await $('[data-testid="pair-form"] .form-error, [data-testid="pair-form"] .field-error')).waitForDisplayed({ timeout: 30000 });
  await topBarFits();
  await noEnglish("sync (service unreachable)");
  await shot("id-09-sync");

  await click('button[name="nav-settings"]');
  await (await $('select[name="language"]')).waitForDisplayed();
  await topBarFits();
  await noEnglish("settings");
});
