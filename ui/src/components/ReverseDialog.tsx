import { useBackend } from "../backend";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { PaymentView } from "../bindings/PaymentView";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { useI18n } from "../i18n";
import { ApprovalForm } from "./ApprovalForm";
import { Dialog } from "./Dialog";

/** Refunding (reversing) one payment in full: an owner or manager confirms with a reason; a
 *  cashier gets the manager approval form. The core applies the ledger's rules. */
export function ReverseDialog(props: {
  order: OrderDetail;
  payment: PaymentView;
  session: Session;
  staff: StaffMember[];
  onClose: () => void;
  onReversed: (o: OrderDetail) => void;
}) {
  const backend = useBackend();
  const i18n = useI18n();
  const t = i18n.t;
  const needsApproval = !props.session.can_approve;
  const title = t("reverse.title", { amount: i18n.money(props.payment.amount, props.order.currency), number: props.order.order_number });
  return (
    <Dialog title={needsApproval ? t("delete.approvalTitle") : title} onClose={props.onClose} testId={needsApproval ? "approval-dialog" : "reverse-dialog"}>
      <ApprovalForm
        session={props.session}
        staff={props.staff}
        intro={
          <>
            {needsApproval ? <p className="muted">{t("reverse.approvalIntro")}</p> : null}
            <p className="mono">{title}</p>
          </>
        }
        submitLabel={t("reverse.confirm")}
        onSubmit={(reason, approval) => backend.reversePayment(props.order.id, props.payment.id, reason, approval)}
        onDone={props.onReversed}
        onClose={props.onClose}
      />
    </Dialog>
  );
}
