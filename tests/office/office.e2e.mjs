// The shop's office in a real browser: Debian's Chromium (headless) through playwright-core,
// against the real order-service (serving the built office) on real PostgreSQL, with a real
// desktop store that pairs with a code the office made. Run by scripts/office-e2e.sh.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const run = promisify(execFile);
const base = process.env.OFFICE_URL;
const artifacts = process.env.OFFICE_E2E_ARTIFACTS;
const tenant = process.env.OFFICE_TENANT;
const ownerEmail = process.env.OFFICE_OWNER_EMAIL;
const ownerPassword = process.env.OFFICE_OWNER_PASSWORD;

let browser;
let page;
const requested = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  page = await context.newPage();
  page.on("request", (r) => requested.push(r.url()));
  page.on("pageerror", (e) => assert.fail(`the page threw: ${e.message}`));
});

after(async () => {
  await browser?.close();
});

// what the page showed at the end of each test (the evidence when one fails)
afterEach(async (t) => {
  const name = t.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  await page?.screenshot({ path: join(artifacts, `end-of-${name}.png`), fullPage: true }).catch(() => undefined);
});

// from the top, so the sticky navigation bar is drawn where it belongs in a full-page image
const shot = async (name) => {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
};

async function signIn(email, password) {
  await page.goto(base + "/");
  await page.getByLabel("Shop (tenant)").fill(tenant);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A call to the API as a script would make it (to set up what the test then sees). */
async function api(method, path, token, body) {
  const r = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

test("the office page is served with a strict Content-Security-Policy and no inline script", async () => {
  const r = await page.goto(base + "/");
  const h = r.headers();
  assert.match(h["content-security-policy"], /script-src 'self'/);
  assert.doesNotMatch(h["content-security-policy"], /unsafe-inline|unsafe-eval/);
  assert.equal(h["x-frame-options"], "DENY");
  assert.equal(h["x-content-type-options"], "nosniff");
  const html = await r.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "an inline script");
});

test("a wrong password is refused plainly", async () => {
  await signIn(ownerEmail, "not the password");
  await page.getByText("The shop, e-mail or password is not right.").waitFor();
});

test("the owner makes a pairing code, a desktop counter pairs with it and its orders appear", async () => {
  await signIn(ownerEmail, ownerPassword);
  await page.getByTestId("who").getByText("Ibu Sari").waitFor();
  await page.getByRole("button", { name: "Counters", exact: true }).click();
  await page.getByText("No counter is paired yet", { exact: false }).waitFor();
  await page.getByRole("button", { name: "Make a pairing code" }).click();
  const code = (await page.getByTestId("pairing-code-value").textContent()).trim();
  assert.match(code, /^[A-Z0-9-]{8,}$/);
  assert.equal(await page.getByTestId("pairing-server").textContent(), base);
  assert.ok(await page.getByTestId("pairing-qr").locator("path").getAttribute("d"));
  assert.match(await page.getByTestId("pairing-expiry").textContent(), /^Works once, for \d+:\d\d more\.$/);
  await shot("counters-pairing-code");

  // a real desktop store pairs with the code shown and syncs four orders
  const dir = await mkdtemp(join(tmpdir(), "office-counter-"));
  const { stdout } = await run(process.env.POS_PAIRED_COUNTER, [base, code, dir, "K01", "4"]);
  const counter = JSON.parse(stdout.trim().split("\n").pop());
  assert.equal(counter.complete, true);
  assert.equal(counter.order_numbers.length, 4);

  // the counters screen shows it, with its last push
  await page.getByRole("button", { name: "Orders", exact: true }).click();
  await page.getByRole("button", { name: "Counters", exact: true }).click();
  const row = page.locator('tr[data-counter="K01"]');
  await row.waitFor();
  assert.match(await row.textContent(), /8 changes/);
  // the code worked once: a second counter cannot use it
  const again = await api("POST", "/devices/pair", null, { code, name: "K02", device_code: "K02", currency: "IDR", staff: [] });
  assert.equal(again.status, 404, `a used code paired again: ${JSON.stringify(again.body)}`);

  // its orders, with those of every other counter
  await page.getByRole("button", { name: "Orders", exact: true }).click();
  for (const n of counter.order_numbers) await page.locator(`tr[data-order="${n}"]`).waitFor();
  assert.match(await page.getByTestId("orders-summary").textContent(), /^4 orders · total IDR\s?2,550,000 · paid IDR\s?550,000 · balance IDR\s?2,000,000$/);
  await shot("orders");

  // filtered by channel: the two phone orders
  await page.getByRole("combobox", { name: "Channel" }).selectOption("phone");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByTestId("orders-summary").getByText(/^2 orders/).waitFor();

  // a search by the customer's phone number, written another way than it was recorded
  await page.getByRole("combobox", { name: "Channel" }).selectOption("");
  await page.getByRole("searchbox", { name: "Search" }).fill("0812-0001-0003");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByTestId("orders-summary").getByText(/^1 orders/).waitFor();
  await page.locator(`tr[data-order="${counter.order_numbers[3]}"]`).waitFor();

  // its detail: a payment recorded at the office moves the counter's schedule
  await page.locator(`tr[data-order="${counter.order_numbers[3]}"]`).getByRole("button").click();
  await page.getByRole("heading", { name: `Order ${counter.order_numbers[3]}` }).waitFor();
  const statuses = () => page.getByTestId("office-schedule").locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.status));
  assert.deepEqual(await statuses(), ["paid", "due", "due"]);
  await page.getByLabel("Amount").fill("500000");
  await page.getByRole("button", { name: "Record" }).click();
  await page.getByTestId("order-balance").getByText(/^IDR\s?500,000$/).waitFor();
  assert.deepEqual(await statuses(), ["paid", "paid", "due"]);
  assert.equal(await page.getByTestId("office-payments").locator("tbody tr").count(), 2);
  await shot("order-detail");
  await page.getByRole("button", { name: "Back" }).click();
});

test("the owner verifies every audit chain: the counter's and the service's own", async () => {
  await page.getByRole("button", { name: "Audit", exact: true }).click();
  await page.getByTestId("audit-events").locator("tbody tr").first().waitFor();
  await page.getByRole("button", { name: "Verify chain" }).click();
  const verdict = page.getByTestId("audit-verdict");
  await verdict.getByText(/^Every chain verifies: \d+ chains\.$/).waitFor();
  assert.match(await verdict.textContent(), /K01: \d+ events, no break/);
  assert.match(await verdict.textContent(), /the service: \d+ events, no break/);
  // only the counter's chain
  await page.getByRole("combobox", { name: "Chain" }).selectOption({ label: "K01" });
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator('tr[data-operation="order.create"]').first().waitFor();
  await shot("audit");
  await page.getByRole("button", { name: "Orders", exact: true }).click();
});

test("the owner adds a cashier and a manager, and resets the manager's PIN", async () => {
  await page.getByRole("button", { name: "Staff", exact: true }).click();
  const form = page.getByTestId("add-staff");
  for (const [name, email, role, password, pin] of [
    ["Kasir Dewi", "dewi@tokomaju.id", "cashier", "kasir dewi password", "1111"],
    ["Pak Manajer Budi", "budi@tokomaju.id", "manager", "manajer budi password", "2222"],
  ]) {
    await form.getByLabel("Name").fill(name);
    await form.getByLabel("E-mail (sign-in)").fill(email);
    await form.getByLabel("Role").selectOption(role);
    await form.getByLabel("Password (at least 10 characters)").fill(password);
    await form.getByLabel("PIN (4–8 digits)").fill(pin);
    await form.getByRole("button", { name: "Add staff member" }).click();
    await page.getByRole("status").getByText(`Added ${name}`).waitFor();
    await page.locator(`tr[data-staff="${email}"]`).waitFor();
  }
  const rows = await page.getByTestId("staff").locator("tbody tr").count();
  // a taken e-mail is refused at its field and nothing is added
  await form.getByLabel("Name").fill("Dewi lagi");
  await form.getByLabel("E-mail (sign-in)").fill("dewi@tokomaju.id");
  await form.getByLabel("Password (at least 10 characters)").fill("another password");
  await form.getByRole("button", { name: "Add staff member" }).click();
  await page.getByText("A user with this e-mail exists").waitFor();
  assert.equal(await page.getByTestId("staff").locator("tbody tr").count(), rows);
  const budi = page.locator('tr[data-staff="budi@tokomaju.id"]');
  await budi.getByRole("button", { name: "Reset PIN" }).click();
  await page.getByTestId("reset-dialog").getByLabel("New PIN (4–8 digits)").fill("3333");
  await page.getByTestId("reset-dialog").getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").getByText("Pak Manajer Budi's PIN was reset", { exact: false }).waitFor();
  await shot("staff");
});

test("an edit made on a version someone else changed shows both versions and saves again", async () => {
  const owner = await api("POST", "/auth/login", null, { tenant, email: ownerEmail, password: ownerPassword });
  await page.getByRole("button", { name: "Orders", exact: true }).click();
  const first = page.locator("tr[data-order]").first();
  const number = await first.getAttribute("data-order");
  await first.getByRole("button").click();
  await page.getByRole("heading", { name: `Order ${number}` }).waitFor();
  assert.match(await page.getByTestId("order-origin").textContent(), /^Recorded on counter K01 by .+; reached the service .+\.$/);
  const found = await api("POST", "/offline-orders/search", owner.body.access_token, { q: number });
  const order = found.body.items[0];
  // the form opens on the version shown ...
  await page.getByRole("button", { name: "Edit" }).click();
  const dialog = page.getByTestId("edit-dialog");
  await dialog.getByLabel("Customer name").fill("Pelanggan Diubah Kantor");
  // ... while someone else changes the order
  const other = await fetch(`${base}/api/v1/offline-orders/${order.id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Bearer ${owner.body.access_token}`, "if-match": `"${order.version}"` },
    body: JSON.stringify({ notes: "diubah di tempat lain" }),
  });
  assert.equal(other.status, 200);
  await dialog.getByRole("button", { name: "Save" }).click();
  const conflict = page.getByTestId("edit-conflict");
  await conflict.waitFor();
  assert.match(await page.getByTestId("conflict-mine").textContent(), /Pelanggan Diubah Kantor/);
  assert.match(await page.getByTestId("conflict-theirs").textContent(), /diubah di tempat lain/);
  await shot("order-edit-conflict");
  await conflict.getByRole("button", { name: "Save mine over it" }).click();
  await page.getByTestId("edit-conflict").waitFor({ state: "detached" });
  await page.getByTestId("office-order").getByText("Pelanggan Diubah Kantor").first().waitFor();
  const after = await api("GET", `/offline-orders/${order.id}`, owner.body.access_token);
  assert.equal(after.body.customer.name, "Pelanggan Diubah Kantor");
  assert.equal(after.body.version, order.version + 2);
  // the order's own trail shows both edits
  assert.equal(await page.getByTestId("order-trail").locator('tr[data-operation="order.update"]').count(), 2);
  await page.getByRole("button", { name: "Back" }).click();
});

/** The CSV the page downloads when `button` is clicked: its header and rows. */
async function csvOf(button) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: button }).click()]);
  const text = await readFile(await download.path(), "utf8");
  const [head, ...rows] = text.trim().split("\n").map((l) => l.split(","));
  return { text, name: download.suggestedFilename(), col: (c) => rows.map((r) => r[head.indexOf(c)]), rows };
}

test("the owner filters by counter and exports the orders and their payments as CSV: rows and sums as the totals", async () => {
  await page.getByRole("button", { name: "Orders", exact: true }).click();
  await page.getByRole("combobox", { name: "Counter" }).selectOption({ label: "K01" });
  await page.getByRole("button", { name: "Search" }).click();
  const summary = page.getByTestId("orders-summary");
  await summary.getByText(/^4 orders · total IDR\s?2,550,000 · paid IDR\s?1,050,000 ·/).waitFor();
  const orders = await csvOf("Export orders (CSV)");
  assert.match(orders.name, /^orders-\d{4}-\d\d-\d\d\.csv$/);
  assert.equal(orders.rows.length, 4);
  const sum = (values) => values.reduce((a, v) => a + BigInt(v), 0n);
  assert.equal(sum(orders.col("total")), 2550000n);
  assert.equal(sum(orders.col("paid")), 1050000n);
  assert.doesNotMatch(orders.text, /Pelanggan|0812|customer_name/, "customer data without asking for it");
  const payments = await csvOf("Export payments (CSV)");
  assert.equal(sum(payments.col("amount")), 1050000n);
  await page.getByLabel("With customer data").check();
  const withCustomers = await csvOf("Export orders (CSV)");
  assert.match(withCustomers.text, /customer_name/);
  assert.match(withCustomers.text, /Pelanggan/);
  await page.getByLabel("With customer data").uncheck();
  // overdue only: nothing is overdue on the day the orders were taken
  await page.getByLabel("Overdue only").check();
  await page.getByRole("button", { name: "Search" }).click();
  await summary.getByText(/^0 orders/).waitFor();
  await page.getByLabel("Overdue only").uncheck();
  await page.getByRole("combobox", { name: "Counter" }).selectOption("");
  await page.getByRole("button", { name: "Search" }).click();
  await summary.getByText(/^4 orders/).waitFor();
});

test("the owner reads the analytics with charts, and names the shop and its receipt header", async () => {
  await page.getByRole("button", { name: "Analytics", exact: true }).click();
  await page.getByTestId("analytics-orders").getByText("4").waitFor();
  assert.match(await page.getByTestId("analytics-collected").textContent(), /IDR\s?1,050,000/);
  assert.ok((await page.getByTestId("chart-per-day").locator("svg").count()) > 0, "a chart per day");
  await page.locator('[data-testid="analytics-counters"] tr[data-counter="K01"]').waitFor();
  await shot("analytics");
  await page.getByRole("button", { name: "Shop settings", exact: true }).click();
  const form = page.getByTestId("shop-settings");
  await form.getByLabel("The shop's name").fill("Toko Maju Jaya Bandung");
  await form.getByLabel("Receipt header (up to 6 lines)").fill("Jl. Merdeka 1, Bandung\nNPWP 01.234.567.8-901.000");
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").getByText("The shop's settings are saved.").waitFor();
  await page.locator(".topbar .shop").getByText("Toko Maju Jaya Bandung").waitFor();
  await shot("settings");
});

test("a phone order taken at the office, with the counter's live schedule preview", async () => {
  await page.getByRole("button", { name: "New order", exact: true }).click();
  const form = page.getByTestId("new-order");
  await form.locator('input[name="channel"][value="phone"]').check();
  await form.getByLabel("Customer name").fill("Pelanggan Kantor");
  await form.getByRole("textbox", { name: "Phone" }).fill("0812-0009-0001");
  await form.locator('input[name="item_name_0"]').fill("Lemari");
  await form.locator('input[name="item_price_0"]').fill("900000");
  await form.locator('input[name="terms"][value="installment"]').check();
  await form.locator('input[name="down_payment"]').fill("300000");
  // the preview, from the service (the same rule as the counter's)
  await page.getByTestId("preview-total").getByText(/^IDR\s?900,000$/).waitFor();
  await page.getByTestId("schedule-preview").locator("tbody tr").nth(3).waitFor();
  assert.equal(await page.getByTestId("schedule-preview").locator("tbody tr").count(), 4);
  await shot("new-order");
  await form.getByRole("button", { name: "Record order" }).click();
  await page.getByRole("heading", { name: /^Order API-\d{8}-\d{4}$/ }).waitFor();
  assert.match(await page.getByTestId("order-origin").textContent(), /^Recorded at the office by Ibu Sari\.$/);
  assert.match(await page.getByTestId("order-paid").textContent(), /^IDR\s?300,000$/);
  await page.getByRole("button", { name: "Back" }).click();
});

test("in Bahasa Indonesia, every word on the orders screen is Indonesian", async () => {
  await page.getByRole("button", { name: "Orders", exact: true }).click();
  await page.getByRole("combobox", { name: "Language" }).selectOption("id");
  await page.getByRole("heading", { name: "Pesanan dari semua perangkat kasir" }).waitFor();
  assert.match(await page.getByTestId("orders-summary").textContent(), /pesanan · total Rp\s?[\d.]+ · dibayar Rp/);
  await shot("orders-id");
  await page.getByRole("combobox", { name: "Bahasa" }).selectOption("en");
});

test("a cashier signs in to the orders only: no counters, staff or audit screen, and the API refuses them too", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn("dewi@tokomaju.id", "kasir dewi password");
  await page.getByTestId("who").getByText("Kasir Dewi").waitFor();
  assert.equal(await page.getByRole("button", { name: "Counters", exact: true }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Audit", exact: true }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Staff", exact: true }).count(), 0);
  const cashier = await api("POST", "/auth/login", null, { tenant, email: "dewi@tokomaju.id", password: "kasir dewi password" });
  assert.equal((await api("GET", "/devices", cashier.body.access_token)).status, 403);
  assert.equal((await api("GET", "/audit-events", cashier.body.access_token)).status, 403);
  assert.equal((await api("GET", "/users", cashier.body.access_token)).status, 403);
});

test("a manager deletes an order that holds money: refunded first, then deleted, with the reason", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn("budi@tokomaju.id", "manajer budi password");
  await page.getByTestId("who").getByText("Pak Manajer Budi").waitFor();
  const manager = await api("POST", "/auth/login", null, { tenant, email: "budi@tokomaju.id", password: "manajer budi password" });
  const all = await api("POST", "/offline-orders/search", manager.body.access_token, {});
  const holding = all.body.items.find((o) => o.status !== "deleted" && o.paid !== "0");
  assert.ok(holding, "an order that holds money");
  const number = holding.order_number;
  await page.locator(`tr[data-order="${number}"]`).getByRole("button").click();
  await page.getByRole("heading", { name: `Order ${number}` }).waitFor();
  await page.getByRole("button", { name: "Delete order" }).click();
  const dialog = page.getByTestId("delete-dialog");
  await dialog.getByTestId("refund-notice").waitFor();
  await dialog.getByLabel("Reason").fill("pelanggan batal");
  await dialog.getByRole("button", { name: "Refund and delete" }).click();
  await page.getByTestId("office-order").locator('.badge[data-status="deleted"]').waitFor();
  assert.match(await page.getByTestId("order-paid").textContent(), /^IDR\s?0$/);
  assert.equal(await page.getByRole("button", { name: "Delete order" }).count(), 0);
  const ops = await page.getByTestId("order-trail").locator("tr").evaluateAll((rows) => rows.map((r) => r.dataset.operation));
  assert.ok(ops.includes("order.delete"), ops.join(","));
  await shot("order-deleted");
  await page.getByRole("button", { name: "Back" }).click();
});

test("no customer data travels in a URL or reaches the service's log", async () => {
  const pii = ["Pelanggan", "0812", "tokomaju.id", "password"];
  for (const url of requested) for (const word of pii) assert.ok(!url.includes(word), `${word} in ${url}`);
  const log = await readFile(process.env.OFFICE_SERVICE_LOG, "utf8");
  for (const word of pii) assert.ok(!log.includes(word), `${word} in the service's log`);
  // nothing is kept in the browser's storage
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
});
