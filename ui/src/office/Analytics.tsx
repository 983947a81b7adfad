import { useCallback, useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Currency } from "../bindings/Currency";
import { DateInput } from "../components/DateInput";
import { Busy, FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { Tile } from "../screens/Dashboard";
import { answer, useOffice, type Summary } from "./api/client";

/** The first day of `day`'s month (YYYY-MM-DD). */
function monthStart(day: string): string {
  return `${day.slice(0, 8)}01`;
}

/** The shop's figures for a range of business days (owners and managers, as the API allows):
 *  orders, collected vs outstanding, overdue installments, the payment completion rate, and
 *  per day and per counter with charts. The range starts as this month, by the shop's day. */
export function Analytics() {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const [range, setRange] = useState<{ from: string; to: string } | null>(null);
  const [figures, setFigures] = useState<Summary | null>(null);

  useEffect(() => {
    // the shop's today, not this computer's
    answer(client.GET("/tenant")).then(
      (shop) => setRange({ from: monthStart(shop.business_date), to: shop.business_date }),
      () => undefined,
    );
  }, [client]);

  const load = useCallback(
    async (r: { from: string; to: string }) => {
      const f = await run(() => answer(client.GET("/analytics/offline-orders/summary", { params: { query: r } })));
      // a refused range shows its error alone, not the previous range's figures
      setFigures(f ?? null);
    },
    [client, run],
  );
  useEffect(() => {
    if (range) void load(range);
  }, [range, load]);

  const c = (figures?.currency ?? "IDR") as Currency;
  const compact = new Intl.NumberFormat(i18n.lang === "id" ? "id-ID" : "en-US", { notation: "compact" });
  // chart heights from exact decimal strings: Number() only for drawing
  const daily = (figures?.by_day ?? []).map((d) => ({ label: i18n.date(d.date ?? ""), total: Number(d.total), paid: Number(d.paid) }));
  const perCounter = (figures?.by_counter ?? []).map((d) => ({ label: d.device_code ?? t("office.origin.at_office"), total: Number(d.total), paid: Number(d.paid) }));
  const chart = (title: string, data: { label: string; total: number; paid: number }[], testId: string) => (
    <div className="card chart" aria-label={title} data-testid={testId}>
      <h2>{title}</h2>
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" />
          <YAxis width={80} tickFormatter={(v: number) => compact.format(v)} />
          <Tooltip formatter={(v) => i18n.money(String(v), c)} />
          <Legend />
          <Bar dataKey="total" name={t("dash.ordered")} fill="#0f766e" isAnimationActive={false} />
          <Bar dataKey="paid" name={t("dash.collected")} fill="#f59e0b" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
  return (
    <section aria-labelledby="analytics-title" data-testid="office-analytics">
      <h1 id="analytics-title">{t("office.nav.analytics")}</h1>
      {range ? (
        <div className="filters">
          <label>
            {t("common.from")} <DateInput name="from" value={range.from} onChange={(v) => setRange({ ...range, from: v })} />
          </label>
          <label>
            {t("common.to")} <DateInput name="to" value={range.to} onChange={(v) => setRange({ ...range, to: v })} />
          </label>
          <Busy busy={busy} />
        </div>
      ) : null}
      <FormError error={error} />
      {figures ? (
        <>
          <div className="tiles">
            <Tile label={t("dash.orders")} value={String(figures.orders)} testId="analytics-orders" />
            <Tile label={t("dash.collected")} value={i18n.money(figures.collected, c)} testId="analytics-collected" />
            <Tile label={t("dash.outstanding")} value={i18n.money(figures.outstanding, c)} testId="analytics-outstanding" />
            <Tile label={t("dash.overdue")} value={`${figures.overdue_installments} · ${i18n.money(figures.overdue_amount, c)}`} />
            <Tile testId="analytics-completion" label={t("dash.completion")} value={figures.payment_completion_rate == null ? "–" : i18n.percent(figures.payment_completion_rate)} />
          </div>
          {chart(t("office.analytics.per_day"), daily, "chart-per-day")}
          {chart(t("office.analytics.per_counter"), perCounter, "chart-per-counter")}
          <table className="list" data-testid="analytics-counters">
            <thead>
              <tr>
                <th>{t("office.orders.counter")}</th>
                <th className="num">{t("dash.orders")}</th>
                <th className="num">{t("dash.ordered")}</th>
                <th className="num">{t("dash.collected")}</th>
              </tr>
            </thead>
            <tbody>
              {(figures.by_counter ?? []).map((g) => (
                <tr key={g.device_id ?? "office"} data-counter={g.device_code ?? ""}>
                  <td>{g.device_code ?? t("office.origin.at_office")}</td>
                  <td className="num">{g.orders}</td>
                  <td className="num nowrap">{i18n.money(g.total, c)}</td>
                  <td className="num nowrap">{i18n.money(g.paid, c)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
