import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { BackendError, type Approval } from "../backend";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { StaffMember } from "../bindings/StaffMember";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { DeleteDialog } from "./DeleteDialog";

const order = { id: "0193a0b4-0000-7000-8000-000000000001", order_number: "K01-20261125-0001" } as OrderDetail;
const staff: StaffMember[] = [
  { id: "owner-1", name: "Ibu Owner", role: "owner", can_approve: true, active: true, locked_until: null },
  { id: "mgr-1", name: "Pak Manager", role: "manager", can_approve: true, active: true, locked_until: null },
  { id: "cash-1", name: "Kasir Ani", role: "cashier", can_approve: false, active: true, locked_until: null },
];

describe("delete dialog", () => {
  it("gives a cashier the manager approval form, shows a wrong PIN at the PIN field, and sends the approval", async () => {
    const deleteOrder = vi
      .fn<(id: string, reason: string, approval: Approval | null, refund?: boolean) => Promise<OrderDetail>>()
      .mockRejectedValueOnce(new BackendError({ code: "wrong_pin", message: "Wrong PIN (4 attempts left before a lockout)", field: "pin" }))
      .mockResolvedValueOnce({ ...order, status: "deleted" });
    const onDeleted = vi.fn();
    renderWith(
      <DeleteDialog order={order} session={{ staff_id: "cash-1", name: "Kasir Ani", role: "cashier", can_approve: false, can_manage_staff: false }} staff={staff} onClose={() => undefined} onDeleted={onDeleted} />,
      testBackend({ deleteOrder }),
    );
    expect(screen.getByRole("dialog", { name: "Manager approval" })).toBeTruthy();
    const approver = screen.getByLabelText("Approving manager") as HTMLSelectElement;
    expect([...approver.options].map((o) => o.value)).toEqual(["owner-1", "mgr-1"]);

    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Reason"), "Customer cancelled");
    await user.selectOptions(approver, "mgr-1");
    await user.type(screen.getByLabelText("Manager PIN"), "0000");
    await user.click(screen.getByRole("button", { name: "Delete" }));
    expect(await screen.findByText("Wrong PIN (4 attempts left before a lockout)")).toBeTruthy();
    expect((screen.getByLabelText("Manager PIN") as HTMLInputElement).value).toBe("");
    expect(onDeleted).not.toHaveBeenCalled();

    await user.type(screen.getByLabelText("Manager PIN"), "2468");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(onDeleted).toHaveBeenCalled());
    expect(deleteOrder.mock.calls[1]).toEqual([order.id, "Customer cancelled", { approverId: "mgr-1", pin: "2468" }, false]);
  });

  it("refunds before it deletes an order that holds money, under the one approval", async () => {
    const held = { ...order, paid: "700000", currency: "IDR" } as OrderDetail;
    const deleteOrder = vi
      .fn<(id: string, reason: string, approval: Approval | null, refund?: boolean) => Promise<OrderDetail>>()
      .mockResolvedValueOnce({ ...held, status: "deleted", paid: "0" });
    const onDeleted = vi.fn();
    renderWith(
      <DeleteDialog order={held} session={{ staff_id: "mgr-1", name: "Pak Manager", role: "manager", can_approve: true, can_manage_staff: false }} staff={staff} onClose={() => undefined} onDeleted={onDeleted} />,
      testBackend({ deleteOrder }),
    );
    expect(screen.getByTestId("refund-notice").textContent).toMatch(/700,000/);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Reason"), "Customer cancelled");
    await user.click(screen.getByRole("button", { name: "Refund and delete" }));
    await waitFor(() => expect(onDeleted).toHaveBeenCalled());
    expect(deleteOrder.mock.calls[0]).toEqual([order.id, "Customer cancelled", null, true]);
  });

  it("lets a manager confirm with a reason only, and Esc closes it", async () => {
    const onClose = vi.fn();
    renderWith(
      <DeleteDialog order={order} session={{ staff_id: "mgr-1", name: "Pak Manager", role: "manager", can_approve: true, can_manage_staff: false }} staff={staff} onClose={onClose} onDeleted={() => undefined} />,
      testBackend({}),
    );
    expect(screen.queryByLabelText("Manager PIN")).toBeNull();
    await userEvent.setup().keyboard("{Escape}");
    expect(onClose).toHaveBeenCalled();
  });
});
