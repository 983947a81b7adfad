import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Dialog } from "../components/Dialog";
import { Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { answer, useOffice, type Role, type StaffMember } from "./api/client";

type Reset = { member: StaffMember; what: "password" | "pin" };

/** The shop's staff (the owner's screen, as the API allows): add a manager or cashier with a
 *  password for the office and a PIN for the counters, change a role, reset a password or PIN,
 *  deactivate (no sign-in and no approval here, nor on any counter after its next pull). */
export function Staff() {
  const client = useOffice();
  const { t } = useI18n();
  const { busy, error, run } = useAction();
  const [staff, setStaff] = useState<StaffMember[] | null>(null);
  const [reset, setReset] = useState<Reset | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const load = useCallback(async () => {
    const list = await run(() => answer(client.GET("/users")));
    if (list) setStaff(list.items);
  }, [client, run]);
  useEffect(() => {
    void load();
  }, [load]);

  async function change(m: StaffMember, body: { role?: Role; active?: boolean }, message: string) {
    const after = await run(() => answer(client.PATCH("/users/{id}", { params: { path: { id: m.id } }, body })));
    if (after) {
      setDone(message);
      await load();
    }
  }

  return (
    <section aria-labelledby="staff-title">
      <h1 id="staff-title">{t("staff.title")}</h1>
      {done ? (
        <p role="status" className="notice">
          {done}
        </p>
      ) : null}
      <FormError error={error} />
      {staff ? (
        <table className="list" data-testid="staff">
          <thead>
            <tr>
              <th>{t("staff.name")}</th>
              <th>{t("office.staff.email")}</th>
              <th>{t("staff.role")}</th>
              <th>{t("office.staff.state")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {staff.map((m) => (
              <tr key={m.id} data-staff={m.email ?? m.name}>
                <td>{m.name}</td>
                <td>{m.email ?? <span className="muted">{t("office.staff.counter_only")}</span>}</td>
                <td>
                  {m.role === "owner" ? (
                    t("role.owner")
                  ) : (
                    <select
                      name="role"
                      aria-label={t("staff.role")}
                      value={m.role}
                      disabled={busy}
                      onChange={(e) => void change(m, { role: e.target.value as Role }, t("office.staff.role_changed", { name: m.name }))}
                    >
                      <option value="manager">{t("role.manager")}</option>
                      <option value="cashier">{t("role.cashier")}</option>
                    </select>
                  )}
                </td>
                <td>
                  {m.active ? t("office.staff.active") : <span className="badge deleted">{t("office.staff.inactive")}</span>}
                  {m.has_pin ? null : <span className="muted"> · {t("office.staff.no_pin")}</span>}
                </td>
                <td className="row-actions">
                  {m.email ? (
                    <button type="button" name="reset-password" onClick={() => setReset({ member: m, what: "password" })} disabled={busy}>
                      {t("office.staff.reset_password")}
                    </button>
                  ) : null}
                  <button type="button" name="reset-pin" onClick={() => setReset({ member: m, what: "pin" })} disabled={busy}>
                    {t("office.staff.reset_pin")}
                  </button>
                  {m.role === "owner" ? null : m.active ? (
                    <button
                      type="button"
                      name="deactivate"
                      className="danger"
                      disabled={busy}
                      onClick={() => {
                        if (window.confirm(t("office.staff.deactivate_confirm", { name: m.name }))) void change(m, { active: false }, t("office.staff.deactivated", { name: m.name }));
                      }}
                    >
                      {t("office.staff.deactivate")}
                    </button>
                  ) : (
                    <button type="button" name="reactivate" disabled={busy} onClick={() => void change(m, { active: true }, t("office.staff.reactivated", { name: m.name }))}>
                      {t("office.staff.reactivate")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <AddStaff
        onAdded={(m) => {
          setDone(t("staff.added", { name: m.name }));
          void load();
        }}
      />
      {reset ? (
        <ResetDialog
          reset={reset}
          onClose={() => setReset(null)}
          onDone={(message) => {
            setReset(null);
            setDone(message);
            void load();
          }}
        />
      ) : null}
    </section>
  );
}

function AddStaff(props: { onAdded: (m: StaffMember) => void }) {
  const client = useOffice();
  const { t } = useI18n();
  const { busy, error, run } = useAction();
  const empty = { name: "", email: "", role: "cashier" as Role, password: "", pin: "" };
  const [form, setForm] = useState(empty);
  const set = (k: keyof typeof empty) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { name: form.name, email: form.email.trim(), role: form.role, password: form.password, pin: form.pin.trim() || null };
    const m = await run(() => answer(client.POST("/users", { body })));
    if (m) {
      setForm(empty);
      props.onAdded(m);
    } else {
      setForm((f) => ({ ...f, password: "", pin: "" }));
    }
  }

  return (
    <form className="card" onSubmit={submit} aria-label={t("staff.add")} data-testid="add-staff">
      <h2>{t("staff.add")}</h2>
      <div className="row">
        <Field label={t("staff.name")} error={fieldError(error, "name")}>
          {(id, d) => <input id={id} name="name" aria-describedby={d} value={form.name} onChange={set("name")} />}
        </Field>
        <Field label={t("office.staff.email")} error={fieldError(error, "email")}>
          {(id, d) => <input id={id} name="email" type="email" autoComplete="off" aria-describedby={d} value={form.email} onChange={set("email")} />}
        </Field>
        <Field label={t("staff.role")} error={fieldError(error, "role")}>
          {(id, d) => (
            <select id={id} name="role" aria-describedby={d} value={form.role} onChange={set("role")}>
              <option value="cashier">{t("role.cashier")}</option>
              <option value="manager">{t("role.manager")}</option>
            </select>
          )}
        </Field>
      </div>
      <div className="row">
        <Field label={t("office.staff.password")} error={fieldError(error, "password")}>
          {(id, d) => <input id={id} name="password" type="password" autoComplete="new-password" aria-describedby={d} value={form.password} onChange={set("password")} />}
        </Field>
        <Field label={t("staff.pin")} error={fieldError(error, "pin")}>
          {(id, d) => <input id={id} name="pin" type="password" inputMode="numeric" autoComplete="off" aria-describedby={d} value={form.pin} onChange={set("pin")} />}
        </Field>
      </div>
      <FormError error={error && !error.field ? error : null} />
      <FormActions busy={busy} name="add-staff" submitLabel={t("staff.add")} disabled={!form.name.trim() || !form.email.trim() || !form.password} />
    </form>
  );
}

function ResetDialog(props: { reset: Reset; onClose: () => void; onDone: (message: string) => void }) {
  const client = useOffice();
  const { t } = useI18n();
  const { busy, error, run } = useAction();
  const [value, setValue] = useState("");
  const { member, what } = props.reset;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = what === "password" ? { password: value } : { pin: value.trim() };
    const after = await run(() => answer(client.PATCH("/users/{id}", { params: { path: { id: member.id } }, body })));
    setValue("");
    if (after) props.onDone(t(what === "password" ? "office.staff.password_reset" : "office.staff.pin_reset", { name: member.name }));
  }

  const label = what === "password" ? t("office.staff.new_password") : t("office.staff.new_pin");
  return (
    <Dialog title={t(what === "password" ? "office.staff.reset_password" : "office.staff.reset_pin")} onClose={props.onClose} testId="reset-dialog">
      <form onSubmit={submit}>
        <p>{member.name}</p>
        <Field label={label} error={fieldError(error, what)}>
          {(id, d) => (
            <input
              id={id}
              name={what}
              type="password"
              inputMode={what === "pin" ? "numeric" : undefined}
              autoComplete={what === "password" ? "new-password" : "off"}
              aria-describedby={d}
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          )}
        </Field>
        <FormError error={error && !error.field ? error : null} />
        <FormActions busy={busy} name="save-reset" submitLabel={t("common.save")} disabled={!value} onCancel={props.onClose} />
      </form>
    </Dialog>
  );
}
