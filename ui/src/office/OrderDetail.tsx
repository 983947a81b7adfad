import { useCallback, useEffect, useState, type FormEvent } from "react";
import type { Currency } from "../bindings/Currency";
import type { OrderStatus as CounterStatus } from "../bindings/OrderStatus";
import type { PaymentMethod } from "../bindings/PaymentMethod";
import type { ScheduleLine } from "../bindings/ScheduleLine";
import type { OrderEdit } from "../bindings/OrderEdit";
import { OrderBadges } from "../components/Badges";
import { Dialog } from "../components/Dialog";
import { EditDialog } from "../components/EditDialog";
import { Field, FormActions, FormError } from "../components/Field";
import { readNumber } from "../components/numbers";
import { ScheduleTable } from "../components/SchedulePreview";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { methods } from "../screens/NewOrder";
import { BackendError } from "../backend";
import { answer, useOffice, type AuditEvent, type Counter, type OfficeClient, type OrderView } from "./api/client";
import { AuditTable } from "./Audit";

/** Saves `edit` at `version` (If-Match); a newer version on the service is a conflict. */
async function saveEdit(client: OfficeClient, id: string, version: number, edit: OrderEdit): Promise<OrderView> {
  return answer(client.PATCH("/offline-orders/{id}", { params: { path: { id }, header: { "If-Match": `"${version}"` } }, body: edit }));
}

/** Two versions of one order: the edit this user made and what the service holds now. */
interface Conflict {
  mine: OrderEdit;
  theirs: OrderView;
}

/** One order as the office sees it: customer, items, totals, the schedule per installment,
 *  the payment history, recording a payment, editing (at the version shown: a change made
 *  meanwhile shows both versions and lets the user save theirs again or keep the other), and
 *  deleting with a reason (owner or manager; an order that holds money is refunded first). */
export function OrderDetail(props: { id: string; canApprove: boolean; onBack: () => void }) {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const load = useAction();
  const pay = useAction();
  const [order, setOrder] = useState<OrderView | null>(null);
  const [amount, setAmount] = useState("");
  const [method, setMethod] = useState<PaymentMethod>("cash");
  const [reference, setReference] = useState("");
  const [dialog, setDialog] = useState<"edit" | "delete" | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);

  // `load` is a new object at each render; its `run` is stable (reading the order once, not
  // at every render)
  const loadRun = load.run;
  const refresh = useCallback(async () => {
    const o = await loadRun(() => answer(client.GET("/offline-orders/{id}", { params: { path: { id: props.id } } })));
    if (o) setOrder(o);
  }, [client, loadRun, props.id]);

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

  /** The edit form's save: a stale version closes the form and shows both versions. */
  const save = (o: OrderView) => async (edit: OrderEdit) => {
    try {
      return await saveEdit(client, o.id, o.version, edit);
    } catch (e) {
      if (BackendError.from(e).code !== "stale_version") throw e;
      const theirs = await answer(client.GET("/offline-orders/{id}", { params: { path: { id: o.id } } }));
      setDialog(null);
      setOrder(theirs);
      setConflict({ mine: edit, theirs });
      return null;
    }
  };

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
        {open ? (
          <button type="button" name="edit" onClick={() => setDialog("edit")}>
            {t("detail.edit")}
          </button>
        ) : null}
        {props.canApprove && order.status !== "deleted" ? (
          <button type="button" name="delete" className="danger" onClick={() => setDialog("delete")}>
            {t("detail.delete")}
          </button>
        ) : null}
      </div>
      {conflict ? (
        <ConflictCard
          conflict={conflict}
          onKeepTheirs={() => setConflict(null)}
          onSaveMine={async () => {
            const saved = await save(conflict.theirs)(conflict.mine);
            if (saved) {
              setOrder(saved);
              setConflict(null);
            }
          }}
        />
      ) : null}
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
        <p className="muted" data-testid="order-origin">
          {order.origin?.device_code
            ? t("office.origin.counter", {
                counter: order.origin.device_code,
                who: order.origin.recorded_by_name ?? "",
                at: order.origin.received_at ? i18n.dateTime(order.origin.received_at) : "",
              })
            : t("office.origin.office", { who: order.origin?.recorded_by_name ?? "" })}
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
                <td data-testid="payment-taken">{p.recorded_by_name ?? ""}</td>
                <td>{p.device_code ?? t("office.origin.at_office")}</td>
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
      {props.canApprove ? <OrderTrail id={order.id} version={order.version} paid={order.paid} /> : null}
      {dialog === "edit" ? (
        <EditDialog
          order={order}
          save={save(order)}
          onClose={() => setDialog(null)}
          onSaved={(o) => {
            if (o) setOrder(o);
            setDialog(null);
          }}
        />
      ) : null}
      {dialog === "delete" ? (
        <DeleteOrder
          order={order}
          onClose={() => setDialog(null)}
          onDeleted={(o) => {
            setOrder(o);
            setDialog(null);
          }}
        />
      ) : null}
    </section>
  );
}

/** Both versions of an order side by side: the user's edit, not saved, and what the service
 *  holds now; the user saves theirs over it (at the new version) or keeps the other. */
function ConflictCard(props: { conflict: Conflict; onSaveMine: () => Promise<void>; onKeepTheirs: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const { mine, theirs } = props.conflict;
  const currency = theirs.currency as Currency;
  const side = (title: string, testId: string, c: { name: string; phone?: string | null; email?: string | null }, items: { name: string; quantity: string; unit_price: string }[], notes: string | null | undefined) => (
    <div className="card" data-testid={testId}>
      <h3>{title}</h3>
      <p>
        <strong>{c.name}</strong>
        {c.phone ? <> · {c.phone}</> : null}
        {c.email ? <> · {c.email}</> : null}
      </p>
      <ul>
        {items.map((it, i) => (
          <li key={i}>
            {it.name}: {i18n.num(it.quantity)} × {i18n.money(it.unit_price, currency)}
          </li>
        ))}
      </ul>
      {notes ? <p className="muted">{notes}</p> : null}
    </div>
  );
  return (
    <div className="conflict" role="alert" data-testid="edit-conflict">
      <p>{t("office.conflict.intro", { version: theirs.version })}</p>
      <div className="row">
        {side(t("office.conflict.mine"), "conflict-mine", mine.customer, mine.items, mine.notes)}
        {side(t("office.conflict.theirs"), "conflict-theirs", theirs.customer, theirs.items, theirs.notes)}
      </div>
      <FormError error={error} />
      <div className="actions">
        <button type="button" name="keep-theirs" onClick={props.onKeepTheirs} disabled={busy}>
          {t("office.conflict.keep_theirs")}
        </button>
        <button type="button" name="save-mine" className="primary" onClick={() => void run(props.onSaveMine)} disabled={busy}>
          {t("office.conflict.save_mine")}
        </button>
      </div>
    </div>
  );
}

/** Deleting an order at the office, by its owner or a manager (the approver), with a reason.
 *  An order that holds money has its payments refunded (reversed) first, with the same
 *  reason, as the service's rule asks. */
function DeleteOrder(props: { order: OrderView; onClose: () => void; onDeleted: (o: OrderView) => void }) {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const [reason, setReason] = useState("");
  const o = props.order;
  const reversed = new Set(o.payments.map((p) => p.reverses).filter((id): id is string => !!id));
  const toRefund = o.payments.filter((p) => !p.reverses && !reversed.has(p.id) && !p.amount.startsWith("-") && !/^0*(\.0*)?$/.test(p.amount));

  async function submit(e: FormEvent) {
    e.preventDefault();
    const done = await run(async () => {
      for (const p of toRefund) {
        await answer(
          client.POST("/offline-orders/{id}/payments/{payment_id}/reversal", {
            params: { path: { id: o.id, payment_id: p.id } },
            body: { reason },
          }),
        );
      }
      await answer(client.DELETE("/offline-orders/{id}", { params: { path: { id: o.id } }, body: { reason } }));
      return answer(client.GET("/offline-orders/{id}", { params: { path: { id: o.id } } }));
    });
    if (done) props.onDeleted(done);
  }

  return (
    <Dialog title={t("delete.title", { number: o.order_number })} onClose={props.onClose} testId="delete-dialog">
      <form onSubmit={submit}>
        {toRefund.length > 0 ? (
          <p className="notice" data-testid="refund-notice">
            {t("delete.refundNotice", { amount: i18n.money(o.paid, o.currency as Currency) })}
          </p>
        ) : null}
        <Field label={t("delete.reason")} error={fieldError(error, "reason")}>
          {(id, d) => <input id={id} name="reason" aria-describedby={d} value={reason} onChange={(e) => setReason(e.target.value)} />}
        </Field>
        <FormError error={error && error.field !== "reason" ? error : null} />
        <FormActions busy={busy} danger name="confirm-delete" submitLabel={toRefund.length > 0 ? t("delete.refundConfirm") : t("delete.confirm")} disabled={!reason.trim()} onCancel={props.onClose} />
      </form>
    </Dialog>
  );
}

/** The order's own audit trail (owners and managers, as the API allows), read again when the
 *  order changes. */
function OrderTrail(props: { id: string; version: number; paid: string }) {
  const client = useOffice();
  const { t } = useI18n();
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [counters, setCounters] = useState<Counter[]>([]);
  const { id, version, paid } = props;
  useEffect(() => {
    answer(client.GET("/audit-events", { params: { query: { entity_id: id, limit: 200 } } })).then(
      // what happened to it; each reading of it is in the audit screen
      (p) => setEvents(p.items.filter((e) => e.action !== "READ")),
      () => setEvents(null),
    );
    answer(client.GET("/devices")).then(setCounters, () => undefined);
  }, [client, id, version, paid]);
  if (!events) return null;
  const chainName = (d: string) => counters.find((c) => c.id === d)?.device_code ?? t("office.audit.service");
  return (
    <>
      <h2>{t("office.trail.title")}</h2>
      <AuditTable events={events} chainName={chainName} testId="order-trail" />
    </>
  );
}
