// The Backend implemented with Tauri commands (src-tauri/src/commands). Argument names are the
// commands' parameter names in camelCase, as Tauri expects.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { open } from "@tauri-apps/plugin-dialog";
import type { SyncProgress } from "../bindings/SyncProgress";
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
  setup: (input, ownerPin, recoveryPassphrase) => call("setup", { input, ownerPin, recoveryPassphrase }),
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
  deleteOrder: (id, reason, approval, refund) =>
    call("delete_order", {
      id,
      reason,
      approverId: approval?.approverId ?? null,
      approverPin: approval?.pin ?? null,
      refund: refund ?? false,
    }),
  reversePayment: (id, paymentId, reason, approval) =>
    call("reverse_payment", {
      id,
      paymentId,
      reason,
      approverId: approval?.approverId ?? null,
      approverPin: approval?.pin ?? null,
    }),
  dashboard: (from, to) => call("dashboard", { from, to }),
  listAuditEvents: (filter) => call("list_audit_events", { filter }),
  verifyAuditChain: () => call("verify_audit_chain"),
  getSettings: () => call("get_settings"),
  saveSettings: (settings) => call("save_settings", { settings }),
  syncStatus: () => call("sync_status"),
  pairDevice: (serverUrl, code, deviceName) => call("pair_device", { serverUrl, code, deviceName }),
  unpairDevice: () => call("unpair_device"),
  syncNow: async (onProgress) => {
    const stop = await listen<SyncProgress>("sync-progress", (e) => onProgress(e.payload));
    try {
      return await call("sync_now");
    } finally {
      stop();
    }
  },
  needsAttention: () => call("needs_attention"),
  retryAttention: (mutationId) => call("retry_attention", { mutationId }),
  discardAttention: (mutationId, reason, approval) =>
    call("discard_attention", {
      mutationId,
      reason,
      approverId: approval?.approverId ?? null,
      approverPin: approval?.pin ?? null,
    }),
  backupStatus: () => call("backup_status"),
  setRecoveryPassphrase: (passphrase) => call("set_recovery_passphrase", { passphrase }),
  saveBackupConfig: (config) => call("save_backup_config", { config }),
  backupNow: () => call("backup_now"),
  restoreBackup: (file, passphrase) => call("restore_backup", { file, passphrase }),
  finishRestore: () => call("finish_restore"),
  unlockWithRecovery: (passphrase) => call("unlock_with_recovery", { passphrase }),
  exportDiagnostics: (folder) => call("export_diagnostics", { folder }),
  pickFolder: async () => {
    const picked = await open({ directory: true, multiple: false });
    return typeof picked === "string" ? picked : null;
  },
  pickBackupFile: async () => {
    const picked = await open({ directory: false, multiple: false, filters: [{ name: "Offline Order POS backup", extensions: ["oopbak"] }] });
    return typeof picked === "string" ? picked : null;
  },
};
