import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { BackendError } from "../backend";
import type { OrderPreview } from "../bindings/OrderPreview";
import type { PreviewInput } from "../bindings/PreviewInput";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { NewOrder } from "./NewOrder";

const preview: OrderPreview = {
  currency: "IDR",
  items: [{ name: "Rice cooker", sku: null, quantity: "2", unit_price: "750000", discount: "0", line_total: "1500000" }],
  totals: { subtotal: "1500000", discount: "0", total: "1500000" },
  schedule: [
    { seq: 1, kind: "down_payment", due_date: "2026-11-25", amount: "300000" },
    { seq: 2, kind: "installment", due_date: "2026-12-25", amount: "400000" },
    { seq: 3, kind: "installment", due_date: "2027-01-25", amount: "400000" },
    { seq: 4, kind: "installment", due_date: "2027-02-25", amount: "400000" },
  ],
};

async function fillInstallmentOrder() {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText("Customer name"), "Siti");
  await user.type(screen.getByLabelText("Item"), "Rice cooker");
  await user.clear(screen.getByLabelText("Qty"));
  await user.type(screen.getByLabelText("Qty"), "2");
  await user.type(screen.getByLabelText("Unit price"), "750000");
  await user.click(screen.getByLabelText("Installments"));
  await user.type(screen.getByLabelText("Down payment", { selector: 'input[name="down_payment"]' }), "300000");
  return user;
}

describe("new order form", () => {
  it("shows the schedule Rust computed for the current terms, and suggests the down payment", async () => {
    const previewOrder = vi.fn(async (input: PreviewInput) => {
      if (input.payment_terms.type !== "installment") throw new BackendError({ code: "x", message: "not yet", field: "payment_terms" });
      return preview;
    });
    renderWith(<NewOrder currency="IDR" onCreated={() => undefined} />, testBackend({ previewOrder }));
    await fillInstallmentOrder();

    const table = await screen.findByTestId("schedule-preview");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(4);
    expect(rows[0]?.textContent).toContain("Down payment");
    expect(rows[1]?.textContent).toContain("Installment 1");
    expect(rows[3]?.textContent).toContain("Installment 3");
    expect(screen.getByTestId("preview-total").textContent).toMatch(/1,500,000/);
    expect((screen.getByLabelText("Amount") as HTMLInputElement).value).toBe("300,000");

    const last = previewOrder.mock.calls.at(-1)?.[0];
    expect(last?.items).toEqual([{ name: "Rice cooker", quantity: "2", unit_price: "750000", discount: undefined }]);
    expect(last?.payment_terms).toMatchObject({ type: "installment", down_payment: "300000", installment_count: 3, interval: "monthly" });
  });

  it("shows a refused field next to that field and keeps what was typed", async () => {
    const createOrder = vi.fn(async () => {
      throw new BackendError({ code: "phone_required", message: "A phone order needs the customer's phone number", field: "customer.phone" });
    });
    renderWith(<NewOrder currency="IDR" onCreated={() => undefined} />, testBackend({ previewOrder: async () => preview, createOrder }));
    const user = await fillInstallmentOrder();
    await user.click(screen.getByLabelText("Phone", { selector: "input[type=radio]" }));
    await user.click(screen.getByRole("button", { name: "Record order" }));

    const phone = screen.getByLabelText("Phone", { selector: "input[type=tel]" });
    await waitFor(() => expect(phone.getAttribute("aria-describedby")).toBeTruthy());
    const err = document.getElementById(phone.getAttribute("aria-describedby") ?? "");
    expect(err?.textContent).toBe("A phone order needs the customer's phone number");
    expect((screen.getByLabelText("Customer name") as HTMLInputElement).value).toBe("Siti");
    expect(createOrder).toHaveBeenCalledTimes(1);
    const sent = (createOrder.mock.calls as unknown as [[{ channel: string; initial_payment: unknown }]])[0][0];
    expect(sent.channel).toBe("phone");
    expect(sent.initial_payment).toEqual({ id: null, amount: "300000", method: "cash", reference: null });
  });

  it("reads amounts and quantities the Indonesian way, and refuses what is unclear at the field", async () => {
    const previewOrder = vi.fn(async () => preview);
    const createOrder = vi.fn(async () => {
      throw new BackendError({ code: "x", message: "stop", field: null });
    });
    renderWith(<NewOrder currency="IDR" onCreated={() => undefined} />, testBackend({ previewOrder, createOrder }), "id");
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Nama pelanggan"), "Siti");
    await user.type(screen.getByLabelText("Barang"), "Beras");
    const qty = screen.getByLabelText("Jml") as HTMLInputElement;
    await user.clear(qty);
    await user.type(qty, "0,5");
    const price = screen.getByLabelText("Harga satuan") as HTMLInputElement;
    await user.type(price, "240.000");
    await waitFor(() => expect(previewOrder).toHaveBeenCalled());
    const last = (previewOrder.mock.calls as unknown as [PreviewInput][]).at(-1)?.[0];
    expect(last?.items).toEqual([{ name: "Beras", quantity: "0.5", unit_price: "240000", discount: undefined }]);
    // shown back as read, on leaving the field
    await user.tab();
    expect(price.value).toBe("240.000");
    // unclear: refused next to the items, nothing sent
    previewOrder.mockClear();
    await user.clear(price);
    await user.type(price, "240.00");
    expect(await screen.findByText(/Angka tidak jelas/)).toBeTruthy();
    const prices = (previewOrder.mock.calls as unknown as [PreviewInput][]).map((c) => c[0].items[0]?.unit_price);
    expect(prices).not.toContain("24000");
    expect(prices.at(-1)).toBe("240");
    expect(screen.queryByTestId("schedule-preview")).toBeNull();
    await user.click(screen.getByRole("button", { name: "Catat pesanan" }));
    expect(createOrder).not.toHaveBeenCalled();
  });

  it("asks for no preview until an item has a name and a price", async () => {
    const previewOrder = vi.fn(async () => preview);
    renderWith(<NewOrder currency="IDR" onCreated={() => undefined} />, testBackend({ previewOrder }));
    await userEvent.setup().type(screen.getByLabelText("Customer name"), "Budi");
    expect(previewOrder).not.toHaveBeenCalled();
    expect(screen.queryByTestId("schedule-preview")).toBeNull();
  });
});
