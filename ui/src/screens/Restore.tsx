import { useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { BackupHeader } from "../bindings/BackupHeader";
import type { Language } from "../bindings/Language";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";

/** Restore on a new install's setup screen: pick the backup file, enter the recovery
 *  passphrase; the app then restarts on the restored counter (same device, same orders). */
export function Restore({ language, onLanguage, onCancel }: { language: Language; onLanguage: (l: Language) => void; onCancel: () => void }) {
  const backend = useBackend();
  const { t, dateTime } = useI18n();
  const { busy, error, run } = useAction();
  const [file, setFile] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [restored, setRestored] = useState<BackupHeader | null>(null);

  async function browse() {
    const picked = await run(() => backend.pickBackupFile());
    if (picked) setFile(picked);
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const header = await run(() => backend.restoreBackup(file, passphrase));
    if (header) {
      setRestored(header);
      setPassphrase("");
    }
  }

  return (
    <main className="centered">
      <form className="card narrow" onSubmit={submit} aria-label={t("restore.title")} data-testid="restore">
        <Field label={t("settings.language")}>
          {(id) => (
            <select id={id} name="language" value={language} onChange={(e) => onLanguage(e.target.value as Language)}>
              <option value="en">English</option>
              <option value="id">Bahasa Indonesia</option>
            </select>
          )}
        </Field>
        <h1>{t("restore.title")}</h1>
        {restored ? (
          <>
            <p className="notice ok" data-testid="restore-done">
              {t("restore.done", { shop: restored.shop_name, counter: restored.device_code, at: dateTime(restored.created_at), n: restored.orders })}
            </p>
            <div className="actions">
              <button type="button" className="primary" name="restart" onClick={() => void run(() => backend.finishRestore())}>
                {t("restore.restart")}
              </button>
            </div>
            <FormError error={error} />
          </>
        ) : (
          <>
            <p className="muted">{t("restore.intro")}</p>
            <div className="row">
              <Field label={t("restore.file")} error={fieldError(error, "file")}>
                {(id, d) => <input id={id} name="backup_file" aria-describedby={d} value={file} onChange={(e) => setFile(e.target.value)} />}
              </Field>
              <div className="field">
                <button type="button" name="browse-file" onClick={() => void browse()}>
                  {t("backup.browse")}
                </button>
              </div>
            </div>
            <Field label={t("backup.passphrase")} error={fieldError(error, "passphrase")}>
              {(id, d) => <input id={id} name="passphrase" type="password" autoComplete="off" aria-describedby={d} value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />}
            </Field>
            <FormError error={error && !error.field ? error : null} />
            <FormActions busy={busy} name="restore" submitLabel={t("restore.submit")} onCancel={busy ? undefined : onCancel} />
          </>
        )}
      </form>
    </main>
  );
}
