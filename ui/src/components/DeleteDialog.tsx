import { useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { useT } from "../i18n";
import { ApproverFields, firstApprover } from "./ApproverFields";
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
  const [reason, setReason] = useState("");
  const [approverId, setApproverId] = useState(firstApprover(props.staff));
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
        {needsApproval ? <ApproverFields staff={props.staff} approverId={approverId} onApprover={setApproverId} pin={pin} onPin={setPin} error={error} /> : null}
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
