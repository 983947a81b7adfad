// End-to-end: the app as installed from its .deb (scripts/install-e2e.sh installs it with
// dpkg -i, points POS_APP_BINARY at /usr/bin/offline-order-pos, and removes it afterwards).
//
// The installed binary reaches the setup screen (its cold start is recorded); a second launch
// hands over to the running one and exits (single instance), which brings the window forward;
// logs land in the app's log directory; the owner sets the recovery passphrase at setup, picks
// a backup folder and backs up; then the disk is lost (the data folder removed) and the setup
// screen of the new install restores the backup with the passphrase: a wrong one is refused,
// the right one brings the shop back. Figures go to $E2E_ARTIFACTS/figures.json.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { $, APP, ARTIFACTS, click, fill, launch, shot, use, waitText } from "./lib.mjs";

const OWNER_PIN = "246810";
const PASSPHRASE = "kunci cadangan toko maju jaya";
const dataDir = join(process.env.HOME, ".local/share/id.offlineorderpos.desktop");
const backups = mkdtempSync(join(tmpdir(), "pos-backups-"));
const figures = {};
let browser;

after(async () => {
  writeFileSync(join(ARTIFACTS, "figures.json"), JSON.stringify(figures, null, 2));
  await browser?.deleteSession().catch(() => undefined);
  rmSync(backups, { recursive: true, force: true });
});

async function startToSetup(figure) {
  const { b, started } = await launch();
  browser = use(b);
  await (await $('form[aria-label="Set up this counter"]')).waitForDisplayed({ timeout: 30000 });
  figures[figure] = Number((process.hrtime.bigint() - started) / 1_000_000n);
}

test("the installed package starts and reaches the setup screen", async () => {
  assert.equal(APP, "/usr/bin/offline-order-pos");
  await startToSetup("installed_cold_start_to_setup_ms");
  await shot("installed-01-setup");
});

test("a second launch hands over to the running app and exits", async () => {
  const second = spawn(APP, [], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  second.stdout.on("data", (d) => (out += d));
  second.stderr.on("data", (d) => (out += d));
  // a second app that stays open (no hand-over) fails the test rather than hanging it
  const timer = setTimeout(() => second.kill("SIGKILL"), 20000);
  const [code, signal] = await once(second, "exit");
  clearTimeout(timer);
  assert.equal(signal, null, `the second launch did not exit by itself: ${out}`);
  assert.equal(code, 0, `the second launch ended with ${code}: ${out}`);
  // the running app heard it (and focused its window), and still answers
  const logs = join(dataDir, "logs");
  await browser.waitUntil(
    () => existsSync(logs) && readdirSync(logs).some((f) => readFileSync(join(logs, f), "utf8").includes("second launch: focusing the running window")),
    { timeout: 10000, timeoutMsg: `no hand-over in the log (${logs})` },
  );
  assert.equal(await browser.execute(() => document.visibilityState), "visible");
  await (await $('input[name="shop_name"]')).waitForDisplayed();
});

test("setup sets the recovery passphrase; the owner backs up to a folder", async () => {
  await fill('input[name="shop_name"]', "Toko Maju Jaya");
  await fill('input[name="owner_name"]', "Ibu Sari");
  await fill('input[name="owner_pin"]', OWNER_PIN);
  await fill('input[name="owner_pin2"]', OWNER_PIN);
  await fill('input[name="recovery_passphrase"]', "too short");
  await fill('input[name="recovery_passphrase2"]', "too short");
  await browser.keys("Enter");
  await waitText(".field.has-error", "12");
  await fill('input[name="recovery_passphrase"]', PASSPHRASE);
  await fill('input[name="recovery_passphrase2"]', PASSPHRASE);
  await browser.keys("Enter");
  await waitText('[data-testid="who"]', "Ibu Sari");
  // the top bar says backups are not set up until a folder is picked
  await waitText('[data-testid="backup-attention"]', "not set up");
  await click('button[name="backup-attention"]');
  await fill('input[name="backup_folder"]', backups);
  await click('button[name="save-folder"]');
  await click('button[name="backup-now"]');
  await waitText('[data-testid="backup-last"]', ".oopbak");
  await shot("installed-02-backups");
  const files = readdirSync(backups).filter((f) => f.endsWith(".oopbak"));
  assert.equal(files.length, 1, String(files));
});

test("after the disk is lost, the new install restores the backup with the passphrase", async () => {
  await browser.deleteSession();
  browser = undefined;
  rmSync(dataDir, { recursive: true, force: true });
  await startToSetup("installed_first_run_to_setup_ms");
  await click('button[name="restore-instead"]');
  const file = join(backups, readdirSync(backups).find((f) => f.endsWith(".oopbak")));
  await fill('input[name="backup_file"]', file);
  await fill('input[name="passphrase"]', "not the passphrase");
  await click('button[name="restore"]');
  await waitText('[data-testid="restore"] .field.has-error', "passphrase");
  await fill('input[name="passphrase"]', PASSPHRASE);
  await click('button[name="restore"]');
  await waitText('[data-testid="restore-done"]', "Toko Maju Jaya");
  await shot("installed-03-restored");
  // The restart (its button calls the app's own restart) is done here by the driver: the
  // restored store is swapped in as the app opens.
  await browser.deleteSession();
  const { b } = await launch();
  browser = use(b);
  await (await $('[data-testid="login-screen"]')).waitForDisplayed({ timeout: 30000 });
  await waitText('[data-testid="login-screen"]', "Ibu Sari");
});
