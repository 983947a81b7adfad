import { useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { AppSettings } from "../bindings/AppSettings";
import type { Language } from "../bindings/Language";
import type { Session } from "../bindings/Session";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useT } from "../i18n";
import { Backups } from "./Backups";

export function Settings(props: { settings: AppSettings; session: Session; onSaved: (s: AppSettings) => void; onBackupChanged?: () => void }) {
  const backend = useBackend();
  const t = useT();
  const { busy, error, run } = useAction();
  const [language, setLanguage] = useState<Language>(props.settings.language);
  const [header, setHeader] = useState(props.settings.receipt_header);
  const [serverUrl, setServerUrl] = useState(props.settings.server_url);
  const [saved, setSaved] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const s = await run(() => backend.saveSettings({ language, receipt_header: header, server_url: serverUrl }));
    if (s) {
      setSaved(true);
      props.onSaved(s);
    }
  }

  return (
    <>
    <form className="screen card narrow" onSubmit={submit} aria-label={t("settings.title")} data-testid="settings">
      <h1>{t("settings.title")}</h1>
      <Field label={t("settings.language")}>
        {(id) => (
          <select id={id} name="language" value={language} onChange={(e) => setLanguage(e.target.value as Language)}>
            <option value="en">English</option>
            <option value="id">Bahasa Indonesia</option>
          </select>
        )}
      </Field>
      <Field label={t("settings.receiptHeader")} error={fieldError(error, "receipt_header")}>
        {(id, d) => <textarea id={id} name="receipt_header" rows={3} aria-describedby={d} value={header} onChange={(e) => setHeader(e.target.value)} />}
      </Field>
      <Field label={t("settings.serverUrl")} error={fieldError(error, "server_url")}>
        {(id, d) => <input id={id} name="server_url" placeholder="https://pos.example.com" aria-describedby={d} value={serverUrl} onChange={(e) => setServerUrl(e.target.value)} />}
      </Field>
      <FormError error={error && !error.field ? error : null} />
      {saved ? <p className="notice ok">{t("settings.saved")}</p> : null}
      <FormActions busy={busy} submitLabel={t("common.save")} />
    </form>
    <Backups session={props.session} onChanged={props.onBackupChanged} />
    </>
  );
}
