import { useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useT } from "../i18n";

/** When the system keyring lost this counter's data key (its disk is whole): the owner's
 *  recovery passphrase puts the key back, and the app starts again on its data. */
export function Unlock() {
  const backend = useBackend();
  const t = useT();
  const { busy, error, run } = useAction();
  const [passphrase, setPassphrase] = useState("");
  async function submit(e: FormEvent) {
    e.preventDefault();
    await run(() => backend.unlockWithRecovery(passphrase));
  }
  return (
    <form onSubmit={submit} aria-label={t("unlock.title")} data-testid="unlock">
      <h2>{t("unlock.title")}</h2>
      <p className="muted">{t("unlock.intro")}</p>
      <Field label={t("backup.passphrase")} error={fieldError(error, "passphrase")}>
        {(id, d) => <input id={id} name="passphrase" type="password" autoComplete="off" aria-describedby={d} value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />}
      </Field>
      <FormError error={error && !error.field ? error : null} />
      <FormActions busy={busy} name="unlock" submitLabel={t("unlock.submit")} />
    </form>
  );
}
