import { useEffect, useState, type FormEvent } from "react";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { answer, useOffice, type TenantView } from "./api/client";

/** The shop's settings (the owner's): its name, the receipt header and the time zone its
 *  business days follow. The currency and phone country are shown, fixed since the shop was
 *  created (its orders and search keys depend on them). */
export function Settings(props: { onSaved: (shop: TenantView) => void }) {
  const client = useOffice();
  const { t } = useI18n();
  const load = useAction();
  const { busy, error, run } = useAction();
  const [shop, setShop] = useState<TenantView | null>(null);
  const [form, setForm] = useState({ name: "", receipt_header: "", time_zone: "" });
  const [saved, setSaved] = useState(false);
  const loadRun = load.run;

  useEffect(() => {
    void loadRun(() => answer(client.GET("/tenant"))).then((s) => {
      if (!s) return;
      setShop(s);
      setForm({ name: s.name, receipt_header: s.receipt_header, time_zone: s.time_zone });
    });
  }, [client, loadRun]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const s = await run(() => answer(client.PATCH("/tenant", { body: form })));
    if (s) {
      setShop(s);
      setForm({ name: s.name, receipt_header: s.receipt_header, time_zone: s.time_zone });
      setSaved(true);
      props.onSaved(s);
    }
  }

  if (!shop) return <FormError error={load.error} />;
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">{t("office.nav.settings")}</h1>
      <form className="card" onSubmit={submit} aria-label={t("office.nav.settings")} data-testid="shop-settings">
        <Field label={t("office.settings.name")} error={fieldError(error, "name")}>
          {(id, d) => <input id={id} name="name" aria-describedby={d} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}
        </Field>
        <Field label={t("office.settings.receipt_header")} error={fieldError(error, "receipt_header")}>
          {(id, d) => <textarea id={id} name="receipt_header" rows={4} aria-describedby={d} value={form.receipt_header} onChange={(e) => setForm({ ...form, receipt_header: e.target.value })} />}
        </Field>
        <Field label={t("office.settings.time_zone")} error={fieldError(error, "time_zone")}>
          {(id, d) => <input id={id} name="time_zone" aria-describedby={d} value={form.time_zone} onChange={(e) => setForm({ ...form, time_zone: e.target.value })} />}
        </Field>
        <p className="muted" data-testid="fixed-settings">
          {t("office.settings.fixed", { currency: shop.currency, country: shop.phone_country_code })}
        </p>
        {saved ? (
          <p role="status" className="notice">
            {t("office.settings.saved")}
          </p>
        ) : null}
        <FormError error={error && !error.field ? error : null} />
        <FormActions busy={busy} name="save-settings" submitLabel={t("common.save")} />
      </form>
    </section>
  );
}
