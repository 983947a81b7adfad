import { useState, type FormEvent } from "react";
import { LocalError, useBackend } from "../backend";
import type { Currency } from "../bindings/Currency";
import type { Language } from "../bindings/Language";
import type { Session } from "../bindings/Session";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useT } from "../i18n";
import { Restore } from "./Restore";

const currencies: Currency[] = ["IDR", "USD", "EUR", "SGD", "MYR", "JPY"];

/** First-run setup. The language comes first: everything after it is in the chosen one. */
export function Setup({ language, onLanguage, onDone }: { language: Language; onLanguage: (l: Language) => void; onDone: (s: Session) => void }) {
  const backend = useBackend();
  const t = useT();
  const { busy, error, setError, run } = useAction();
  const [shopName, setShopName] = useState("");
  const [currency, setCurrency] = useState<Currency>("IDR");
  const [deviceCode, setDeviceCode] = useState("K01");
  const [ownerName, setOwnerName] = useState("");
  const [pin, setPin] = useState("");
  const [pin2, setPin2] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [passphrase2, setPassphrase2] = useState("");
  const [restoring, setRestoring] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (pin !== pin2) {
      setError(new LocalError({ code: "pin_mismatch", message: t("setup.pinMismatch"), field: "pin2" }));
      return;
    }
    if (passphrase !== passphrase2) {
      setError(new LocalError({ code: "passphrase_mismatch", message: t("backup.passphraseMismatch"), field: "recovery_passphrase2" }));
      return;
    }
    const session = await run(() =>
      backend.setup(
        {
          shop_name: shopName,
          currency,
          owner_name: ownerName,
          device_code: deviceCode,
          phone_country_code: null,
          utc_offset_minutes: -new Date().getTimezoneOffset(),
        },
        pin,
        passphrase,
      ),
    );
    if (session) onDone(session);
  }

  const general = error && !error.field ? error : null;
  if (restoring) return <Restore language={language} onLanguage={onLanguage} onCancel={() => setRestoring(false)} />;
  return (
    <main className="centered">
      <form className="card narrow" onSubmit={submit} aria-label={t("setup.title")}>
        <Field label={t("settings.language")}>
          {(id) => (
            <select id={id} name="language" value={language} onChange={(e) => onLanguage(e.target.value as Language)} autoFocus>
              <option value="en">English</option>
              <option value="id">Bahasa Indonesia</option>
            </select>
          )}
        </Field>
        <h1>{t("setup.title")}</h1>
        <p className="muted">{t("setup.intro")}</p>
        <Field label={t("setup.shopName")} error={fieldError(error, "shop_name")}>
          {(id, d) => <input id={id} name="shop_name" aria-describedby={d} value={shopName} onChange={(e) => setShopName(e.target.value)} />}
        </Field>
        <div className="row">
          <Field label={t("setup.currency")}>
            {(id) => (
              <select id={id} name="currency" value={currency} onChange={(e) => setCurrency(e.target.value as Currency)}>
                {currencies.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("setup.deviceCode")} error={fieldError(error, "device_code")}>
            {(id, d) => <input id={id} name="device_code" aria-describedby={d} value={deviceCode} onChange={(e) => setDeviceCode(e.target.value.toUpperCase())} />}
          </Field>
        </div>
        <Field label={t("setup.ownerName")} error={fieldError(error, "owner_name")}>
          {(id, d) => <input id={id} name="owner_name" aria-describedby={d} value={ownerName} onChange={(e) => setOwnerName(e.target.value)} />}
        </Field>
        <div className="row">
          <Field label={t("setup.ownerPin")} error={fieldError(error, "pin")}>
            {(id, d) => <input id={id} name="owner_pin" type="password" inputMode="numeric" autoComplete="off" aria-describedby={d} value={pin} onChange={(e) => setPin(e.target.value)} />}
          </Field>
          <Field label={t("setup.ownerPin2")} error={fieldError(error, "pin2")}>
            {(id, d) => <input id={id} name="owner_pin2" type="password" inputMode="numeric" autoComplete="off" aria-describedby={d} value={pin2} onChange={(e) => setPin2(e.target.value)} />}
          </Field>
        </div>
        <p className="muted">{t("backup.passphraseHint")}</p>
        <div className="row">
          <Field label={t("backup.passphrase")} error={fieldError(error, "recovery_passphrase")}>
            {(id, d) => <input id={id} name="recovery_passphrase" type="password" autoComplete="new-password" aria-describedby={d} value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />}
          </Field>
          <Field label={t("backup.passphrase2")} error={fieldError(error, "recovery_passphrase2")}>
            {(id, d) => <input id={id} name="recovery_passphrase2" type="password" autoComplete="new-password" aria-describedby={d} value={passphrase2} onChange={(e) => setPassphrase2(e.target.value)} />}
          </Field>
        </div>
        <FormError error={general} />
        <FormActions busy={busy} submitLabel={t("setup.submit")} />
        <p>
          <button type="button" className="link" name="restore-instead" onClick={() => setRestoring(true)}>
            {t("restore.instead")}
          </button>
        </p>
      </form>
    </main>
  );
}
