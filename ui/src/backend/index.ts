// The UI's one seam to Rust. Screens call `useBackend()` and never `invoke` directly; the
// Tauri implementation lives in ./tauri.ts, and tests pass their own implementation.
import { createContext, useContext } from "react";
import type { AppSettings } from "../bindings/AppSettings";
import type { AppStatus } from "../bindings/AppStatus";
import type { BackupConfig } from "../bindings/BackupConfig";
import type { BackupHeader } from "../bindings/BackupHeader";
import type { BackupRecord } from "../bindings/BackupRecord";
import type { BackupStatus } from "../bindings/BackupStatus";
import type { AuditPage } from "../bindings/AuditPage";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { ChainReport } from "../bindings/ChainReport";
import type { CommandError } from "../bindings/CommandError";
import type { Dashboard } from "../bindings/Dashboard";
import type { ListQuery } from "../bindings/ListQuery";
import type { NewOrder } from "../bindings/NewOrder";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { OrderEdit } from "../bindings/OrderEdit";
import type { OrderPage } from "../bindings/OrderPage";
import type { OrderPreview } from "../bindings/OrderPreview";
import type { PaymentInput } from "../bindings/PaymentInput";
import type { PreviewInput } from "../bindings/PreviewInput";
import type { Role } from "../bindings/Role";
import type { Session } from "../bindings/Session";
import type { SetupInput } from "../bindings/SetupInput";
import type { StaffMember } from "../bindings/StaffMember";
import type { AttentionItem } from "../bindings/AttentionItem";
import type { SyncProgress } from "../bindings/SyncProgress";
import type { SyncReport } from "../bindings/SyncReport";
import type { SyncStatus } from "../bindings/SyncStatus";

export interface Approval {
  approverId: string;
  pin: string;
}

export interface Backend {
  appStatus(): Promise<AppStatus>;
  /** Sets the shop up; the recovery passphrase wraps the data key for backups. */
  setup(input: SetupInput, ownerPin: string, recoveryPassphrase: string | null): Promise<Session>;
  login(staffId: string, pin: string): Promise<Session>;
  logout(): Promise<void>;
  listStaff(): Promise<StaffMember[]>;
  addStaff(name: string, role: Role, pin: string): Promise<StaffMember>;
  previewOrder(input: PreviewInput): Promise<OrderPreview>;
  createOrder(input: NewOrder): Promise<OrderDetail>;
  listOrders(query: ListQuery): Promise<OrderPage>;
  getOrder(id: string): Promise<OrderDetail>;
  recordPayment(id: string, payment: PaymentInput): Promise<OrderDetail>;
  updateOrder(id: string, version: number, edit: OrderEdit): Promise<OrderDetail>;
  completeOrder(id: string): Promise<OrderDetail>;
  /** Deletes the order; with `refund`, reverses its standing payments first (one approval). */
  deleteOrder(id: string, reason: string, approval: Approval | null, refund?: boolean): Promise<OrderDetail>;
  /** Reverses (refunds) one payment in full. */
  reversePayment(id: string, paymentId: string, reason: string, approval: Approval | null): Promise<OrderDetail>;
  dashboard(from: string, to: string): Promise<Dashboard>;
  /** A page of the audit log, with order numbers and staff names for the ids it names. */
  listAuditEvents(filter: AuditFilter): Promise<AuditPage>;
  verifyAuditChain(): Promise<ChainReport>;
  getSettings(): Promise<AppSettings>;
  saveSettings(settings: AppSettings): Promise<AppSettings>;
  syncStatus(): Promise<SyncStatus>;
  pairDevice(serverUrl: string, code: string, deviceName: string): Promise<SyncStatus>;
  unpairDevice(): Promise<SyncStatus>;
  /** A full (end-of-day) sync; `onProgress` hears every settled batch. */
  syncNow(onProgress: (p: SyncProgress) => void): Promise<SyncReport>;
  needsAttention(): Promise<AttentionItem[]>;
  retryAttention(mutationId: string): Promise<void>;
  discardAttention(mutationId: string, reason: string, approval: Approval | null): Promise<void>;
  backupStatus(): Promise<BackupStatus>;
  setRecoveryPassphrase(passphrase: string): Promise<BackupStatus>;
  saveBackupConfig(config: BackupConfig): Promise<BackupStatus>;
  backupNow(): Promise<BackupRecord>;
  /** Checks a backup with its passphrase and stages it (setup screen of a new install). */
  restoreBackup(file: string, passphrase: string): Promise<BackupHeader>;
  /** Restarts the app on the restored store. */
  finishRestore(): Promise<void>;
  /** The keyring lost the data key: the recovery passphrase puts it back; the app restarts. */
  unlockWithRecovery(passphrase: string): Promise<void>;
  /** Writes the diagnostics file into `folder`; answers its path. */
  exportDiagnostics(folder: string): Promise<string>;
  /** The system's folder picker; null when cancelled. */
  pickFolder(): Promise<string | null>;
  /** The system's file picker for a backup file; null when cancelled. */
  pickBackupFile(): Promise<string | null>;
}

/** A refused or failed command, as the Rust side describes it. */
export class BackendError extends Error {
  readonly code: string;
  readonly field: string | null;
  /** The values the message names (attempts left, a lockout's end, amounts). */
  readonly params: Partial<Record<string, string>>;
  constructor(e: CommandError) {
    super(e.message);
    this.code = e.code;
    this.field = e.field;
    this.params = e.params ?? {};
  }

  /** Wraps whatever a command rejected with (a CommandError, or a plain string from Tauri). */
  static from(raw: unknown): BackendError {
    if (raw instanceof BackendError) return raw;
    if (raw && typeof raw === "object" && "code" in raw && "message" in raw) {
      const e = raw as CommandError;
      return new BackendError({ code: e.code, message: e.message, field: e.field ?? null, params: e.params ?? {} });
    }
    return new BackendError({ code: "unexpected", message: String(raw), field: null });
  }
}

/** A refusal the UI itself found (a number it cannot read, PINs that differ), worded in the
 *  active language already. */
export class LocalError extends BackendError {}

export const BackendContext = createContext<Backend | null>(null);

export function useBackend(): Backend {
  const b = useContext(BackendContext);
  if (!b) throw new Error("BackendContext is missing");
  return b;
}
