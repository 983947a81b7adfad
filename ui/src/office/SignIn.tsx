import { useState, type FormEvent } from "react";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { LocalError } from "../backend";
import { useT } from "../i18n";
import { answer, useOffice, type SignedIn } from "./api/client";

/** Sign-in with the shop (tenant), e-mail and password. The token is handed up and kept in
 *  memory only. */
export function SignIn(props: { notice?: string; onSignedIn: (s: SignedIn) => void }) {
  const client = useOffice();
  const t = useT();
  const { busy, error, setError, run } = useAction();
  const [tenant, setTenant] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await run(() => answer(client.POST("/auth/login", { body: { tenant: tenant.trim(), email: email.trim(), password } })));
    setPassword("");
    if (r) {
      props.onSignedIn({ token: r.access_token, tenant: tenant.trim(), user: r.user });
    } else {
      // which of the three was wrong is not told (the service does not say either)
      setError((err) => {
        if (err?.code === "unauthorized") return new LocalError({ code: "unauthorized", message: t("office.signin.wrong"), field: null });
        if (err?.code === "rate_limited") return new LocalError({ code: "rate_limited", message: t("office.signin.busy", { seconds: err.params.retry_after ?? "60" }), field: null });
        return err;
      });
    }
  }

  return (
    <main className="centered">
      <form className="card narrow" onSubmit={submit} aria-label={t("office.signin.title")} data-testid="office-signin">
        <h1>{t("office.title")}</h1>
        <h2>{t("office.signin.title")}</h2>
        {props.notice ? <p role="status">{props.notice}</p> : null}
        <Field label={t("office.signin.tenant")} error={fieldError(error, "tenant")}>
          {(id, d) => <input id={id} name="tenant" autoComplete="organization" aria-describedby={d} value={tenant} onChange={(e) => setTenant(e.target.value)} autoFocus />}
        </Field>
        <Field label={t("office.signin.email")} error={fieldError(error, "email")}>
          {(id, d) => <input id={id} name="email" type="email" autoComplete="username" aria-describedby={d} value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label={t("office.signin.password")} error={fieldError(error, "password")}>
          {(id, d) => <input id={id} name="password" type="password" autoComplete="current-password" aria-describedby={d} value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        <FormError error={error && !error.field ? error : null} />
        <FormActions busy={busy} submitLabel={t("office.signin.submit")} disabled={!tenant.trim() || !email.trim() || !password} />
      </form>
    </main>
  );
}
