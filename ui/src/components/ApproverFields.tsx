import type { BackendError } from "../backend";
import type { StaffMember } from "../bindings/StaffMember";
import { useT } from "../i18n";
import { Field } from "./Field";
import { fieldError } from "./useAction";

/** On a cashier's screen: the approving owner or manager picks their name and enters their
 *  PIN. The core checks both; a wrong PIN comes back at the PIN field. */
export function ApproverFields(props: {
  staff: StaffMember[];
  approverId: string;
  onApprover: (id: string) => void;
  pin: string;
  onPin: (pin: string) => void;
  error: BackendError | null;
}) {
  const t = useT();
  const approvers = props.staff.filter((s) => s.active && s.can_approve);
  return (
    <>
      <Field label={t("delete.approver")} error={fieldError(props.error, "approver_id")}>
        {(id) => (
          <select id={id} name="approver" value={props.approverId} onChange={(e) => props.onApprover(e.target.value)}>
            {approvers.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name} ({t(`role.${s.role}`)})
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("delete.approverPin")} error={fieldError(props.error, "pin")}>
        {(id, d) => <input id={id} name="approver_pin" type="password" inputMode="numeric" autoComplete="off" aria-describedby={d} value={props.pin} onChange={(e) => props.onPin(e.target.value)} />}
      </Field>
    </>
  );
}

/** The first approver to preselect. */
export function firstApprover(staff: StaffMember[]): string {
  return staff.find((s) => s.active && s.can_approve)?.id ?? "";
}
