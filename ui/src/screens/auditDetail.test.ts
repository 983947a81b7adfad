import { describe, expect, it } from "vitest";
import { makeI18n } from "../i18n";
import { describeDetail, fieldLabel } from "./auditDetail";

const ctx = {
  names: new Map([["0192aaaa-0000-7000-8000-000000000001", "Pak Budi"]]),
  labels: { "0192bbbb-0000-7000-8000-000000000002": "K01-20261130-0001" } as Partial<Record<string, string>>,
};

describe("audit detail", () => {
  const id = makeI18n("id");
  it.each([
    ["order.delete: wrong_pin", "Pesanan dihapus: PIN salah"],
    ["wrong_pin", "PIN salah"],
    ["approved_by=0192aaaa-0000-7000-8000-000000000001 role=manager", "Disetujui oleh: Pak Budi · Peran: Manajer"],
    ["order=0192bbbb-0000-7000-8000-000000000002 amount=460000 method=cash", "Pesanan: K01-20261130-0001 · Jumlah: 460.000 · Metode: Tunai"],
    ["order=0192bbbb-0000-7000-8000-000000000002 kind=payment_recorded", "Pesanan: K01-20261130-0001 · Perubahan: Pembayaran"],
    ["version 1 -> 2", "versi 1 → 2"],
    ["12 events", "12 entri"],
    ["results: 3", "3 entri"],
    ["ok, 40 events", "terverifikasi, 40 peristiwa"],
    ["2026-11-01..2026-11-30", "01/11/2026 – 30/11/2026"],
    ["K01-20261130-0001", "K01-20261130-0001"],
  ])("%s → %s", (detail, shown) => {
    expect(describeDetail(id, detail, ctx)).toBe(shown);
  });

  it("names changed fields in the language, and keeps a field it does not know", () => {
    expect(fieldLabel(id, "customer.phone")).toBe("Telepon pelanggan");
    expect(fieldLabel(id, "some_new_field")).toBe("some_new_field");
  });
});
