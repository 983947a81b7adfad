import { describe, expect, it } from "vitest";
import { BackendError } from "../backend";
import { en } from "./en";
import { id } from "./id";
import { makeI18n } from "./index";

describe("i18n", () => {
  it("formats Rupiah without decimals and dollars with cents, per locale", () => {
    const minor = { IDR: 0, USD: 2 };
    expect(makeI18n("id", minor).money("1500000", "IDR").replace(/\s/g, " ")).toBe("Rp 1.500.000");
    expect(makeI18n("en", minor).money("1500000", "IDR")).toMatch(/^IDR\s1,500,000$/);
    expect(makeI18n("en", minor).money("12.5", "USD")).toBe("$12.50");
  });

  it("translates every English string into Bahasa Indonesia", () => {
    const same = Object.keys(en).filter((k) => k !== "app.title" && !k.startsWith("order.customerEmail") && en[k as keyof typeof en] === id[k as keyof typeof id]);
    // A few words are the same in both languages; anything else left in English is a miss.
    expect(same.filter((k) => !["common.all", "list.status", "login.pin", "order.subtotal", "order.total", "detail.title", "audit.field.total", "audit.field.status"].includes(k))).toEqual([]);
  });

  it("shows numbers, quantities and percentages the way the language writes them, exactly", () => {
    const idn = makeI18n("id", { IDR: 0 });
    expect(idn.num("0.5")).toBe("0,5");
    expect(idn.num("1500000")).toBe("1.500.000");
    expect(idn.percent("50.0")).toMatch(/^50,0\s?%$/);
    expect(makeI18n("en").percent("50.0")).toBe("50.0%");
    // beyond what a JavaScript Number holds exactly
    expect(makeI18n("en", { IDR: 0 }).money("9007199254740993", "IDR")).toMatch(/9,007,199,254,740,993$/);
  });

  it("writes dates dd/mm/yyyy in Indonesian", () => {
    expect(makeI18n("id").date("2026-11-05")).toBe("05/11/2026");
  });

  it("keeps every message's parameters in both languages", () => {
    const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const dropped = Object.keys(en).filter((k) => {
      const key = k as keyof typeof en;
      return params(en[key]).join() !== params(id[key]).join();
    });
    expect(dropped).toEqual([]);
  });

  it("shows the core's message in English and a translation by code in Indonesian", () => {
    const e = new BackendError({ code: "overpayment", message: "A payment of 5 is more than the outstanding balance of 4", field: "amount" });
    expect(makeI18n("en").error(e)).toBe(e.message);
    expect(makeI18n("id").error(new BackendError({ code: "forbidden", message: "Only an owner", field: null }))).toBe("Anda tidak berwenang melakukan ini.");
  });

  it("keeps the details the core's message gives in Indonesian too", () => {
    const id = makeI18n("id");
    const pay = new BackendError({ code: "overpayment", message: "A payment of 5000000 is more than the outstanding balance of 1200000", field: "amount", params: { amount: "5000000", balance: "1200000" } });
    expect(id.error(pay)).toBe("Pembayaran 5.000.000 melebihi sisa tagihan 1.200.000.");
    const pin = new BackendError({ code: "wrong_pin", message: "Wrong PIN (3 attempts left before a lockout)", field: "pin", params: { attempts_left: "3" } });
    expect(id.error(pin)).toBe("PIN salah (3 percobaan lagi sebelum dikunci).");
    const locked = new BackendError({ code: "locked_out", message: "…", field: "pin", params: { until: "2026-11-25T10:15:00Z" } });
    expect(id.error(locked)).toMatch(/dikunci sampai \S+/);
    expect(id.error(locked)).not.toContain("{until}");
  });

  it("never falls back to English in Indonesian: the figures of a rule's refusal, and a code it does not know", () => {
    const id = makeI18n("id");
    const below = new BackendError({ code: "total_below_paid", message: "The new total 100000 is less than the 250000 already paid", field: "items", params: { total: "100000", paid: "250000" } });
    expect(id.error(below)).toBe("Total baru 100.000 lebih kecil dari 250.000 yang sudah dibayar.");
    const long = new BackendError({ code: "too_long", message: "Notes are longer than 1000 characters", field: "notes", params: { max: "1000" } });
    expect(id.error(long)).toBe("Terlalu panjang: paling banyak 1000 karakter.");
    const unknown = new BackendError({ code: "some_new_rule", message: "A rule of a newer service", field: null });
    expect(id.error(unknown)).toBe("Ini ditolak (kode some_new_rule).");
    expect(makeI18n("en").error(unknown)).toBe("A rule of a newer service");
    // a refusal without its figures (as a service's sync answer comes): no raw placeholder
    const bare = new BackendError({ code: "overpayment", message: "A payment of 5 is more than the outstanding balance of 4", field: null });
    expect(id.error(bare)).toBe("Pembayaran … melebihi sisa tagihan ….");
    expect(id.error(new BackendError({ code: "toString", message: "x", field: null }))).toBe("Ini ditolak (kode toString).");
  });
});
