// How long the office's orders screen takes to be usable, in headless Chromium (Debian's) on
// loopback, against a running service (OFFICE_URL) and its tenant's owner. Not a test: run by
// the office_list benchmark (scripts/bench-service.sh), figures into docs/benchmarks.md.
// Five runs, each in a fresh browser context (nothing cached):
//   page: from navigation to the sign-in form being usable;
//   orders: from the sign-in click to the first page of orders and their totals shown and the
//           search box usable.
// Also the office's JavaScript, gzipped (OFFICE_DIR/assets/*.js).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const base = process.env.OFFICE_URL;
const runs = Number(process.env.OFFICE_TIMING_RUNS ?? 5);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = [];
const orders = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
  const p = await context.newPage();
  let t = performance.now();
  await p.goto(base + "/");
  await p.getByRole("button", { name: "Sign in" }).waitFor();
  await p.getByLabel("Shop (tenant)").waitFor({ state: "visible" });
  page.push(performance.now() - t);
  await p.getByLabel("Shop (tenant)").fill(process.env.OFFICE_TENANT);
  await p.getByLabel("E-mail").fill(process.env.OFFICE_OWNER_EMAIL);
  await p.getByLabel("Password").fill(process.env.OFFICE_OWNER_PASSWORD);
  t = performance.now();
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.locator("tr[data-order]").first().waitFor();
  await p.getByTestId("orders-summary").waitFor();
  await p.getByRole("searchbox", { name: "Search" }).waitFor({ state: "visible" });
  orders.push(performance.now() - t);
  await context.close();
}
await browser.close();
const fmt = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
};
console.log(`office page to a usable sign-in form (${runs} cold runs): ${fmt(page)}`);
console.log(`sign-in click to the orders screen interactive (${runs} runs): ${fmt(orders)}`);
if (process.env.OFFICE_DIR) {
  const dir = join(process.env.OFFICE_DIR, "assets");
  let raw = 0;
  let gz = 0;
  for (const f of (await readdir(dir)).filter((f) => f.endsWith(".js"))) {
    const b = await readFile(join(dir, f));
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  console.log(`office JavaScript: ${(raw / 1024).toFixed(0)} KB, ${(gz / 1024).toFixed(0)} KB gzipped`);
}
