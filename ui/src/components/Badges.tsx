import type { OrderStatus } from "../bindings/OrderStatus";
import { useT } from "../i18n";

/** Paid / partly paid / overdue / deleted, as on the list and the detail screen. */
export function OrderBadges(props: { status: OrderStatus; partlyPaid: boolean; overdue: boolean }) {
  const t = useT();
  return (
    <span className="badges">
      <span className={`badge status-${props.status}`} data-status={props.status}>
        {t(`status.${props.status}`)}
      </span>
      {props.partlyPaid ? <span className="badge partly">{t("badge.partly_paid")}</span> : null}
      {props.overdue && props.status !== "deleted" ? <span className="badge overdue">{t("badge.overdue")}</span> : null}
    </span>
  );
}
