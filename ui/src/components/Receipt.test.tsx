import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { OrderDetail } from "../bindings/OrderDetail";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { Receipt } from "./Receipt";

const staff = { id: "s-1", name: "Kasir Ani" };
const order = {
  id: "o-1",
  order_number: "K01-20261125-0001",
  counter_number: null,
  currency: "IDR",
  created_at: "2026-11-25T03:00:00Z",
  customer: { name: "Siti" },
  items: [
    { name: "Kopi", sku: null, quantity: "2", unit_price: "500000", discount: "10000", line_total: "990000" },
    { name: "Teh", sku: null, quantity: "0.5", unit_price: "522000", discount: "0", line_total: "261000" },
  ],
  subtotal: "1251000",
  discount: "16500",
  total: "1234500",
  paid: "1234500",
  balance: "0",
  payments: [{ id: "p-1", amount: "1234500", method: "cash", paid_at: "2026-11-25T03:00:00Z", recorded_by: staff, reference: null, reverses: null, reversed_by: null, approved_by: null, not_on_service: false }],
  schedule: [],
  recorded_by: staff,
} as unknown as OrderDetail;

describe("receipt", () => {
  it("adds up on its face: lines less their discounts, the order's discount, the payment's method, who served", () => {
    renderWith(<Receipt order={order} shopName="Toko" header="" />, testBackend({}), "id");
    const lines = within(screen.getByTestId("receipt-lines")).getAllByRole("row", { hidden: true }).map((r) => r.textContent ?? "");
    const text = lines.join("\n").replace(/\s/g, " ");
    expect(text).toMatch(/2 × Kopi @ Rp 500\.000diskon −Rp 10\.000Rp 990\.000/);
    expect(text).toMatch(/0,5 × Teh @ Rp 522\.000Rp 261\.000/);
    expect(text).toMatch(/Subtotal\s*Rp 1\.251\.000/);
    expect(text).toMatch(/Diskon pesanan\s*−Rp 16\.500/);
    expect(text).toMatch(/Total\s*Rp 1\.234\.500/);
    expect(text).toMatch(/Tunai\s*Rp 1\.234\.500/);
    expect(screen.getByText("Dilayani oleh Kasir Ani")).toBeTruthy();
  });
});
