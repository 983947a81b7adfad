import type { Currency } from "../bindings/Currency";
import type { ScheduleEntry } from "../bindings/ScheduleEntry";
import type { ScheduleLine } from "../bindings/ScheduleLine";
import { useI18n } from "../i18n";

/** The installment table: the live preview on the new-order form (entries) and the order's
 *  schedule with paid / due / overdue per line on the detail screen (lines). */
export function ScheduleTable(props: { currency: Currency; entries: (ScheduleEntry | ScheduleLine)[]; testId?: string }) {
  const i18n = useI18n();
  return (
    <table className="schedule" data-testid={props.testId}>
      <thead>
        <tr>
          <th>#</th>
          <th>{i18n.t("order.schedule")}</th>
          <th>{i18n.t("list.date")}</th>
          <th className="num">{i18n.t("detail.amount")}</th>
          {props.entries.some((e) => "status" in e) ? (
            <>
              <th className="num">{i18n.t("order.paid")}</th>
              <th>{i18n.t("list.status")}</th>
            </>
          ) : null}
        </tr>
      </thead>
      <tbody>
        {props.entries.map((e, i) => (
          <tr key={e.seq} data-kind={e.kind} data-status={"status" in e ? e.status : undefined}>
            <td>{i + 1}</td>
            <td>{i18n.t(`kind.${e.kind}`, { seq: e.kind === "installment" ? installmentNumber(props.entries, e.seq) : e.seq })}</td>
            <td>{i18n.date(e.due_date)}</td>
            <td className="num">{i18n.money(e.amount, props.currency)}</td>
            {"status" in e ? (
              <>
                <td className="num">{i18n.money(e.paid, props.currency)}</td>
                <td>
                  <span className={`badge entry-${e.status}`}>{i18n.t(`entry.${e.status}`)}</span>
                </td>
              </>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function installmentNumber(entries: { seq: number; kind: string }[], seq: number): number {
  return entries.filter((e) => e.kind === "installment" && e.seq <= seq).length;
}
