import { useCallback, useEffect, useState, type FormEvent } from "react";
import type { Currency } from "../bindings/Currency";
import type { OrderStatus as CounterStatus } from "../bindings/OrderStatus";
import { OrderBadges } from "../components/Badges";
import { DateInput } from "../components/DateInput";
import { FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { answer, useOffice, type Channel, type OrderStatus, type OrderView } from "./api/client";

interface Filter {
  status: OrderStatus | "";
  channel: Channel | "";
  from: string;
  to: string;
  q: string;
}

const EMPTY: Filter = { status: "", channel: "", from: "", to: "", q: "" };
const STATUSES: OrderStatus[] = ["pending", "paid", "completed", "deleted"];
const CHANNELS: Channel[] = ["walk_in", "phone"];

/** Every counter's orders (and the API's): filters, search by number, phone, e-mail or name
 *  word, cursor paging, and what the shown orders add up to. */
export function Orders(props: { onOpen: (id: string) => void }) {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const [draft, setDraft] = useState<Filter>(EMPTY);
  const [filter, setFilter] = useState<Filter>(EMPTY);
  const [rows, setRows] = useState<OrderView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);

  const load = useCallback(
    async (f: Filter, after: string | null) => {
      const page = await run(() =>
        // POST, not GET: a searched phone number, e-mail or name never goes into a URL
        answer(
          client.POST("/offline-orders/search", {
            body: {
              status: f.status || null,
              channel: f.channel || null,
              from: f.from || null,
              to: f.to || null,
              q: f.q.trim() || null,
              cursor: after,
              limit: 50,
            },
          }),
        ),
      );
      if (!page) return;
      setRows((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor ?? null);
    },
    [client, run],
  );

  useEffect(() => {
    void load(filter, null);
  }, [filter, load]);

  function apply(e: FormEvent) {
    e.preventDefault();
    setFilter(draft);
  }

  const currency = (rows[0]?.currency ?? "IDR") as Currency;
  // a deleted order holds no money (refund before delete): it is shown, not summed
  const standing = rows.filter((o) => o.status !== "deleted");
  const sum = (pick: (o: OrderView) => string) => standing.reduce((acc, o) => addDecimal(acc, pick(o)), "0");
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
        <button type="submit" name="apply" disabled={busy}>
          {t("common.search")}
        </button>
      </form>
      <FormError error={error} />
      <p className="muted" data-testid="orders-summary">
        {t("office.orders.shown", { count: rows.length, total: i18n.money(sum((o) => o.total), currency), paid: i18n.money(sum((o) => o.paid), currency) })}
      </p>
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

/** Adds two exact decimal strings (amounts never pass through a JavaScript Number). */
export function addDecimal(a: string, b: string): string {
  const scale = Math.max(decimals(a), decimals(b));
  const big = (v: string) => {
    const [int = "0", frac = ""] = v.replace("-", "").split(".");
    const n = BigInt(int + frac.padEnd(scale, "0"));
    return v.startsWith("-") ? -n : n;
  };
  const sum = big(a) + big(b);
  const neg = sum < 0n;
  const digits = (neg ? -sum : sum).toString().padStart(scale + 1, "0");
  const out = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return neg ? `-${out}` : out;
}

function decimals(v: string): number {
  return v.split(".")[1]?.length ?? 0;
}
