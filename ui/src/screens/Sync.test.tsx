import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { BackendError, type Approval } from "../backend";
import type { AttentionItem } from "../bindings/AttentionItem";
import type { SyncProgress } from "../bindings/SyncProgress";
import type { SyncReport } from "../bindings/SyncReport";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { StaffMember } from "../bindings/StaffMember";
import { testBackend } from "../test/backend";
import { renderWith } from "../test/render";
import { Sync } from "./Sync";

const cashier = { staff_id: "cash-1", name: "Kasir Ani", role: "cashier" as const, can_approve: false, can_manage_staff: false };
const owner = { staff_id: "owner-1", name: "Ibu Owner", role: "owner" as const, can_approve: true, can_manage_staff: true };
const staff: StaffMember[] = [
  { id: "owner-1", name: "Ibu Owner", role: "owner", can_approve: true, active: true, locked_until: null },
  { id: "cash-1", name: "Kasir Ani", role: "cashier", can_approve: false, active: true, locked_until: null },
];
const settings = { language: "en" as const, receipt_header: "", server_url: "https://pos.example.com" };
const paired: SyncStatus = {
  paired: true,
  server_url: "https://pos.example.com",
  online: false,
  syncing: false,
  pending: 3,
  needs_attention: 1,
  last_success_at: null,
  clock_offset_ms: null,
  clock_drift_warning: false,
  last_error: null,
};
const tally = (count: number, orders: string, payments: string) => ({ count, orders_total: orders, payments_total: payments });
const item: AttentionItem = {
  mutation_id: "m-1",
  seq: 7,
  order_id: "o-1",
  order_number: "K01-20261125-0002",
  kind: "payment_reversed",
  status: "rejected",
  code: "unknown_approver",
  reason: "The approver is not on this shop's roster",
  amount: "-100000",
  attempts: 1,
  created_at: "2026-11-25T10:00:00Z",
  service_state: { status: "paid", version: 2, total: "1000000", paid: "1000000" },
};

describe("sync screen", () => {
  it("runs the end-of-day sync with a progress bar and ends with the report", async () => {
    let finish: (r: SyncReport) => void = () => undefined;
    const syncNow = vi.fn((onProgress: (p: SyncProgress) => void) => {
      onProgress({ done: 0, total: 4 });
      onProgress({ done: 2, total: 4 });
      return new Promise<SyncReport>((resolve) => (finish = resolve));
    });
    renderWith(
      <Sync session={cashier} staff={staff} settings={settings} currency="IDR" onChanged={() => undefined} />,
      testBackend({ syncStatus: async () => paired, needsAttention: async () => [], syncNow }),
    );
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Run end-of-day sync" }));
    const bar = (await screen.findByRole("progressbar", { name: "Sync progress" })) as HTMLProgressElement;
    expect(bar.value).toBe(2);
    expect(bar.max).toBe(4);
    expect(screen.getByText("2 of 4 changes")).toBeTruthy();
    finish({
      started_at: "2026-11-25T10:00:00Z",
      finished_at: "2026-11-25T10:00:05Z",
      currency: "IDR",
      pushed: tally(3, "1000000", "100000"),
      already_there: tally(1, "0", "50000"),
      needs_attention: tally(0, "0", "0"),
      still_pending: tally(0, "0", "0"),
      audit_events_pushed: 12,
      audit_refused: null,
      pulled_changes: 2,
      diverging_orders: 0,
      roster_size: 3,
      complete: true,
      error: null,
      last_success_at: "2026-11-25T10:00:05Z",
    });
    const report = await screen.findByTestId("sync-report");
    expect(within(report).getByText("Everything is on the service.")).toBeTruthy();
    expect(within(report).getByTestId("report-pushed-count").textContent).toBe("3");
    expect(within(report).getByTestId("report-already-count").textContent).toBe("1");
    expect(within(report).getByRole("button", { name: "Print" })).toBeTruthy();
  });

  it("shows what needs attention with the service's reason; discarding asks a cashier for approval", async () => {
    const discardAttention = vi
      .fn<(id: string, reason: string, approval: Approval | null) => Promise<void>>()
      .mockRejectedValueOnce(new BackendError({ code: "wrong_pin", message: "Wrong PIN (4 attempts left before a lockout)", field: "pin" }))
      .mockResolvedValueOnce(undefined);
    const lists = [[item], []];
    renderWith(
      <Sync session={cashier} staff={staff} settings={settings} currency="IDR" onChanged={() => undefined} />,
      testBackend({ syncStatus: async () => paired, needsAttention: async () => lists.shift() ?? [], discardAttention }),
    );
    const row = await screen.findByTestId("attention-row");
    expect(within(row).getByText("The approver is not on this shop's roster")).toBeTruthy();
    expect(within(row).getByText("Payment reversal")).toBeTruthy();
    expect(within(row).getByTestId("service-state").textContent).toMatch(/^On the service: Paid, total IDR\s1,000,000, paid IDR\s1,000,000$/);
    const user = userEvent.setup();
    await user.click(within(row).getByRole("button", { name: "Discard" }));
    const dialog = await screen.findByRole("dialog", { name: "Discard this change?" });
    await user.type(within(dialog).getByLabelText("Reason"), "approver unknown");
    await user.type(within(dialog).getByLabelText("Manager PIN"), "0000");
    await user.keyboard("{Enter}");
    expect(await within(dialog).findByText("Wrong PIN (4 attempts left before a lockout)")).toBeTruthy();
    await user.type(within(dialog).getByLabelText("Manager PIN"), "135790");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(discardAttention.mock.calls[1]).toEqual(["m-1", "approver unknown", { approverId: "owner-1", pin: "135790" }]);
    expect(await screen.findByText("Nothing needs attention.")).toBeTruthy();
  });

  it("lets the owner pair with a code and shows a refused code at its field", async () => {
    const pairDevice = vi
      .fn<(url: string, code: string, name: string) => Promise<SyncStatus>>()
      .mockRejectedValueOnce(new BackendError({ code: "pairing_code_invalid", message: "The pairing code is wrong, used or expired", field: "code" }))
      .mockResolvedValueOnce(paired);
    const statuses = [{ ...paired, paired: false, server_url: null }, paired];
    renderWith(
      <Sync session={owner} staff={staff} settings={settings} currency="IDR" onChanged={() => undefined} />,
      testBackend({ syncStatus: async () => statuses.shift() ?? paired, needsAttention: async () => [], pairDevice }),
    );
    const user = userEvent.setup();
    expect(((await screen.findByLabelText("Sync server address")) as HTMLInputElement).value).toBe("https://pos.example.com");
    await user.type(screen.getByLabelText("Pairing code"), "WRONG");
    await user.click(screen.getByRole("button", { name: "Pair" }));
    const code = screen.getByLabelText("Pairing code");
    expect(await screen.findByText("The pairing code is wrong, used or expired")).toBeTruthy();
    expect(code.getAttribute("aria-describedby")).toBeTruthy();
    await user.clear(code);
    await user.type(code, "ABCD2345");
    await user.click(screen.getByRole("button", { name: "Pair" }));
    expect(await screen.findByTestId("paired")).toBeTruthy();
    expect(pairDevice.mock.calls[1]).toEqual(["https://pos.example.com", "ABCD2345", ""]);
  });
});
