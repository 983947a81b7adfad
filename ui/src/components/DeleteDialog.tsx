import { useBackend } from "../backend";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { useI18n } from "../i18n";
import { ApprovalForm } from "./ApprovalForm";
import { Dialog } from "./Dialog";

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
  const i18n = useI18n();
  const t = i18n.t;
  const needsApproval = !props.session.can_approve;
  const title = t("delete.title", { number: props.order.order_number });
  // Refund before delete: an order that holds money has its payments reversed first.
  const holdsMoney = props.order.paid !== undefined && !/^-?0*(\.0*)?$/.test(props.order.paid);
  return (
    <Dialog title={needsApproval ? t("delete.approvalTitle") : title} onClose={props.onClose} testId={needsApproval ? "approval-dialog" : "delete-dialog"}>
      <ApprovalForm
        session={props.session}
        staff={props.staff}
        intro={
          <>
            {needsApproval ? <p className="muted">{t("delete.approvalIntro")}</p> : null}
            <p className="mono">{title}</p>
            {holdsMoney ? (
              <p className="notice" data-testid="refund-notice">
                {t("delete.refundNotice", { amount: i18n.money(props.order.paid, props.order.currency) })}
              </p>
            ) : null}
          </>
        }
        submitLabel={holdsMoney ? t("delete.refundConfirm") : t("delete.confirm")}
        onSubmit={(reason, approval) => backend.deleteOrder(props.order.id, reason, approval, holdsMoney)}
        onDone={props.onDeleted}
        onClose={props.onClose}
      />
    </Dialog>
  );
}
