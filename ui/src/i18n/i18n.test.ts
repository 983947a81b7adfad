import { describe, expect, it } from "vitest";
import { BackendError } from "../backend";
import { en } from "./en";
import { id } from "./id";
import { makeI18n } from "./index";

describe("i18n", () => {
  it("formats Rupiah without decimals and dollars with cents, per locale", () => {
    expect(makeI18n("id").money("1500000", "IDR").replace(/\s/g, " ")).toBe("Rp 1.500.000");
    expect(makeI18n("en").money("1500000", "IDR")).toMatch(/^IDR\s1,500,000$/);
    expect(makeI18n("en").money("12.5", "USD")).toBe("$12.50");
  });

  it("translates every English string into Bahasa Indonesia", () => {
    const same = Object.keys(en).filter((k) => k !== "app.title" && !k.startsWith("order.customerEmail") && en[k as keyof typeof en] === id[k as keyof typeof id]);
    // A few words are the same in both languages; anything else left in English is a miss.
    expect(same.filter((k) => !["common.all", "list.status", "login.pin", "order.subtotal", "order.total", "detail.title"].includes(k))).toEqual([]);
  });

  it("shows the core's message in English and a translation by code in Indonesian", () => {
    const e = new BackendError({ code: "overpayment", message: "A payment of 5 is more than the outstanding balance of 4", field: "amount" });
    expect(makeI18n("en").error(e)).toBe(e.message);
    expect(makeI18n("id").error(e)).toBe("Pembayaran melebihi sisa tagihan pesanan ini.");
  });
});
