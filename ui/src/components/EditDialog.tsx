import { useState, type FormEvent } from "react";
import type { Currency } from "../bindings/Currency";
import type { Customer } from "../bindings/Customer";
import type { OrderEdit } from "../bindings/OrderEdit";
import { useI18n } from "../i18n";
import { Dialog } from "./Dialog";
import { Field, FormActions, FormError } from "./Field";
import { QUANTITY_DECIMALS, readNumber } from "./numbers";
import { fieldError, useAction } from "./useAction";

/** What the edit form needs of an order (the counter's OrderDetail and the office's OrderView
 *  both have it). */
export interface EditableOrder {
  order_number: string;
  currency: Currency | string;
  customer: Customer;
  items: { name: string; quantity: string; unit_price: string; discount?: string | null }[];
  discount: string;
  notes?: string | null;
}

/** Editing an order: customer, items, discount and notes, saved by `save` (the counter's core or
 *  the service, which bump the version, regenerate the schedule and refuse a total below what
 *  was paid). */
export function EditDialog<T>(props: { order: EditableOrder; save: (edit: OrderEdit) => Promise<T>; onClose: () => void; onSaved: (o: T) => void }) {
  const i18n = useI18n();
  const t = i18n.t;
  const { busy, error, run } = useAction();
  const o = props.order;
  const [name, setName] = useState(o.customer.name);
  const [phone, setPhone] = useState(o.customer.phone ?? "");
  const [email, setEmail] = useState(o.customer.email ?? "");
  const minor = i18n.minorUnits(o.currency as Currency);
  // The stored values shown as the active language writes them, and read back the same way.
  const [items, setItems] = useState(
    o.items.map((it) => ({
      name: it.name,
      quantity: i18n.num(it.quantity, 0, QUANTITY_DECIMALS),
      unit_price: i18n.num(it.unit_price, 0, minor),
      discount: it.discount ? i18n.num(it.discount, 0, minor) : "",
    })),
  );
  const [discount, setDiscount] = useState(i18n.num(o.discount, 0, minor));
  const [notes, setNotes] = useState(o.notes ?? "");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const saved = await run(() =>
      props.save({
        customer: { name, phone: phone.trim() || undefined, email: email.trim() || undefined, address: o.customer.address },
        items: items.map((it, i) => ({
          name: it.name,
          quantity: readNumber(i18n, it.quantity, `items[${i}].quantity`, QUANTITY_DECIMALS),
          unit_price: readNumber(i18n, it.unit_price, `items[${i}].unit_price`, minor),
          discount: it.discount.trim() ? readNumber(i18n, it.discount, `items[${i}].discount`, minor) : undefined,
        })),
        discount: discount.trim() ? readNumber(i18n, discount, "discount", minor) : null,
        notes: notes.trim() ? notes.trim() : null,
      }),
    );
    if (saved) props.onSaved(saved);
  }

  return (
    <Dialog title={`${t("detail.edit")} ${o.order_number}`} onClose={props.onClose} testId="edit-dialog">
      <form onSubmit={submit}>
        <Field label={t("order.customerName")} error={fieldError(error, "customer.name")}>
          {(id, d) => <input id={id} name="customer_name" aria-describedby={d} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <div className="row">
          <Field label={t("order.customerPhone")} error={fieldError(error, "customer.phone")}>
            {(id, d) => <input id={id} name="customer_phone" aria-describedby={d} value={phone} onChange={(e) => setPhone(e.target.value)} />}
          </Field>
          <Field label={t("order.customerEmail")} error={fieldError(error, "customer.email")}>
            {(id, d) => <input id={id} name="customer_email" aria-describedby={d} value={email} onChange={(e) => setEmail(e.target.value)} />}
          </Field>
        </div>
        {items.map((it, i) => (
          <div className="row" key={i}>
            <input aria-label={t("order.itemName")} value={it.name} onChange={(e) => setItems((r) => r.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
            <input aria-label={t("order.quantity")} className="short" value={it.quantity} onChange={(e) => setItems((r) => r.map((x, j) => (j === i ? { ...x, quantity: e.target.value } : x)))} />
            <input aria-label={t("order.unitPrice")} value={it.unit_price} onChange={(e) => setItems((r) => r.map((x, j) => (j === i ? { ...x, unit_price: e.target.value } : x)))} />
            <input aria-label={t("order.lineDiscount")} className="short" value={it.discount} onChange={(e) => setItems((r) => r.map((x, j) => (j === i ? { ...x, discount: e.target.value } : x)))} />
          </div>
        ))}
        <div className="row">
          <Field label={t("order.discount")} error={fieldError(error, "discount")}>
            {(id, d) => <input id={id} aria-describedby={d} value={discount} onChange={(e) => setDiscount(e.target.value)} />}
          </Field>
          <Field label={t("order.notes")} error={fieldError(error, "notes")}>
            {(id, d) => <input id={id} aria-describedby={d} value={notes} onChange={(e) => setNotes(e.target.value)} />}
          </Field>
        </div>
        <FormError error={error && (!error.field || error.field === "items" || error.field.startsWith("items[")) ? error : null} />
        <FormActions busy={busy} submitLabel={t("common.save")} onCancel={props.onClose} />
      </form>
    </Dialog>
  );
}
