import { useCallback, useEffect, useState, type FormEvent } from "react";
import type { Currency } from "../bindings/Currency";
import type { OrderStatus as CounterStatus } from "../bindings/OrderStatus";
import type { PaymentMethod } from "../bindings/PaymentMethod";
import type { ScheduleLine } from "../bindings/ScheduleLine";
import { OrderBadges } from "../components/Badges";
import { Field, FormActions, FormError } from "../components/Field";
import { readNumber } from "../components/numbers";
import { ScheduleTable } from "../components/SchedulePreview";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { methods } from "../screens/NewOrder";
import { answer, useOffice, type OrderView } from "./api/client";

/** One order as the office sees it: customer, items, totals, the schedule per installment,
 *  the payment history, and recording a payment. */
export function OrderDetail(props: { id: string; onBack: () => void }) {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const load = useAction();
  const pay = useAction();
  const [order, setOrder] = useState<OrderView | null>(null);
  const [amount, setAmount] = useState("");
  const [method, setMethod] = useState<PaymentMethod>("cash");
  const [reference, setReference] = useState("");

  const refresh = useCallback(async () => {
    const o = await load.run(() => answer(client.GET("/offline-orders/{id}", { params: { path: { id: props.id } } })));
    if (o) setOrder(o);
  }, [client, load, props.id]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  async function recordPayment(e: FormEvent) {
    e.preventDefault();
    if (!order) return;
    const currency = order.currency as Currency;
    const r = await pay.run(async () =>
      answer(
        client.POST("/offline-orders/{id}/payments", {
          params: { path: { id: order.id } },
          body: {
            amount: readNumber(i18n, amount, "amount", i18n.minorUnits(currency)),
            method,
            reference: reference.trim() || null,
          },
        }),
      ),
    );
    if (r) {
      setOrder(r.order);
      setAmount("");
      setReference("");
    }
  }

  if (!order) return <FormError error={load.error} />;
  const currency = order.currency as Currency;
  const money = (v: string) => i18n.money(v, currency);
  const open = order.status === "pending";
  return (
    <section aria-labelledby="order-title" data-testid="office-order">
      <div className="toolbar">
        <button type="button" name="back" onClick={props.onBack}>
          {t("common.back")}
        </button>
        <h1 id="order-title">{t("detail.title", { number: order.order_number })}</h1>
        <OrderBadges status={order.status as CounterStatus} partlyPaid={order.partly_paid} overdue={order.overdue} />
      </div>
      <div className="card">
        <p>
          <strong>{order.customer.name}</strong>
          {order.customer.phone ? <> · {order.customer.phone}</> : null}
          {order.customer.email ? <> · {order.customer.email}</> : null}
        </p>
        {order.customer.address ? <p className="muted">{order.customer.address}</p> : null}
        <p className="muted">
          {t(`order.${order.channel as "walk_in" | "phone"}`)} · {i18n.date(order.business_date)}
        </p>
      </div>
      <h2>{t("order.items")}</h2>
      <table className="list">
        <tbody>
          {order.items.map((it, i) => (
            <tr key={i}>
              <td>{it.name}</td>
              <td className="num nowrap">
                {i18n.num(it.quantity)} × {money(it.unit_price)}
              </td>
              <td className="num nowrap">{money(it.line_total)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl className="totals" data-testid="order-totals">
        <dt>{t("order.subtotal")}</dt>
        <dd>{money(order.subtotal)}</dd>
        <dt>{t("order.discount")}</dt>
        <dd>{money(order.discount)}</dd>
        <dt>{t("order.total")}</dt>
        <dd>{money(order.total)}</dd>
        <dt>{t("order.paid")}</dt>
        <dd data-testid="order-paid">{money(order.paid)}</dd>
        <dt>{t("order.balance")}</dt>
        <dd data-testid="order-balance">{money(order.balance)}</dd>
      </dl>
      <h2>{t("order.schedule")}</h2>
      <ScheduleTable currency={currency} entries={order.payment_terms.schedule as ScheduleLine[]} testId="office-schedule" />
      <h2>{t("detail.payments")}</h2>
      {order.payments.length === 0 ? <p className="muted">{t("detail.noPayments")}</p> : null}
      {order.payments.length > 0 ? (
        <table className="list" data-testid="office-payments">
          <tbody>
            {order.payments.map((p) => (
              <tr key={p.id}>
                <td className="nowrap">{i18n.dateTime(p.paid_at)}</td>
                <td>{t(`method.${p.method as PaymentMethod}`)}</td>
                <td>{p.reference ?? ""}</td>
                <td className="num nowrap">{money(p.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? (
        <form className="pay-form" onSubmit={recordPayment} aria-label={t("detail.recordPayment")}>
          <h3>{t("detail.recordPayment")}</h3>
          <Field label={t("detail.amount")} error={fieldError(pay.error, "amount")}>
            {(id, d) => <input id={id} name="amount" inputMode="decimal" aria-describedby={d} value={amount} onChange={(e) => setAmount(e.target.value)} />}
          </Field>
          <Field label={t("order.method")}>
            {(id) => (
              <select id={id} name="method" value={method} onChange={(e) => setMethod(e.target.value as PaymentMethod)}>
                {methods.map((m) => (
                  <option key={m} value={m}>
                    {t(`method.${m}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("order.reference")} error={fieldError(pay.error, "reference")}>
            {(id, d) => <input id={id} name="reference" aria-describedby={d} value={reference} onChange={(e) => setReference(e.target.value)} />}
          </Field>
          <FormError error={pay.error && !pay.error.field ? pay.error : null} />
          <FormActions busy={pay.busy} submitLabel={t("detail.pay")} disabled={!amount.trim()} />
        </form>
      ) : null}
    </section>
  );
}
