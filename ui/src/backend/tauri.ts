// The Backend implemented with Tauri commands (src-tauri/src/commands). Argument names are the
// commands' parameter names in camelCase, as Tauri expects.
import { invoke } from "@tauri-apps/api/core";
import { BackendError, type Backend } from "./index";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw BackendError.from(e);
  }
}

export const tauriBackend: Backend = {
  appStatus: () => call("app_status"),
  setup: (input, ownerPin) => call("setup", { input, ownerPin }),
  login: (staffId, pin) => call("login", { staffId, pin }),
  logout: () => call("logout"),
  listStaff: () => call("list_staff"),
  addStaff: (name, role, pin) => call("add_staff", { name, role, pin }),
  previewOrder: (input) => call("preview_order", { input }),
  createOrder: (input) => call("create_order", { input }),
  listOrders: (query) => call("list_orders", { query }),
  getOrder: (id) => call("get_order", { id }),
  recordPayment: (id, payment) => call("record_payment", { id, payment }),
  updateOrder: (id, version, edit) => call("update_order", { id, version, edit }),
  completeOrder: (id) => call("complete_order", { id }),
  deleteOrder: (id, reason, approval) =>
    call("delete_order", {
      id,
      reason,
      approverId: approval?.approverId ?? null,
      approverPin: approval?.pin ?? null,
    }),
  dashboard: (from, to) => call("dashboard", { from, to }),
  listAuditEvents: (filter) => call("list_audit_events", { filter }),
  verifyAuditChain: () => call("verify_audit_chain"),
  getSettings: () => call("get_settings"),
  saveSettings: (settings) => call("save_settings", { settings }),
};
