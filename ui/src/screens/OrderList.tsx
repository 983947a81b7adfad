import { useCallback, useEffect, useState, type FormEvent } from "react";
import { DateInput } from "../components/DateInput";
import { useBackend } from "../backend";
import type { Channel } from "../bindings/Channel";
import type { OrderStatus } from "../bindings/OrderStatus";
import type { OrderSummary } from "../bindings/OrderSummary";
import { OrderBadges } from "../components/Badges";
import { Busy, FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";

const statuses: OrderStatus[] = ["pending", "paid", "completed", "deleted"];

export function OrderList({ onOpen }: { onOpen: (id: string) => void }) {
  const backend = useBackend();
  const i18n = useI18n();
  const t = i18n.t;
  const { busy, error, run } = useAction();
  const [status, setStatus] = useState<OrderStatus | "">("");
  const [channel, setChannel] = useState<Channel | "">("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [q, setQ] = useState("");
  const [applied, setApplied] = useState("");
  const [rows, setRows] = useState<OrderSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      const page = await run(() =>
        backend.listOrders({
          status: status || null,
          channel: channel || null,
          from: from || null,
          to: to || null,
          q: applied.trim() ? applied.trim() : null,
          search: null,
          limit: 50,
          cursor: after,
        }),
      );
      if (page) {
        setRows((r) => (after ? [...r, ...page.items] : page.items));
        setCursor(page.next_cursor);
      }
    },
    [backend, run, status, channel, from, to, applied],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  function search(e: FormEvent) {
    e.preventDefault();
    setApplied(q);
  }

  return (
    <section className="screen" data-testid="order-list">
      <h1>{t("list.title")}</h1>
      <form className="filters" onSubmit={search} role="search">
        <input aria-label={t("common.search")} name="q" placeholder={t("list.searchPlaceholder")} value={q} onChange={(e) => setQ(e.target.value)} />
        <button type="submit">{t("common.search")}</button>
        <select aria-label={t("list.status")} name="status" value={status} onChange={(e) => setStatus(e.target.value as OrderStatus | "")}>
          <option value="">{t("common.all")}</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {t(`status.${s}`)}
            </option>
          ))}
        </select>
        <select aria-label={t("order.channel")} name="channel" value={channel} onChange={(e) => setChannel(e.target.value as Channel | "")}>
          <option value="">{t("common.all")}</option>
          <option value="walk_in">{t("order.walk_in")}</option>
          <option value="phone">{t("order.phone")}</option>
        </select>
        <label>
          {t("common.from")} <DateInput name="from" value={from} onChange={setFrom} />
        </label>
        <label>
          {t("common.to")} <DateInput name="to" value={to} onChange={setTo} />
        </label>
        <Busy busy={busy} />
      </form>
      <FormError error={error} />
      <table className="orders">
        <thead>
          <tr>
            <th>{t("list.number")}</th>
            <th>{t("list.date")}</th>
            <th>{t("order.customer")}</th>
            <th>{t("order.channel")}</th>
            <th className="num">{t("order.total")}</th>
            <th className="num">{t("order.balance")}</th>
            <th>{t("list.status")}</th>
            <th>{t("list.sync")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((o) => (
            <tr key={o.id} data-order-number={o.order_number} className="clickable" tabIndex={0} onClick={() => onOpen(o.id)} onKeyDown={(e) => e.key === "Enter" && onOpen(o.id)}>
              <td className="mono">{o.order_number}</td>
              <td>{i18n.date(o.business_date)}</td>
              <td className="name" title={o.customer_name}>{o.customer_name}</td>
              <td>{t(`order.${o.channel}`)}</td>
              <td className="num">{i18n.money(o.total, o.currency)}</td>
              <td className="num">{i18n.money(o.balance, o.currency)}</td>
              <td>
                <OrderBadges status={o.status} partlyPaid={o.partly_paid} overdue={o.overdue} />
              </td>
              <td>
                <span className={`sync sync-${o.sync_state}`}>{o.sync_state === "synced" ? t("sync.synced") : o.sync_state === "pending" ? t("sync.pending") : t("sync.attention")}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && !busy ? <p className="muted">{t("common.none")}</p> : null}
      {cursor ? (
        <button type="button" onClick={() => void load(cursor)} disabled={busy}>
          {t("common.more")}
        </button>
      ) : null}
    </section>
  );
}
