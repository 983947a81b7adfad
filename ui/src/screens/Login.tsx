import { useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useT } from "../i18n";

export function Login(props: { shopName: string; staff: StaffMember[]; onLogin: (s: Session) => void }) {
  const backend = useBackend();
  const t = useT();
  const { busy, error, run } = useAction();
  const active = props.staff.filter((s) => s.active);
  // Nobody is preselected (unless there is only one person): a cashier typing a PIN against a
  // name they did not pick would use up that person's attempts.
  const [staffId, setStaffId] = useState(active.length === 1 ? (active[0]?.id ?? "") : "");
  const [pin, setPin] = useState("");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const session = await run(() => backend.login(staffId, pin));
    setPin("");
    if (session) props.onLogin(session);
  }

  return (
    <main className="centered">
      <form className="card narrow" onSubmit={submit} aria-label={t("login.title")} data-testid="login-screen">
        <h1>{props.shopName}</h1>
        <h2>{t("login.title")}</h2>
        <div className="staff-picker" role="radiogroup">
          {active.map((s) => (
            <label key={s.id} className={s.id === staffId ? "staff-choice selected" : "staff-choice"}>
              <input type="radio" name="staff" value={s.id} checked={s.id === staffId} onChange={() => setStaffId(s.id)} />
              <span className="staff-name">{s.name}</span>
              <span className="muted">{t(`role.${s.role}`)}</span>
              {s.locked_until && new Date(s.locked_until) > new Date() ? <span className="badge overdue">{t("login.locked")}</span> : null}
            </label>
          ))}
        </div>
        <Field label={t("login.pin")} error={fieldError(error, "pin")}>
          {(id, d) => (
            <input id={id} name="pin" type="password" inputMode="numeric" autoComplete="off" aria-describedby={d} value={pin} onChange={(e) => setPin(e.target.value)} autoFocus />
          )}
        </Field>
        <FormError error={error && !error.field ? error : null} />
        <FormActions busy={busy} submitLabel={t("login.submit")} disabled={!staffId} />
      </form>
    </main>
  );
}
