import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { DateInput } from "../components/DateInput";
import { BackendError, useBackend } from "../backend";
import type { Channel } from "../bindings/Channel";
import type { Interval } from "../bindings/Interval";
import type { ItemInput } from "../bindings/ItemInput";
import type { OrderDetail } from "../bindings/OrderDetail";
import type { NewOrder as NewOrderInput } from "../bindings/NewOrder";
import type { OrderPreview } from "../bindings/OrderPreview";
import type { PreviewInput } from "../bindings/PreviewInput";
import type { PaymentMethod } from "../bindings/PaymentMethod";
import type { PaymentTerms } from "../bindings/PaymentTerms";
import { Field, FormActions, FormError } from "../components/Field";
import { ScheduleTable } from "../components/SchedulePreview";
import { fieldError, useAction } from "../components/useAction";
import type { Currency } from "../bindings/Currency";
import { QUANTITY_DECIMALS, readNumber, showBack } from "../components/numbers";
import { useI18n, type I18n } from "../i18n";

type TermsKind = PaymentTerms["type"];
interface ItemRow {
  name: string;
  quantity: string;
  unit_price: string;
  discount: string;
}
export const methods: PaymentMethod[] = ["cash", "card", "bank_transfer", "check", "other"];

function isoDay(offsetDays: number): string {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  const m = String(d.getMonth() + 1).padStart(2, "0");
  const day = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${m}-${day}`;
}

const emptyItem = (): ItemRow => ({ name: "", quantity: "1", unit_price: "", discount: "" });

/** The items as typed, read in the active language (throws the first field's error). */
export function toItems(i18n: I18n, rows: ItemRow[], minor: number): ItemInput[] {
  return rows.map((r, i) => ({
    name: r.name,
    quantity: r.quantity.trim() ? readNumber(i18n, r.quantity, `items[${i}].quantity`, QUANTITY_DECIMALS) : "0",
    unit_price: r.unit_price.trim() ? readNumber(i18n, r.unit_price, `items[${i}].unit_price`, minor) : "0",
    discount: r.discount.trim() ? readNumber(i18n, r.discount, `items[${i}].discount`, minor) : undefined,
  }));
}

/** The counter's new-order screen: the form over the desktop core. */
export function NewOrder({ currency, onCreated }: { currency: Currency; onCreated: (o: OrderDetail) => void }) {
  const backend = useBackend();
  // stable, as the form previews again whenever `preview` changes
  const preview = useCallback((i: PreviewInput) => backend.previewOrder(i), [backend]);
  return <OrderForm currency={currency} preview={preview} create={(o) => backend.createOrder(o)} onCreated={onCreated} />;
}

/** A new order (walk-in or phone): customer, items, terms and the first payment, with the
 *  live preview of its totals and schedule from `preview` (the counter's core or the
 *  service, both `pos_domain::preview`), recorded by `create`. */
export function OrderForm<T>({
  currency,
  preview: previewOf,
  create,
  onCreated,
}: {
  currency: Currency;
  preview: (input: PreviewInput) => Promise<OrderPreview>;
  create: (order: NewOrderInput) => Promise<T>;
  onCreated: (o: T) => void;
}) {
  // `preview` must be stable (a new function each render would preview at every render)
  const i18n = useI18n();
  const t = i18n.t;
  const { busy, error, run } = useAction();
  const [channel, setChannel] = useState<Channel>("walk_in");
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [email, setEmail] = useState("");
  const [address, setAddress] = useState("");
  const [items, setItems] = useState<ItemRow[]>([emptyItem()]);
  const [discount, setDiscount] = useState("");
  const [notes, setNotes] = useState("");
  const [termsKind, setTermsKind] = useState<TermsKind>("full");
  const [downPayment, setDownPayment] = useState("");
  const [dueDate, setDueDate] = useState(isoDay(30));
  const [count, setCount] = useState("3");
  const [interval, setInterval] = useState<Interval>("monthly");
  const [firstDue, setFirstDue] = useState(isoDay(30));
  const [payAmount, setPayAmount] = useState("");
  const [payTouched, setPayTouched] = useState(false);
  const [method, setMethod] = useState<PaymentMethod>("cash");
  const [preview, setPreview] = useState<OrderPreview | null>(null);
  const [previewError, setPreviewError] = useState<BackendError | null>(null);

  const minor = i18n.minorUnits(currency);
  // The order as typed, every amount and quantity read in the active language; throws the
  // first field's error.
  const read = useMemo(
    () => () => {
      const dp = downPayment.trim() ? readNumber(i18n, downPayment, "payment_terms.down_payment", minor) : undefined;
      let terms: PaymentTerms;
      switch (termsKind) {
        case "full":
          terms = { type: "full" };
          break;
        case "down_payment":
          terms = { type: "down_payment", down_payment: dp ?? "0", due_date: dueDate };
          break;
        case "installment":
          terms = {
            type: "installment",
            down_payment: dp,
            installment_count: Number(readNumber(i18n, count, "payment_terms.installment_count", 0)),
            interval,
            first_due_date: firstDue,
          };
          break;
      }
      return {
        items: toItems(i18n, items, minor),
        discount: discount.trim() ? readNumber(i18n, discount, "discount", minor) : null,
        payment_terms: terms,
      };
    },
    [i18n, minor, items, discount, termsKind, downPayment, dueDate, count, interval, firstDue],
  );

  // The live preview: Rust prices the items and builds the schedule on every change.
  useEffect(() => {
    let current = true;
    const ready = items.some((i) => i.name.trim() && i.unit_price.trim());
    if (!ready) {
      setPreview(null);
      setPreviewError(null);
      return;
    }
    let input: ReturnType<typeof read>;
    try {
      input = read();
    } catch (e) {
      setPreview(null);
      setPreviewError(BackendError.from(e));
      return;
    }
    previewOf(input)
      .then((p) => {
        if (!current) return;
        setPreview(p);
        setPreviewError(null);
      })
      .catch((e: unknown) => {
        if (!current) return;
        setPreview(null);
        setPreviewError(BackendError.from(e));
      });
    return () => {
      current = false;
    };
  }, [previewOf, items, read]);

  // What is due today (full amount or down payment) is the suggested payment.
  const dueNow = preview?.schedule.find((e) => e.kind === "full" || e.kind === "down_payment")?.amount ?? "";
  const shownPay = payTouched ? payAmount : dueNow ? i18n.num(dueNow, 0, minor) : "";

  function setItem(index: number, patch: Partial<ItemRow>) {
    setItems((rows) => rows.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const order = await run(() => {
      const input = read();
      const amount = shownPay.trim() ? readNumber(i18n, shownPay, "initial_payment.amount", minor) : "";
      return create({
        id: null,
        channel,
        customer: {
          name,
          phone: phone.trim() ? phone.trim() : undefined,
          email: email.trim() ? email.trim() : undefined,
          address: address.trim() ? address.trim() : undefined,
        },
        ...input,
        notes: notes.trim() ? notes.trim() : null,
        initial_payment: amount && !/^0+(\.0+)?$/.test(amount) ? { id: null, amount, method, reference: null } : null,
      });
    });
    if (order) onCreated(order);
  }

  return (
    <form className="screen new-order" onSubmit={submit} aria-label={t("nav.new")} data-testid="new-order">
      <h1>{t("nav.new")}</h1>
      <div className="columns">
        <section className="card">
          <fieldset className="segmented" aria-label={t("order.channel")}>
            {(["walk_in", "phone"] as Channel[]).map((c) => (
              <label key={c} className={channel === c ? "selected" : ""}>
                <input type="radio" name="channel" value={c} checked={channel === c} onChange={() => setChannel(c)} />
                {t(`order.${c}`)}
              </label>
            ))}
          </fieldset>
          <h2>{t("order.customer")}</h2>
          <Field label={t("order.customerName")} error={fieldError(error, "customer.name")}>
            {(id, d) => <input id={id} name="customer_name" aria-describedby={d} value={name} onChange={(e) => setName(e.target.value)} autoFocus />}
          </Field>
          <div className="row">
            <Field label={t("order.customerPhone")} error={fieldError(error, "customer.phone")}>
              {(id, d) => <input id={id} name="customer_phone" type="tel" aria-describedby={d} value={phone} onChange={(e) => setPhone(e.target.value)} />}
            </Field>
            <Field label={t("order.customerEmail")} error={fieldError(error, "customer.email")}>
              {(id, d) => <input id={id} name="customer_email" type="email" aria-describedby={d} value={email} onChange={(e) => setEmail(e.target.value)} />}
            </Field>
          </div>
          {channel === "phone" ? (
            <Field label={t("order.customerAddress")} error={fieldError(error, "customer.address")}>
              {(id, d) => <input id={id} name="customer_address" aria-describedby={d} value={address} onChange={(e) => setAddress(e.target.value)} />}
            </Field>
          ) : null}

          <h2>{t("order.items")}</h2>
          <table className="items">
            <thead>
              <tr>
                <th>{t("order.itemName")}</th>
                <th>{t("order.quantity")}</th>
                <th>{t("order.unitPrice")}</th>
                <th>{t("order.lineDiscount")}</th>
                <th className="num">{t("order.lineTotal")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((row, i) => {
                const err = fieldError(error, `items[${i}]`) ?? fieldError(previewError, `items[${i}]`);
                return (
                  <tr key={i} className={err ? "has-error" : ""}>
                    <td>
                      <input aria-label={t("order.itemName")} name={`item_name_${i}`} value={row.name} onChange={(e) => setItem(i, { name: e.target.value })} />
                    </td>
                    <td>
                      <input aria-label={t("order.quantity")} name={`item_qty_${i}`} className="short" inputMode="decimal" value={row.quantity} onChange={(e) => setItem(i, { quantity: e.target.value })} onBlur={(e) => setItem(i, { quantity: showBack(i18n, e.target.value, QUANTITY_DECIMALS) })} />
                    </td>
                    <td>
                      <input aria-label={t("order.unitPrice")} name={`item_price_${i}`} className="money" inputMode="decimal" value={row.unit_price} onChange={(e) => setItem(i, { unit_price: e.target.value })} onBlur={(e) => setItem(i, { unit_price: showBack(i18n, e.target.value, minor) })} />
                    </td>
                    <td>
                      <input aria-label={t("order.lineDiscount")} name={`item_discount_${i}`} className="short" inputMode="decimal" value={row.discount} onChange={(e) => setItem(i, { discount: e.target.value })} onBlur={(e) => setItem(i, { discount: showBack(i18n, e.target.value, minor) })} />
                    </td>
                    <td className="num">{preview?.items[i] ? i18n.money(preview.items[i].line_total, currency) : ""}</td>
                    <td>
                      {items.length > 1 ? (
                        <button type="button" className="link" onClick={() => setItems((r) => r.filter((_, j) => j !== i))}>
                          {t("order.removeItem")}
                        </button>
                      ) : null}
                    </td>
                    {err ? (
                      <td className="field-error" role="alert">
                        {i18n.error(err)}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <button type="button" onClick={() => setItems((r) => [...r, emptyItem()])}>
            + {t("order.addItem")}
          </button>
          <div className="row">
            <Field label={t("order.discount")} error={fieldError(error, "discount") ?? fieldError(previewError, "discount")}>
              {(id, d) => <input id={id} name="order_discount" inputMode="decimal" aria-describedby={d} value={discount} onChange={(e) => setDiscount(e.target.value)} onBlur={(e) => setDiscount(showBack(i18n, e.target.value, minor))} />}
            </Field>
            <Field label={t("order.notes")} error={fieldError(error, "notes")}>
              {(id, d) => <input id={id} name="notes" aria-describedby={d} value={notes} onChange={(e) => setNotes(e.target.value)} />}
            </Field>
          </div>
        </section>

        <section className="card">
          <h2>{t("order.terms")}</h2>
          <fieldset className="segmented" aria-label={t("order.terms")}>
            {(["full", "down_payment", "installment"] as TermsKind[]).map((k) => (
              <label key={k} className={termsKind === k ? "selected" : ""}>
                <input type="radio" name="terms" value={k} checked={termsKind === k} onChange={() => setTermsKind(k)} />
                {t(`terms.${k}`)}
              </label>
            ))}
          </fieldset>
          {termsKind !== "full" ? (
            <Field label={t("terms.downPayment")} error={fieldError(error, "payment_terms.down_payment") ?? fieldError(previewError, "payment_terms.down_payment")}>
              {(id, d) => <input id={id} name="down_payment" inputMode="decimal" aria-describedby={d} value={downPayment} onChange={(e) => setDownPayment(e.target.value)} onBlur={(e) => setDownPayment(showBack(i18n, e.target.value, minor))} />}
            </Field>
          ) : null}
          {termsKind === "down_payment" ? (
            <Field label={t("terms.dueDate")} error={fieldError(error, "payment_terms.due_date") ?? fieldError(previewError, "payment_terms.due_date")}>
              {(id, d) => <DateInput id={id} name="due_date" aria-describedby={d} value={dueDate} onChange={setDueDate} />}
            </Field>
          ) : null}
          {termsKind === "installment" ? (
            <div className="row">
              <Field label={t("terms.count")} error={fieldError(error, "payment_terms.installment_count") ?? fieldError(previewError, "payment_terms.installment_count")}>
                {(id, d) => <input id={id} name="installment_count" className="short" inputMode="numeric" aria-describedby={d} value={count} onChange={(e) => setCount(e.target.value)} />}
              </Field>
              <Field label={t("terms.interval")}>
                {(id) => (
                  <select id={id} name="interval" value={interval} onChange={(e) => setInterval(e.target.value as Interval)}>
                    <option value="weekly">{t("terms.weekly")}</option>
                    <option value="monthly">{t("terms.monthly")}</option>
                  </select>
                )}
              </Field>
              <Field label={t("terms.firstDue")} error={fieldError(error, "payment_terms.first_due_date") ?? fieldError(previewError, "payment_terms.first_due_date")}>
                {(id, d) => <DateInput id={id} name="first_due_date" aria-describedby={d} value={firstDue} onChange={setFirstDue} />}
              </Field>
            </div>
          ) : null}

          <h3>{t("order.schedulePreview")}</h3>
          {preview ? (
            <>
              <dl className="totals" data-testid="preview-totals">
                <dt>{t("order.subtotal")}</dt>
                <dd>{i18n.money(preview.totals.subtotal, currency)}</dd>
                <dt>{t("order.discount")}</dt>
                <dd>{i18n.money(preview.totals.discount, currency)}</dd>
                <dt>{t("order.total")}</dt>
                <dd className="strong" data-testid="preview-total">{i18n.money(preview.totals.total, currency)}</dd>
              </dl>
              <ScheduleTable currency={currency} entries={preview.schedule} testId="schedule-preview" />
            </>
          ) : previewError && !previewError.field?.startsWith("items") ? (
            <p className="muted" data-testid="preview-error">{i18n.error(previewError)}</p>
          ) : (
            <p className="muted">{t("common.none")}</p>
          )}

          <h3>{t("order.firstPayment")}</h3>
          <div className="row">
            <Field label={t("detail.amount")} error={fieldError(error, "initial_payment.amount", "amount")}>
              {(id, d) => (
                <input
                  id={id}
                  name="payment_amount"
                  inputMode="decimal"
                  aria-describedby={d}
                  value={shownPay}
                  onChange={(e) => {
                    setPayTouched(true);
                    setPayAmount(e.target.value);
                  }}
                  onBlur={(e) => setPayAmount(showBack(i18n, e.target.value, minor))}
                />
              )}
            </Field>
            <Field label={t("order.method")}>
              {(id) => (
                <select id={id} name="payment_method" value={method} onChange={(e) => setMethod(e.target.value as PaymentMethod)}>
                  {methods.map((m) => (
                    <option key={m} value={m}>
                      {t(`method.${m}`)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
        </section>
      </div>
      <div className="total-bar" data-testid="order-total-bar">
        <FormError error={error && !error.field ? error : null} />
        <FormError error={error?.field === "payment_terms" ? error : null} />
        <span>
          {t("order.total")} <span className="total-figure">{preview ? i18n.money(preview.totals.total, currency) : "—"}</span>
        </span>
        <FormActions busy={busy} submitLabel={t("order.submit")} />
      </div>
    </form>
  );
}
