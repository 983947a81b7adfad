import { useEffect, useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { AppSettings } from "../bindings/AppSettings";
import type { OrderDetail as Order } from "../bindings/OrderDetail";
import type { PaymentMethod } from "../bindings/PaymentMethod";
import type { PaymentView } from "../bindings/PaymentView";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import { OrderBadges } from "../components/Badges";
import { DeleteDialog } from "../components/DeleteDialog";
import { EditDialog } from "../components/EditDialog";
import { ReverseDialog } from "../components/ReverseDialog";
import { Busy, Field, FormActions, FormError } from "../components/Field";
import { Receipt } from "../components/Receipt";
import { ScheduleTable } from "../components/SchedulePreview";
import { readNumber, showBack } from "../components/numbers";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { methods } from "./NewOrder";

export function OrderDetail(props: { id: string; session: Session; staff: StaffMember[]; settings: AppSettings; shopName: string; onBack: () => void }) {
  const backend = useBackend();
  const i18n = useI18n();
  const t = i18n.t;
  const load = useAction();
  const pay = useAction();
  const complete = useAction();
  const [order, setOrder] = useState<Order | null>(null);
  const [amount, setAmount] = useState("");
  const [method, setMethod] = useState<PaymentMethod>("cash");
  const [reference, setReference] = useState("");
  const [dialog, setDialog] = useState<"delete" | "edit" | null>(null);
  const [reversing, setReversing] = useState<PaymentView | null>(null);
  const { run: runLoad } = load;

  useEffect(() => {
    void runLoad(() => backend.getOrder(props.id)).then((o) => o && setOrder(o));
  }, [backend, runLoad, props.id]);

  async function recordPayment(e: FormEvent) {
    e.preventDefault();
    if (!order) return;
    const o = await pay.run(() =>
      backend.recordPayment(order.id, {
        id: null,
        amount: readNumber(i18n, amount, "amount", i18n.minorUnits(order.currency)),
        method,
        reference: reference.trim() ? reference.trim() : null,
      }),
    );
    if (o) {
      setOrder(o);
      setAmount("");
      setReference("");
    }
  }

  if (!order) {
    return (
      <section className="screen">
        <button type="button" onClick={props.onBack}>← {t("common.back")}</button>
        <Busy busy={load.busy} />
        <FormError error={load.error} />
      </section>
    );
  }

  const c = order.currency;
  const open = order.status === "pending" || order.status === "paid";
  return (
    <section className="screen order-detail" data-testid="order-detail" data-status={order.status}>
      <div className="screen-head no-print">
        <button type="button" onClick={props.onBack}>← {t("common.back")}</button>
        <h1>
          {t("detail.title", { number: order.order_number })} <OrderBadges status={order.status} partlyPaid={order.partly_paid} overdue={order.overdue} />
        </h1>
      </div>
      {order.deletion ? (
        <p className="notice danger" data-testid="deletion-note">
          {t("detail.deletedBy", { name: order.deletion.deleted_by.name, approver: order.deletion.approved_by.name, reason: order.deletion.reason })}
        </p>
      ) : null}
      <div className="columns no-print">
        <section className="card">
          <h2>{t("order.customer")}</h2>
          <p className="strong">{order.customer.name}</p>
          {order.customer.phone ? <p>{order.customer.phone}</p> : null}
          {order.customer.email ? <p>{order.customer.email}</p> : null}
          {order.customer.address ? <p>{order.customer.address}</p> : null}
          <p className="muted">
            {t(`order.${order.channel}`)} · {i18n.dateTime(order.created_at)} · {t("detail.recordedBy", { name: order.recorded_by.name })}
          </p>
          <h2>{t("order.items")}</h2>
          <table className="items" data-testid="order-items">
            <tbody>
              {order.items.map((it, i) => (
                <tr key={i}>
                  <td>{it.name}</td>
                  <td className="num">
                    {i18n.num(it.quantity)} × {i18n.money(it.unit_price, c)}
                  </td>
                  <td className="num">{/^0+(\.0+)?$/.test(it.discount) ? "" : `−${i18n.money(it.discount, c)}`}</td>
                  <td className="num">{i18n.money(it.line_total, c)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <dl className="totals" data-testid="order-totals">
            <dt>{t("order.subtotal")}</dt>
            <dd>{i18n.money(order.subtotal, c)}</dd>
            <dt>{t("order.discount")}</dt>
            <dd>{i18n.money(order.discount, c)}</dd>
            <dt>{t("order.total")}</dt>
            <dd className="strong">{i18n.money(order.total, c)}</dd>
            <dt>{t("order.paid")}</dt>
            <dd data-testid="order-paid">{i18n.money(order.paid, c)}</dd>
            <dt>{t("order.balance")}</dt>
            <dd className="strong" data-testid="order-balance">{i18n.money(order.balance, c)}</dd>
          </dl>
          {order.notes ? <p className="muted">{order.notes}</p> : null}
        </section>
        <section className="card">
          <h2>{t("order.schedule")}</h2>
          <ScheduleTable currency={c} entries={order.schedule} testId="order-schedule" />
          <h2>{t("detail.payments")}</h2>
          {order.payments.length === 0 ? <p className="muted">{t("detail.noPayments")}</p> : null}
          <ul className="payments" data-testid="payments">
            {order.payments.map((p) => (
              <li key={p.id}>
                <span>{i18n.dateTime(p.paid_at)}</span> <span>{t(`method.${p.method}`)}</span>{" "}
                <span className="num strong">{i18n.money(p.amount, c)}</span> <span className="muted">{p.recorded_by.name}</span>
                {p.reference ? <span className="muted mono"> · {p.reference}</span> : null}
                {p.reverses ? <span className="badge overdue">{t("detail.reversal")}</span> : null}
                {p.reversed_by ? <span className="badge">{t("detail.reversed")}</span> : null}
                {p.not_on_service ? <span className="badge overdue">{t("detail.notOnService")}</span> : null}
                {!p.reverses && !p.reversed_by && !p.not_on_service && order.status !== "deleted" ? (
                  <button type="button" name="reverse" className="link no-print" onClick={() => setReversing(p)}>
                    {t("detail.reverse")}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
          {order.status === "pending" ? (
            <form className="pay-form" onSubmit={recordPayment} aria-label={t("detail.recordPayment")}>
              <h3>{t("detail.recordPayment")}</h3>
              <div className="row">
                <Field label={t("detail.amount")} error={fieldError(pay.error, "amount")}>
                  {(id, d) => (
                    <input
                      id={id}
                      name="amount"
                      inputMode="decimal"
                      aria-describedby={d}
                      value={amount}
                      onChange={(e) => setAmount(e.target.value)}
                      onBlur={(e) => setAmount(showBack(i18n, e.target.value, i18n.minorUnits(order.currency)))}
                    />
                  )}
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
              </div>
              <FormError error={pay.error && !pay.error.field ? pay.error : null} />
              <FormActions busy={pay.busy} submitLabel={t("detail.pay")} />
            </form>
          ) : null}
        </section>
      </div>
      <div className="actions no-print">
        <FormError error={complete.error} />
        <Busy busy={complete.busy} />
        <button type="button" onClick={() => window.print()}>
          {t("detail.receipt")}
        </button>
        {open ? (
          <button type="button" onClick={() => setDialog("edit")}>
            {t("detail.edit")}
          </button>
        ) : null}
        {order.status === "paid" ? (
          <button type="button" disabled={complete.busy} onClick={() => void complete.run(() => backend.completeOrder(order.id)).then((o) => o && setOrder(o))}>
            {t("detail.complete")}
          </button>
        ) : null}
        {order.status !== "deleted" ? (
          <button type="button" className="danger" name="delete" onClick={() => setDialog("delete")}>
            {t("detail.delete")}
          </button>
        ) : null}
      </div>
      <Receipt order={order} shopName={props.shopName} header={props.settings.receipt_header} />
      {dialog === "delete" ? (
        <DeleteDialog
          order={order}
          session={props.session}
          staff={props.staff}
          onClose={() => setDialog(null)}
          onDeleted={(o) => {
            setOrder(o);
            setDialog(null);
          }}
        />
      ) : null}
      {reversing ? (
        <ReverseDialog
          order={order}
          payment={reversing}
          session={props.session}
          staff={props.staff}
          onClose={() => setReversing(null)}
          onReversed={(o) => {
            setOrder(o);
            setReversing(null);
          }}
        />
      ) : null}
      {dialog === "edit" ? (
        <EditDialog
          order={order}
          save={(edit) => backend.updateOrder(order.id, order.version, edit)}
          onClose={() => setDialog(null)}
          onSaved={(o) => {
            setOrder(o);
            setDialog(null);
          }}
        />
      ) : null}
    </section>
  );
}
