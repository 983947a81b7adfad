/// <reference types="node" />
// Every refusal the Rust side can show a cashier has its Indonesian text, naming the same
// figures: the codes are read from the Rust sources (the counter's core, the shared rules, the
// Tauri shell, and the service's answers that reach a counter: sync rejections and pairing).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { idErrors } from "./id";

// vitest runs in ui/
const root = join(process.cwd(), "..");
function rustFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return path.endsWith(".rs") ? [path] : [];
  });
}

const counterSide = ["crates/pos-domain/src", "crates/pos-core/src", "src-tauri/src"].flatMap((d) => rustFiles(join(root, d)));
const serviceToCounter = [...rustFiles(join(root, "crates/order-service/src/http/sync")), join(root, "crates/order-service/src/http/devices.rs")];

/** code → the params its errors name (`.with("max", …)`). */
function codes(): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const add = (code: string, params: string[] = []) => {
    const set = found.get(code) ?? new Set<string>();
    params.forEach((p) => set.add(p));
    found.set(code, set);
  };
  for (const file of counterSide) {
    const src = readFileSync(file, "utf8").replace(/#\[cfg\(test\)\][\s\S]*$/, "");
    // ValidationError::new(field, "code", message)[.with("name", value)]*
    for (const m of src.matchAll(/ValidationError::new\(\s*[^;]*?,\s*"([a-z_]+)",[\s\S]*?\)((?:\s*\.with\(\s*"[a-z_]+",[^)]*\))*)/g)) {
      add(m[1]!, [...(m[2] ?? "").matchAll(/\.with\(\s*"([a-z_]+)"/g)].map((w) => w[1]!));
    }
    // StoreError::Conflict { code: "…" } and the like
    for (const m of src.matchAll(/\bcode: "([a-z_]+)"/g)) add(m[1]!);
    // the code() / rule_code() tables of the error enums
    for (const body of src.matchAll(/fn (?:rule_)?code\(&?self\)[^{]*\{([\s\S]*?)\n {4}\}/g)) {
      for (const m of body[1]!.matchAll(/=> "([a-z][a-z_]+)",/g)) add(m[1]!);
    }
  }
  for (const file of serviceToCounter) {
    const src = readFileSync(file, "utf8").replace(/#\[cfg\(test\)\][\s\S]*$/, "");
    for (const m of src.matchAll(/rejected\(\s*"([a-z_]+)"/g)) add(m[1]!);
    for (const m of src.matchAll(/\bcode: "([a-z_]+)"/g)) add(m[1]!);
  }
  return found;
}

describe("Indonesian error texts", () => {
  const all = codes();

  it("finds the codes (the scan itself works)", () => {
    for (const c of ["overpayment", "wrong_pin", "too_long", "order_has_payments", "invalid_items", "offline"]) expect(all.has(c), c).toBe(true);
  });

  it("has a text for every code the Rust side can show", () => {
    expect([...all.keys()].filter((c) => !(c in idErrors)).sort()).toEqual([]);
  });

  it("names every figure the English message names", () => {
    const dropped = [...all.entries()].flatMap(([code, params]) =>
      [...params].filter((p) => idErrors[code] !== undefined && !idErrors[code]!.includes(`{${p}}`)).map((p) => `${code}.${p}`),
    );
    expect(dropped).toEqual([]);
  });
});
