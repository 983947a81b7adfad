import { useCallback, useEffect, useState, type FormEvent } from "react";
import type { Currency } from "../bindings/Currency";
import type { OrderStatus as CounterStatus } from "../bindings/OrderStatus";
import { OrderBadges } from "../components/Badges";
import { DateInput } from "../components/DateInput";
import { FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { answer, useOffice, type Channel, type Counter, type ListTotals, type OfficeClient, type OrderStatus, type OrderView, type Role } from "./api/client";

interface Filter {
  status: OrderStatus | "";
  channel: Channel | "";
  from: string;
  to: string;
  q: string;
  device: string;
  overdue: boolean;
}

const EMPTY: Filter = { status: "", channel: "", from: "", to: "", q: "", device: "", overdue: false };

/** The filter as the service reads it (the list, its totals and the export take the same). */
function query(f: Filter) {
  return {
    status: f.status || null,
    channel: f.channel || null,
    from: f.from || null,
    to: f.to || null,
    q: f.q.trim() || null,
    device_id: f.device || null,
    overdue: f.overdue || null,
  };
}

/** Downloads the CSV export of the filtered orders or their payments (audited by the service). */
async function download(client: OfficeClient, f: Filter, kind: "orders" | "payments", withCustomers: boolean) {
  const r = await client.POST("/offline-orders/export", { body: { ...query(f), kind, include_customer_data: withCustomers }, parseAs: "blob" });
  if (!r.response.ok || !r.data) {
    await answer(Promise.resolve({ error: r.error ?? {}, response: r.response }));
    return;
  }
  const url = URL.createObjectURL(r.data);
  const a = document.createElement("a");
  a.href = url;
  a.download = /filename="([^"]+)"/.exec(r.response.headers.get("content-disposition") ?? "")?.[1] ?? `${kind}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}
const STATUSES: OrderStatus[] = ["pending", "paid", "completed", "deleted"];
const CHANNELS: Channel[] = ["walk_in", "phone"];

/** Every counter's orders (and the API's): filters (status, channel, days, counter, overdue
 *  only), search by number, phone, e-mail or name word, cursor paging, what every matching
 *  order adds up to, and the CSV export for the accountant (owners and managers; customer
 *  data only when the owner asks for it). */
export function Orders(props: { role: Role; onOpen: (id: string) => void }) {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const [draft, setDraft] = useState<Filter>(EMPTY);
  const [filter, setFilter] = useState<Filter>(EMPTY);
  const [rows, setRows] = useState<OrderView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [totals, setTotals] = useState<ListTotals | null>(null);
  const [counters, setCounters] = useState<Counter[]>([]);
  const [withCustomers, setWithCustomers] = useState(false);
  const approver = props.role === "owner" || props.role === "manager";

  const load = useCallback(
    async (f: Filter, after: string | null) => {
      const page = await run(() =>
        // POST, not GET: a searched phone number, e-mail or name never goes into a URL
        answer(
          client.POST("/offline-orders/search", { body: { ...query(f), cursor: after, limit: 50 } }),
        ),
      );
      if (!page) {
        // a refused search shows its error alone, not the previous search's orders and totals
        if (!after) {
          setRows([]);
          setCursor(null);
          setTotals(null);
        }
        return;
      }
      setRows((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor ?? null);
      if (page.totals) setTotals(page.totals);
    },
    [client, run],
  );

  useEffect(() => {
    void load(filter, null);
  }, [filter, load]);

  useEffect(() => {
    // the counters to filter by (the list of counters is an owner's or a manager's)
    if (approver) answer(client.GET("/devices")).then(setCounters, () => undefined);
  }, [client, approver]);

  function apply(e: FormEvent) {
    e.preventDefault();
    setFilter(draft);
  }

  const currency = (rows[0]?.currency ?? "IDR") as Currency;
  return (
    <section aria-labelledby="orders-title">
      <h1 id="orders-title">{t("office.orders.title")}</h1>
      <form className="filters" onSubmit={apply} aria-label={t("common.search")}>
        <input name="q" type="search" placeholder={t("common.search")} aria-label={t("common.search")} value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        <select name="status" aria-label={t("list.status")} value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value as Filter["status"] })}>
          <option value="">{t("common.all")}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`status.${s}`)}
            </option>
          ))}
        </select>
        <select name="channel" aria-label={t("order.channel")} value={draft.channel} onChange={(e) => setDraft({ ...draft, channel: e.target.value as Filter["channel"] })}>
          <option value="">{t("common.all")}</option>
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {t(`order.${c}`)}
            </option>
          ))}
        </select>
        <label>
          {t("common.from")} <DateInput name="from" value={draft.from} onChange={(v) => setDraft({ ...draft, from: v })} />
        </label>
        <label>
          {t("common.to")} <DateInput name="to" value={draft.to} onChange={(v) => setDraft({ ...draft, to: v })} />
        </label>
        {counters.length > 0 ? (
          <select name="device" aria-label={t("office.orders.counter")} value={draft.device} onChange={(e) => setDraft({ ...draft, device: e.target.value })}>
            <option value="">{t("common.all")}</option>
            {counters.map((c) => (
              <option key={c.id} value={c.id}>
                {c.device_code}
              </option>
            ))}
          </select>
        ) : null}
        <label>
          <input name="overdue" type="checkbox" checked={draft.overdue} onChange={(e) => setDraft({ ...draft, overdue: e.target.checked })} /> {t("office.orders.overdue_only")}
        </label>
        <button type="submit" name="apply" disabled={busy}>
          {t("common.search")}
        </button>
      </form>
      <FormError error={error} />
      {totals ? (
        <p className="muted" data-testid="orders-summary">
          {t("office.orders.totals", {
            count: totals.orders,
            total: i18n.money(totals.total, currency),
            paid: i18n.money(totals.paid, currency),
            balance: i18n.money(totals.balance, currency),
          })}
        </p>
      ) : null}
      {approver ? (
        <div className="actions export" data-testid="export">
          {props.role === "owner" ? (
            <label>
              <input name="with-customers" type="checkbox" checked={withCustomers} onChange={(e) => setWithCustomers(e.target.checked)} /> {t("office.export.with_customers")}
            </label>
          ) : null}
          <button type="button" name="export-orders" disabled={busy} onClick={() => void run(() => download(client, filter, "orders", withCustomers))}>
            {t("office.export.orders")}
          </button>
          <button type="button" name="export-payments" disabled={busy} onClick={() => void run(() => download(client, filter, "payments", withCustomers))}>
            {t("office.export.payments")}
          </button>
        </div>
      ) : null}
      {rows.length === 0 && !busy ? <p className="muted">{t("common.none")}</p> : null}
      {rows.length > 0 ? (
        <table className="list" data-testid="office-orders">
          <thead>
            <tr>
              <th>{t("list.number")}</th>
              <th>{t("list.date")}</th>
              <th>{t("order.customer")}</th>
              <th>{t("order.channel")}</th>
              <th>{t("list.status")}</th>
              <th className="num">{t("order.total")}</th>
              <th className="num">{t("order.balance")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((o) => (
              <tr key={o.id} data-order={o.order_number}>
                <td className="nowrap">
                  <button type="button" className="link" name="open-order" onClick={() => props.onOpen(o.id)}>
                    {o.order_number}
                  </button>
                </td>
                <td className="nowrap">{i18n.date(o.business_date)}</td>
                <td>{o.customer.name}</td>
                <td>{t(`order.${o.channel as Channel}`)}</td>
                <td>
                  <OrderBadges status={o.status as CounterStatus} partlyPaid={o.partly_paid} overdue={o.overdue} />
                </td>
                <td className="num nowrap">{i18n.money(o.total, o.currency as Currency)}</td>
                <td className="num nowrap">{i18n.money(o.balance, o.currency as Currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {cursor ? (
        <button type="button" name="more" onClick={() => void load(filter, cursor)} disabled={busy}>
          {t("common.more")}
        </button>
      ) : null}
    </section>
  );
}
