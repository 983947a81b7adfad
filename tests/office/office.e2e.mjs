// The shop's office in a real browser: Debian's Chromium (headless) through playwright-core,
// against the real order-service (serving the built office) on real PostgreSQL, with a real
// desktop store that pairs with a code the office made. Run by scripts/office-e2e.sh.
import { after, before, test } from "node:test";
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

const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

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
  await page.getByRole("button", { name: "Counters" }).click();
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
  await page.getByRole("button", { name: "Orders" }).click();
  await page.getByRole("button", { name: "Counters" }).click();
  const row = page.locator('tr[data-counter="K01"]');
  await row.waitFor();
  assert.match(await row.textContent(), /8 changes/);
  // the code worked once: a second counter cannot use it
  const again = await api("POST", "/devices/pair", null, { code, name: "K02", device_code: "K02", currency: "IDR", staff: [] });
  assert.equal(again.status, 404, `a used code paired again: ${JSON.stringify(again.body)}`);

  // its orders, with those of every other counter
  await page.getByRole("button", { name: "Orders" }).click();
  for (const n of counter.order_numbers) await page.locator(`tr[data-order="${n}"]`).waitFor();
  assert.match(await page.getByTestId("orders-summary").textContent(), /^4 shown · total IDR\s?2,550,000 · paid IDR\s?550,000$/);
  await shot("orders");

  // filtered by channel: the two phone orders
  await page.getByRole("combobox", { name: "Channel" }).selectOption("phone");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByTestId("orders-summary").getByText(/^2 shown/).waitFor();

  // a search by the customer's phone number, written another way than it was recorded
  await page.getByRole("combobox", { name: "Channel" }).selectOption("");
  await page.getByRole("searchbox", { name: "Search" }).fill("0812-0001-0003");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByTestId("orders-summary").getByText(/^1 shown/).waitFor();
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
  await page.getByRole("button", { name: "Audit" }).click();
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
  await page.getByRole("button", { name: "Orders" }).click();
});

test("in Bahasa Indonesia, every word on the orders screen is Indonesian", async () => {
  await page.getByRole("combobox", { name: "Language" }).selectOption("id");
  await page.getByRole("heading", { name: "Pesanan dari semua perangkat kasir" }).waitFor();
  assert.match(await page.getByTestId("orders-summary").textContent(), /ditampilkan · total Rp\s?[\d.]+ · dibayar Rp/);
  await shot("orders-id");
  await page.getByRole("combobox", { name: "Bahasa" }).selectOption("en");
});

test("a cashier signs in to the orders only: no counters screen, and the API refuses it too", async () => {
  const owner = await api("POST", "/auth/login", null, { tenant, email: ownerEmail, password: ownerPassword });
  assert.equal(owner.status, 200);
  const made = await api("POST", "/users", owner.body.access_token, {
    name: "Kasir Dewi", email: "dewi@tokomaju.id", role: "cashier", password: "kasir dewi password",
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn("dewi@tokomaju.id", "kasir dewi password");
  await page.getByTestId("who").getByText("Kasir Dewi").waitFor();
  assert.equal(await page.getByRole("button", { name: "Counters" }).count(), 0);
  assert.equal(await page.getByRole("button", { name: "Audit" }).count(), 0);
  const cashier = await api("POST", "/auth/login", null, { tenant, email: "dewi@tokomaju.id", password: "kasir dewi password" });
  assert.equal((await api("GET", "/devices", cashier.body.access_token)).status, 403);
  assert.equal((await api("GET", "/audit-events", cashier.body.access_token)).status, 403);
});

test("no customer data travels in a URL or reaches the service's log", async () => {
  const pii = ["Pelanggan", "0812", "tokomaju.id", "password"];
  for (const url of requested) for (const word of pii) assert.ok(!url.includes(word), `${word} in ${url}`);
  const log = await readFile(process.env.OFFICE_SERVICE_LOG, "utf8");
  for (const word of pii) assert.ok(!log.includes(word), `${word} in the service's log`);
  // nothing is kept in the browser's storage
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
});
