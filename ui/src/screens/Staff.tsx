import { useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { Role } from "../bindings/Role";
import type { StaffMember } from "../bindings/StaffMember";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useT } from "../i18n";

export function Staff(props: { staff: StaffMember[]; onChanged: () => void }) {
  const backend = useBackend();
  const t = useT();
  const { busy, error, run } = useAction();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("cashier");
  const [pin, setPin] = useState("");
  const [added, setAdded] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const m = await run(() => backend.addStaff(name, role, pin));
    setPin("");
    if (m) {
      setAdded(m.name);
      setName("");
      props.onChanged();
    }
  }

  return (
    <section className="screen" data-testid="staff">
      <h1>{t("staff.title")}</h1>
      <ul className="staff-list">
        {props.staff
          .filter((s) => s.active)
          .map((s) => (
            <li key={s.id}>
              <span className="strong">{s.name}</span> <span className="muted">{t(`role.${s.role}`)}</span>
            </li>
          ))}
      </ul>
      {props.staff.some((s) => !s.active) ? (
        <>
          {/* On the shop's roster but not working this counter (no PIN here, e.g. the office's
              own login, or someone deactivated): listed apart, so nobody appears twice. */}
          <h2>{t("staff.notHere")}</h2>
          <ul className="staff-list muted" data-testid="staff-not-here">
            {props.staff
              .filter((s) => !s.active)
              .map((s) => (
                <li key={s.id}>
                  {s.name} <span className="muted">{t(`role.${s.role}`)}</span>
                </li>
              ))}
          </ul>
        </>
      ) : null}
      <form className="card narrow" onSubmit={submit} aria-label={t("staff.add")}>
        <h2>{t("staff.add")}</h2>
        <Field label={t("staff.name")} error={fieldError(error, "name")}>
          {(id, d) => <input id={id} name="staff_name" aria-describedby={d} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label={t("staff.role")} error={fieldError(error, "role")}>
          {(id) => (
            <select id={id} name="staff_role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              <option value="cashier">{t("role.cashier")}</option>
              <option value="manager">{t("role.manager")}</option>
            </select>
          )}
        </Field>
        <Field label={t("staff.pin")} error={fieldError(error, "pin")}>
          {(id, d) => <input id={id} name="staff_pin" type="password" inputMode="numeric" autoComplete="off" aria-describedby={d} value={pin} onChange={(e) => setPin(e.target.value)} />}
        </Field>
        <FormError error={error && !error.field ? error : null} />
        {added ? <p className="notice ok">{t("staff.added", { name: added })}</p> : null}
        <FormActions busy={busy} submitLabel={t("staff.add")} />
      </form>
    </section>
  );
}
