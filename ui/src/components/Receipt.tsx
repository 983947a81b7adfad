import type { OrderDetail } from "../bindings/OrderDetail";
import { useI18n } from "../i18n";

const isZero = (amount: string) => /^-?0*(\.0*)?$/.test(amount);

/** The printable receipt: hidden on screen, the only thing printed (see styles.css @media print).
 *  It adds up on its face: each line at its price less its discount, the subtotal, the order's
 *  discount, the total, every payment with its method, paid and balance. */
export function Receipt(props: { order: OrderDetail; shopName: string; header: string }) {
  const i18n = useI18n();
  const t = i18n.t;
  const o = props.order;
  const c = o.currency;
  return (
    <div className="receipt print-only" aria-hidden="true">
      <h2>{props.shopName}</h2>
      {props.header ? <p className="receipt-header">{props.header}</p> : null}
      <p>
        {o.order_number} · {i18n.dateTime(o.created_at)}
        {o.counter_number ? (
          <>
            <br />
            {t("receipt.counterRef", { number: o.counter_number })}
          </>
        ) : null}
      </p>
      <p>{o.customer.name}</p>
      <table data-testid="receipt-lines">
        <tbody>
          {o.items.map((it, i) => (
            <tr key={i} data-kind="line">
              <td>
                {i18n.num(it.quantity)} × {it.name} @ {i18n.money(it.unit_price, c)}
                {isZero(it.discount) ? null : (
                  <>
                    <br />
                    {t("receipt.lineDiscount")} −{i18n.money(it.discount, c)}
                  </>
                )}
              </td>
              <td className="num">{i18n.money(it.line_total, c)}</td>
            </tr>
          ))}
          <tr data-kind="subtotal">
            <td>{t("order.subtotal")}</td>
            <td className="num">{i18n.money(o.subtotal, c)}</td>
          </tr>
          {isZero(o.discount) ? null : (
            <tr data-kind="discount">
              <td>{t("order.discount")}</td>
              <td className="num">−{i18n.money(o.discount, c)}</td>
            </tr>
          )}
          <tr data-kind="total">
            <td>{t("order.total")}</td>
            <td className="num">{i18n.money(o.total, c)}</td>
          </tr>
          {o.payments
            .filter((p) => !p.not_on_service)
            .map((p) => (
              <tr key={p.id} data-kind="payment">
                <td>
                  {i18n.date(p.paid_at)} · {t(`method.${p.method}`)}
                  {p.reverses ? ` (${t("detail.reversal")})` : ""}
                </td>
                <td className="num">{i18n.money(p.amount, c)}</td>
              </tr>
            ))}
          <tr data-kind="paid">
            <td>{t("order.paid")}</td>
            <td className="num">{i18n.money(o.paid, c)}</td>
          </tr>
          <tr data-kind="balance">
            <td>{t("order.balance")}</td>
            <td className="num">{i18n.money(o.balance, c)}</td>
          </tr>
        </tbody>
      </table>
      <p>{t("receipt.servedBy", { name: o.recorded_by.name })}</p>
      {o.schedule.length > 1 ? (
        <ul>
          {o.schedule.map((e) => (
            <li key={e.seq}>
              {i18n.date(e.due_date)}: {i18n.money(e.amount, c)} ({t(`entry.${e.status}`)})
            </li>
          ))}
        </ul>
      ) : null}
      <p>{t("receipt.thanks")}</p>
    </div>
  );
}
