import { useCallback, useEffect, useState, type FormEvent } from "react";
import { LocalError, useBackend } from "../backend";
import type { BackupStatus } from "../bindings/BackupStatus";
import type { Session } from "../bindings/Session";
import { Busy, Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";

/** Settings → Backups: the recovery passphrase and the folder (owner), a backup now (owner or
 *  manager), the last backup and the last failure; and "export diagnostics" for support. */
export function Backups({ session, onChanged }: { session: Session; onChanged?: () => void }) {
  const backend = useBackend();
  const i18n = useI18n();
  const { t, dateTime } = i18n;
  const [status, setStatus] = useState<BackupStatus | null>(null);
  const load = useCallback(() => backend.backupStatus().then(setStatus, () => undefined), [backend]);
  useEffect(() => {
    void load();
  }, [load]);
  const changed = (s: BackupStatus) => {
    setStatus(s);
    onChanged?.();
  };

  return (
    <section className="screen card narrow" aria-label={t("backup.title")} data-testid="backups">
      <h2>{t("backup.title")}</h2>
      {status ? (
        <>
          <p data-testid="backup-last">
            {status.last_success
              ? t("backup.last", { at: dateTime(status.last_success.at), file: status.last_success.file_name, n: status.last_success.orders })
              : t("backup.none")}
          </p>
          {status.last_failure ? (
            <p className="notice danger" data-testid="backup-failure">
              {t("backup.failedAt", { at: dateTime(status.last_failure.at) })} {i18n.error({ code: status.last_failure.code, message: status.last_failure.message, field: null })}
            </p>
          ) : null}
          {session.can_approve ? <BackupNow onDone={() => void load().then(() => onChanged?.())} /> : null}
          {session.can_manage_staff ? (
            <>
              <Passphrase set={status.passphrase_set} onSaved={changed} />
              <Folder status={status} onSaved={changed} />
            </>
          ) : null}
        </>
      ) : (
        <p className="muted">{t("common.loading")}</p>
      )}
      <Diagnostics />
    </section>
  );
}

function BackupNow({ onDone }: { onDone: () => void }) {
  const backend = useBackend();
  const { t } = useI18n();
  const { busy, error, run } = useAction();
  return (
    <div className="actions">
      <Busy busy={busy} />
      <FormError error={error} />
      <button
        type="button"
        className="primary"
        name="backup-now"
        disabled={busy}
        onClick={() => void run(() => backend.backupNow()).finally(onDone)}
      >
        {t("backup.now")}
      </button>
    </div>
  );
}

function Passphrase({ set, onSaved }: { set: boolean; onSaved: (s: BackupStatus) => void }) {
  const backend = useBackend();
  const { t } = useI18n();
  const { busy, error, setError, run } = useAction();
  const [p1, setP1] = useState("");
  const [p2, setP2] = useState("");
  const [saved, setSaved] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    if (p1 !== p2) {
      setError(new LocalError({ code: "passphrase_mismatch", message: t("backup.passphraseMismatch"), field: "passphrase2" }));
      return;
    }
    const s = await run(() => backend.setRecoveryPassphrase(p1));
    if (s) {
      setP1("");
      setP2("");
      setSaved(true);
      onSaved(s);
    }
  }
  return (
    <form onSubmit={submit} aria-label={t("backup.passphrase")} data-testid="passphrase-form">
      <h3>{t("backup.passphrase")}</h3>
      <p className="muted">{set ? t("backup.passphraseSet") : t("backup.passphraseHint")}</p>
      <div className="row">
        <Field label={set ? t("backup.passphraseNew") : t("backup.passphrase")} error={fieldError(error, "passphrase")}>
          {(id, d) => <input id={id} name="passphrase" type="password" autoComplete="new-password" aria-describedby={d} value={p1} onChange={(e) => setP1(e.target.value)} />}
        </Field>
        <Field label={t("backup.passphrase2")} error={fieldError(error, "passphrase2")}>
          {(id, d) => <input id={id} name="passphrase2" type="password" autoComplete="new-password" aria-describedby={d} value={p2} onChange={(e) => setP2(e.target.value)} />}
        </Field>
      </div>
      <FormError error={error && !error.field ? error : null} />
      {saved ? <p className="notice ok">{t("backup.passphraseSaved")}</p> : null}
      <FormActions busy={busy} name="save-passphrase" submitLabel={t("common.save")} />
    </form>
  );
}

function Folder({ status, onSaved }: { status: BackupStatus; onSaved: (s: BackupStatus) => void }) {
  const backend = useBackend();
  const { t } = useI18n();
  const { busy, error, setError, run } = useAction();
  const [folder, setFolder] = useState(status.config.folder ?? "");
  const [keep, setKeep] = useState(String(status.config.keep));
  const [saved, setSaved] = useState(false);
  async function browse() {
    const picked = await run(() => backend.pickFolder());
    if (picked) setFolder(picked);
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const n = Number(keep);
    if (!Number.isInteger(n) || n < 0) {
      setError(new LocalError({ code: "invalid", message: t("backup.keepInvalid"), field: "keep" }));
      return;
    }
    const s = await run(() => backend.saveBackupConfig({ folder: folder.trim() || null, keep: n }));
    if (s) {
      setSaved(true);
      onSaved(s);
    }
  }
  return (
    <form onSubmit={submit} aria-label={t("backup.folder")} data-testid="folder-form">
      <h3>{t("backup.folder")}</h3>
      <p className="muted">{t("backup.folderHint")}</p>
      <div className="row">
        <Field label={t("backup.folder")} error={fieldError(error, "folder")}>
          {(id, d) => <input id={id} name="backup_folder" aria-describedby={d} value={folder} onChange={(e) => setFolder(e.target.value)} />}
        </Field>
        <div className="field">
          <button type="button" name="browse-folder" onClick={() => void browse()}>
            {t("backup.browse")}
          </button>
        </div>
      </div>
      <Field label={t("backup.keep")} error={fieldError(error, "keep")}>
        {(id, d) => <input id={id} name="backup_keep" inputMode="numeric" aria-describedby={d} value={keep} onChange={(e) => setKeep(e.target.value)} />}
      </Field>
      <FormError error={error && !error.field ? error : null} />
      {saved ? <p className="notice ok">{t("settings.saved")}</p> : null}
      <FormActions busy={busy} name="save-folder" submitLabel={t("common.save")} />
    </form>
  );
}

function Diagnostics() {
  const backend = useBackend();
  const { t } = useI18n();
  const { busy, error, run } = useAction();
  const [written, setWritten] = useState<string | null>(null);
  async function exportTo() {
    setWritten(null);
    const folder = await run(() => backend.pickFolder());
    if (!folder) return;
    const path = await run(() => backend.exportDiagnostics(folder));
    if (path) setWritten(path);
  }
  return (
    <div data-testid="diagnostics">
      <h3>{t("diagnostics.title")}</h3>
      <p className="muted">{t("diagnostics.hint")}</p>
      <div className="actions">
        <Busy busy={busy} />
        <button type="button" name="export-diagnostics" disabled={busy} onClick={() => void exportTo()}>
          {t("diagnostics.export")}
        </button>
      </div>
      <FormError error={error} />
      {written ? <p className="notice ok">{t("diagnostics.written", { path: written })}</p> : null}
    </div>
  );
}
