import { useBackend } from "../backend";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { useT } from "../i18n";
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
  const t = useT();
  const needsApproval = !props.session.can_approve;
  const title = t("delete.title", { number: props.order.order_number });
  return (
    <Dialog title={needsApproval ? t("delete.approvalTitle") : title} onClose={props.onClose} testId={needsApproval ? "approval-dialog" : "delete-dialog"}>
      <ApprovalForm
        session={props.session}
        staff={props.staff}
        intro={
          <>
            {needsApproval ? <p className="muted">{t("delete.approvalIntro")}</p> : null}
            <p className="mono">{title}</p>
          </>
        }
        submitLabel={t("delete.confirm")}
        onSubmit={(reason, approval) => backend.deleteOrder(props.order.id, reason, approval)}
        onDone={props.onDeleted}
        onClose={props.onClose}
      />
    </Dialog>
  );
}
