import { useEffect, useState } from "react";
import { DateInput } from "../components/DateInput";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useBackend } from "../backend";
import type { Dashboard as Figures } from "../bindings/Dashboard";
import { Busy, FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function Dashboard() {
  const backend = useBackend();
  const i18n = useI18n();
  const t = i18n.t;
  const { busy, error, run } = useAction();
  const [from, setFrom] = useState(today());
  const [to, setTo] = useState(today());
  const [figures, setFigures] = useState<Figures | null>(null);

  useEffect(() => {
    void run(() => backend.dashboard(from, to)).then((f) => f && setFigures(f));
  }, [backend, run, from, to]);

  const c = figures?.currency ?? "IDR";
  const compact = new Intl.NumberFormat(i18n.lang === "id" ? "id-ID" : "en-US", { notation: "compact" });
  const chart = (figures?.daily ?? []).map((d) => ({ date: i18n.date(d.date), ordered: Number(d.ordered), collected: Number(d.collected) }));
  return (
    <section className="screen" data-testid="dashboard">
      <h1>{t("dash.title")}</h1>
      <div className="filters">
        <button type="button" onClick={() => { setFrom(today()); setTo(today()); }}>
          {t("dash.today")}
        </button>
        <label>
          {t("common.from")} <DateInput name="from" value={from} onChange={setFrom} />
        </label>
        <label>
          {t("common.to")} <DateInput name="to" value={to} onChange={setTo} />
        </label>
        <Busy busy={busy} />
      </div>
      <FormError error={error} />
      {figures ? (
        <>
          <div className="tiles">
            <Tile label={t("dash.orders")} value={String(figures.orders)} testId="dash-orders" />
            <Tile label={t("dash.ordered")} value={i18n.money(figures.ordered, c)} />
            <Tile label={t("dash.collected")} value={i18n.money(figures.collected, c)} testId="dash-collected" />
            <Tile label={t("dash.outstanding")} value={i18n.money(figures.outstanding, c)} />
            <Tile label={t("dash.overdue")} value={`${figures.overdue_installments} · ${i18n.money(figures.overdue_amount, c)}`} />
            <Tile testId="dash-completion" label={t("dash.completion")} value={figures.payment_completion_rate === null ? "–" : i18n.percent(figures.payment_completion_rate)} />
          </div>
          <dl className="muted dash-notes" data-testid="dash-notes">
            <dt>{t("dash.orders")}</dt>
            <dd>{t("dash.ordersNote", { deleted: figures.deleted_orders })}</dd>
            <dt>{t("dash.collected")}</dt>
            <dd>{t("dash.collectedNote")}</dd>
            <dt>{t("dash.outstanding")}</dt>
            <dd>{t("dash.outstandingNote")}</dd>
          </dl>
          <div className="card chart" aria-label={t("dash.chart")}>
            <h2>{t("dash.chart")}</h2>
            <ResponsiveContainer width="100%" height={260}>
              <BarChart data={chart}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="date" />
                <YAxis width={80} tickFormatter={(v: number) => compact.format(v)} />
                <Tooltip formatter={(v) => i18n.money(String(v), c)} />
                <Legend />
                <Bar dataKey="ordered" name={t("dash.ordered")} fill="#0f766e" isAnimationActive={false} />
                <Bar dataKey="collected" name={t("dash.collected")} fill="#f59e0b" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </>
      ) : null}
    </section>
  );
}

export function Tile(props: { label: string; value: string; testId?: string }) {
  return (
    <div className="tile" data-testid={props.testId}>
      <div className="muted">{props.label}</div>
      <div className="tile-value">{props.value}</div>
    </div>
  );
}
