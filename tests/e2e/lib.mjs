// Helpers shared by the end-to-end suites: the app session through tauri-driver, form filling
// and screenshots. `use(browser)` names the session the helpers act on (a suite relaunches the
// app to test a restart).

import { join } from "node:path";
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";
import { remote } from "webdriverio";

export const APP = process.env.POS_APP_BINARY;
export const ARTIFACTS = process.env.E2E_ARTIFACTS ?? "artifacts";
assert.ok(APP, "POS_APP_BINARY must name the built app binary");
mkdirSync(join(ARTIFACTS, "screenshots"), { recursive: true });

let current;
/** Makes `b` the session the helpers below drive. */
export function use(b) {
  current = b;
  return b;
}

export async function launch() {
  const started = process.hrtime.bigint();
  const b = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    connectionRetryCount: 0,
    capabilities: { "tauri:options": { application: APP } },
  });
  return { b, started };
}

export async function shot(name) {
  // E2E_NO_SCREENSHOTS=1: to measure memory without the driver's snapshots in the app process
  if (process.env.E2E_NO_SCREENSHOTS) return;
  await current.saveScreenshot(join(ARTIFACTS, "screenshots", `${name}.png`));
}

export const $ = (sel) => current.$(sel);
export async function fill(sel, value) {
  const el = await $(sel);
  await el.waitForDisplayed();
  await el.clearValue();
  await el.setValue(value);
  // A controlled input can re-render its old value between the clear and the typing (React
  // sees no change event for the clear), leaving e.g. "33" for "3": check what it holds, and
  // clear and type again until it holds exactly the value.
  await current.waitUntil(
    async () => {
      if ((await el.getValue()) === String(value)) return true;
      await el.clearValue();
      await el.setValue(value);
      return false;
    },
    { timeout: 10000, interval: 100, timeoutMsg: `${sel} does not take ${JSON.stringify(value)}` },
  );
}
export async function click(sel) {
  const el = await $(sel);
  await el.waitForClickable();
  await el.click();
}
export async function text(sel) {
  const el = await $(sel);
  await el.waitForDisplayed();
  return el.getText();
}
let failures = 0;
export async function waitText(sel, wanted) {
  let seen;
  try {
    await current.waitUntil(async () => (seen = await (await $(sel)).getText()).includes(wanted), {
      timeoutMsg: `${sel} never showed ${JSON.stringify(wanted)}`,
    });
  } catch (e) {
    await current.saveScreenshot(join(ARTIFACTS, "screenshots", `failed-${++failures}.png`)).catch(() => undefined);
    throw new Error(`${e.message} (it showed ${JSON.stringify(seen)}; see failed-${failures}.png)`);
  }
}
export async function login(name, pin) {
  await (await $('[data-testid="login-screen"]')).waitForDisplayed();
  await click(`//label[contains(@class,"staff-choice")][.//span[normalize-space()="${name}"]]`);
  await fill('input[name="pin"]', pin);
  await current.keys("Enter");
  await waitText('[data-testid="who"]', name);
}
export async function lock() {
  await click('button[name="lock"]');
  await (await $('[data-testid="login-screen"]')).waitForDisplayed();
}


// The UI's message catalogues, read from ui/src/i18n with the UI's own TypeScript compiler.
async function catalogue(file) {
  const ts = (await import("../../ui/node_modules/typescript/lib/typescript.js")).default;
  const { readFileSync } = await import("node:fs");
  const src = readFileSync(new URL(`../../ui/src/i18n/${file}`, import.meta.url), "utf8");
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  return import(`data:text/javascript;base64,${Buffer.from(js).toString("base64")}`);
}

let englishFragments;
/** Pieces of English the Indonesian screens must not show: each English message's text between
 *  its placeholders, where Bahasa words it differently (5 letters or more, so "Total" or "SKU",
 *  the same in both, do not count), and English words a message from the Rust side would carry. */
async function fragments() {
  if (englishFragments) return englishFragments;
  const { en } = await catalogue("en.ts");
  const { id, idErrors } = await catalogue("id.ts");
  const indonesian = [...Object.values(id), ...Object.values(idErrors)].join("\n").toLowerCase();
  const pieces = new Set();
  for (const [key, value] of Object.entries(en)) {
    if (value === id[key]) continue;
    for (const piece of value.split(/\{\w+\}/)) {
      const p = piece.trim().replace(/^[^\p{L}]+|[^\p{L}]+$/gu, "");
      if (p.replace(/[^\p{L}]/gu, "").length >= 5 && !indonesian.includes(p.toLowerCase())) pieces.add(p);
    }
  }
  englishFragments = [...pieces];
  return englishFragments;
}
const ENGLISH_WORDS = /\b(the|and|is|are|must|cannot|could|with|this|your|not|order|orders|payment|payments|paid|due|owner|manager|cashier|staff|save|cancel|search|wrong|required|service|counter|reached|queued|nothing|please|try|again|failed|unexpected)\b/gi;

/** The English the current screen shows (its visible text and its controls' values, labels and
 *  placeholders), as a list of findings; empty when there is none. */
export async function englishOn() {
  const texts = await current.execute(() => {
    const out = [document.body.innerText];
    for (const el of document.querySelectorAll("input, textarea, select, button, [aria-label], [title], [placeholder]")) {
      for (const a of ["aria-label", "title", "placeholder"]) if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
    return out.join("\n");
  });
  const found = new Set();
  const lower = texts.toLowerCase();
  for (const f of await fragments()) if (lower.includes(f.toLowerCase())) found.add(f);
  for (const m of texts.matchAll(ENGLISH_WORDS)) found.add(m[0]);
  return [...found];
}
