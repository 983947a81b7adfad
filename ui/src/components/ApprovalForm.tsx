import { useState, type FormEvent, type ReactNode } from "react";
import type { Approval } from "../backend";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { useT } from "../i18n";
import { Field, FormActions, FormError } from "./Field";
import { fieldError, useAction } from "./useAction";

/** A reason, and on a cashier's screen the approving owner's or manager's name and PIN (the
 *  session says whether it may approve itself; the core checks everything). Used by the
 *  delete and discard dialogs. */
export function ApprovalForm<T>(props: {
  session: Session;
  staff: StaffMember[];
  intro?: ReactNode;
  submitLabel: string;
  onSubmit: (reason: string, approval: Approval | null) => Promise<T>;
  onDone: (result: T) => void;
  onClose: () => void;
}) {
  const t = useT();
  const { busy, error, run } = useAction();
  const needsApproval = !props.session.can_approve;
  const approvers = props.staff.filter((s) => s.active && s.can_approve);
  const [reason, setReason] = useState("");
  const [approverId, setApproverId] = useState(approvers[0]?.id ?? "");
  const [pin, setPin] = useState("");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const done = await run(async () => ({ value: await props.onSubmit(reason, needsApproval ? { approverId, pin } : null) }));
    setPin("");
    if (done) props.onDone(done.value);
  }

  return (
    <form onSubmit={submit}>
      {props.intro}
      <Field label={t("delete.reason")} error={fieldError(error, "reason")}>
        {(id, d) => <textarea id={id} name="reason" rows={2} aria-describedby={d} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      {needsApproval ? (
        <>
          <Field label={t("delete.approver")} error={fieldError(error, "approver_id")}>
            {(id) => (
              <select id={id} name="approver" value={approverId} onChange={(e) => setApproverId(e.target.value)}>
                {approvers.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name} ({t(`role.${s.role}`)})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("delete.approverPin")} error={fieldError(error, "pin")}>
            {(id, d) => <input id={id} name="approver_pin" type="password" inputMode="numeric" autoComplete="off" aria-describedby={d} value={pin} onChange={(e) => setPin(e.target.value)} />}
          </Field>
        </>
      ) : null}
      <FormError error={error && !error.field ? error : null} />
      <FormActions busy={busy} submitLabel={props.submitLabel} danger onCancel={props.onClose} />
    </form>
  );
}
