import { useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { useT } from "../i18n";
import { Dialog } from "./Dialog";
import { Busy, Field, FormError } from "./Field";
import { fieldError, useAction } from "./useAction";

/** Deleting an order: an owner or manager confirms with a reason; a cashier gets the manager
 *  approval dialog (the manager picks their name and enters their PIN). The core decides. */
export function DeleteDialog(props: {
  order: OrderDetail;
  session: Session;
  staff: StaffMember[];
  onClose: () => void;
  onDeleted: (o: OrderDetail) => void;
}) {
  const backend = useBackend();
  const t = useT();
  const { busy, error, run } = useAction();
  const needsApproval = !props.session.can_approve;
  const approvers = props.staff.filter((s) => s.active && s.can_approve);
  const [reason, setReason] = useState("");
  const [approverId, setApproverId] = useState(approvers[0]?.id ?? "");
  const [pin, setPin] = useState("");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const done = await run(() =>
      backend.deleteOrder(props.order.id, reason, needsApproval ? { approverId, pin } : null),
    );
    setPin("");
    if (done) props.onDeleted(done);
  }

  return (
    <Dialog
      title={needsApproval ? t("delete.approvalTitle") : t("delete.title", { number: props.order.order_number })}
      onClose={props.onClose}
      testId={needsApproval ? "approval-dialog" : "delete-dialog"}
    >
      <form onSubmit={submit}>
        {needsApproval ? <p className="muted">{t("delete.approvalIntro")}</p> : null}
        <p className="mono">{t("delete.title", { number: props.order.order_number })}</p>
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
        <div className="actions">
          <Busy busy={busy} />
          <button type="button" onClick={props.onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" className="danger" disabled={busy}>
            {t("delete.confirm")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
