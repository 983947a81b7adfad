import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useBackend } from "../backend";
import type { AppSettings } from "../bindings/AppSettings";
import type { AttentionItem } from "../bindings/AttentionItem";
import type { Currency } from "../bindings/Currency";
import type { Session } from "../bindings/Session";
import type { StaffMember } from "../bindings/StaffMember";
import type { SyncProgress } from "../bindings/SyncProgress";
import type { SyncReport } from "../bindings/SyncReport";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { Tally } from "../bindings/Tally";
import { ApprovalForm } from "../components/ApprovalForm";
import { Dialog } from "../components/Dialog";
import { Busy, Field, FormActions, FormError } from "../components/Field";
import { fieldError, useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import type { MessageKey } from "../i18n/en";

/** Sync with the shop's service: pairing (owner), the end-of-day sync with its progress and
 *  printable report, and the needs-attention list. */
export function Sync(props: { session: Session; staff: StaffMember[]; settings: AppSettings; currency: Currency; onChanged: () => void }) {
  const backend = useBackend();
  const { t } = useI18n();
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [attention, setAttention] = useState<AttentionItem[]>([]);
  const [progress, setProgress] = useState<SyncProgress | null>(null);
  const [report, setReport] = useState<SyncReport | null>(null);
  const [discarding, setDiscarding] = useState<AttentionItem | null>(null);
  const eod = useAction();
  const load = useAction();
  const { run: loadRun } = load;

  const refresh = useCallback(async () => {
    const s = await loadRun(() => backend.syncStatus());
    if (s) setStatus(s);
    const a = await loadRun(() => backend.needsAttention());
    if (a) setAttention(a);
  }, [backend, loadRun]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  async function endOfDay() {
    setReport(null);
    setProgress({ done: 0, total: 0 });
    const r = await eod.run(() => backend.syncNow(setProgress));
    if (r) setReport(r);
    await refresh();
    props.onChanged();
  }

  async function retry(item: AttentionItem) {
    await load.run(() => backend.retryAttention(item.mutation_id));
    await refresh();
    props.onChanged();
  }

  if (!status) return <p className="muted">{t("common.loading")}</p>;
  return (
    <section className="screen" data-testid="sync-screen">
      <h1>{t("sync.title")}</h1>
      {status.paired ? (
        <Paired status={status} session={props.session} onUnpaired={async () => { await refresh(); props.onChanged(); }} />
      ) : (
        <PairForm session={props.session} defaultUrl={props.settings.server_url} onPaired={async () => { await refresh(); props.onChanged(); }} />
      )}
      {status.paired ? (
        <div className="card">
          <h2>{t("sync.eod")}</h2>
          <p className="muted">{t("sync.eodIntro", { n: status.pending })}</p>
          <div className="actions no-print">
            <Busy busy={eod.busy} />
            <button type="button" className="primary" name="eod-sync" disabled={eod.busy} onClick={() => void endOfDay()}>
              {t("sync.eodRun")}
            </button>
          </div>
          {progress && (eod.busy || report) ? (
            <div className="progress" data-testid="sync-progress">
              <progress max={Math.max(progress.total, 1)} value={progress.done} aria-label={t("sync.progress")} />
              <span>{t("sync.progressOf", { done: progress.done, total: progress.total })}</span>
            </div>
          ) : null}
          <FormError error={eod.error} />
          {report ? <Report report={report} /> : null}
        </div>
      ) : null}
      <div className="card" data-testid="needs-attention">
        <h2>{t("sync.attention")}</h2>
        <FormError error={load.error} />
        {attention.length === 0 ? (
          <p className="muted">{t("sync.attentionNone")}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>{t("list.number")}</th>
                <th>{t("sync.change")}</th>
                <th>{t("sync.reason")}</th>
                <th>{t("sync.amount")}</th>
                <th>{t("sync.attempts")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {attention.map((a) => (
                <AttentionRow key={a.mutation_id} item={a} currency={props.currency} busy={load.busy} onRetry={() => void retry(a)} onDiscard={() => setDiscarding(a)} />
              ))}
            </tbody>
          </table>
        )}
      </div>
      {discarding ? (
        <DiscardDialog
          item={discarding}
          session={props.session}
          staff={props.staff}
          onClose={() => setDiscarding(null)}
          onDone={async () => {
            setDiscarding(null);
            await refresh();
            props.onChanged();
          }}
        />
      ) : null}
    </section>
  );
}

function kindKey(kind: string): MessageKey {
  const known = ["order_created", "order_updated", "payment_recorded", "payment_reversed", "order_completed", "order_deleted"];
  return (known.includes(kind) ? `sync.kind.${kind}` : "sync.kind.other") as MessageKey;
}

function AttentionRow(props: { item: AttentionItem; currency: Currency; busy: boolean; onRetry: () => void; onDiscard: () => void }) {
  const { t, money, error } = useI18n();
  const a = props.item;
  return (
    <tr data-testid="attention-row">
      <td className="mono">{a.order_number ?? "—"}</td>
      <td>
        {t(kindKey(a.kind))} <span className="badge overdue">{t(a.status === "conflict" ? "sync.conflict" : "sync.rejected")}</span>
      </td>
      <td>
        {a.reason || a.code ? error({ code: a.code ?? "rejected", message: a.reason ?? "" }) : null}
        {a.service_state ? (
          <div className="muted" data-testid="service-state">
            {t("sync.serviceState", {
              status: t(`status.${a.service_state.status}` as MessageKey),
              total: a.service_state.total ? money(a.service_state.total, props.currency) : "—",
              paid: a.service_state.paid ? money(a.service_state.paid, props.currency) : "—",
            })}
          </div>
        ) : null}
      </td>
      <td>{a.amount ? money(a.amount, props.currency) : "—"}</td>
      <td>{a.attempts}</td>
      <td className="actions">
        <button type="button" name="retry" disabled={props.busy} onClick={props.onRetry}>
          {t("sync.retry")}
        </button>
        <button type="button" name="discard" className="danger" disabled={props.busy} onClick={props.onDiscard}>
          {t("sync.discard")}
        </button>
      </td>
    </tr>
  );
}

function Paired(props: { status: SyncStatus; session: Session; onUnpaired: () => void }) {
  const backend = useBackend();
  const { t, dateTime, num } = useI18n();
  const { busy, error, run } = useAction();
  const s = props.status;
  return (
    <div className="card" data-testid="paired">
      <dl className="totals left">
        <dt>{t("sync.server")}</dt>
        <dd className="mono">{s.server_url}</dd>
        <dt>{t("sync.connection")}</dt>
        <dd>{t(s.online === false ? "sync.state.offline" : s.online ? "sync.state.online" : "sync.state.unknown")}</dd>
        <dt>{t("sync.waiting")}</dt>
        <dd data-testid="pending-count">{s.pending}</dd>
        <dt>{t("sync.lastSuccess")}</dt>
        <dd>{s.last_success_at ? dateTime(s.last_success_at) : t("sync.never")}</dd>
        {s.clock_offset_ms !== null ? (
          <>
            <dt>{t("sync.clock")}</dt>
            <dd className={s.clock_drift_warning ? "overdue" : ""}>{t("sync.clockOffset", { s: num((s.clock_offset_ms / 1000).toFixed(1), 1, 1) })}</dd>
          </>
        ) : null}
      </dl>
      <FormError error={s.last_error} />
      <FormError error={error} />
      {props.session.can_manage_staff ? (
        <div className="actions no-print">
          <Busy busy={busy} />
          <button
            type="button"
            name="unpair"
            disabled={busy}
            onClick={async () => {
              if (await run(() => backend.unpairDevice())) props.onUnpaired();
            }}
          >
            {t("sync.unpair")}
          </button>
        </div>
      ) : null}
    </div>
  );
}

function PairForm(props: { session: Session; defaultUrl: string; onPaired: () => void }) {
  const backend = useBackend();
  const { t } = useI18n();
  const { busy, error, run } = useAction();
  const [serverUrl, setServerUrl] = useState(props.defaultUrl);
  const [code, setCode] = useState("");
  const [name, setName] = useState("");

  if (!props.session.can_manage_staff) {
    return <p className="notice">{t("sync.notPairedAskOwner")}</p>;
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await run(() => backend.pairDevice(serverUrl, code, name))) props.onPaired();
  }
  return (
    <form className="card narrow" onSubmit={submit} data-testid="pair-form">
      <h2>{t("sync.pairTitle")}</h2>
      <p className="muted">{t("sync.pairIntro")}</p>
      <Field label={t("settings.serverUrl")} error={fieldError(error, "server_url")}>
        {(id, d) => <input id={id} name="server_url" placeholder="https://pos.example.com" aria-describedby={d} value={serverUrl} onChange={(e) => setServerUrl(e.target.value)} />}
      </Field>
      <Field label={t("sync.pairCode")} error={fieldError(error, "code")}>
        {(id, d) => <input id={id} name="pairing_code" autoComplete="off" aria-describedby={d} value={code} onChange={(e) => setCode(e.target.value)} />}
      </Field>
      <Field label={t("sync.deviceName")}>
        {(id) => <input id={id} name="device_name" value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <FormError error={error && !error.field ? error : null} />
      <FormActions busy={busy} submitLabel={t("sync.pair")} name="pair" />
    </form>
  );
}

function Report({ report }: { report: SyncReport }) {
  const { t, money, dateTime, error } = useI18n();
  const row = (key: MessageKey, name: string, tally: Tally) => (
    <tr data-testid={`report-${name}`}>
      <th scope="row">{t(key)}</th>
      <td data-testid={`report-${name}-count`}>{tally.count}</td>
      <td>{money(tally.orders_total, report.currency)}</td>
      <td>{money(tally.payments_total, report.currency)}</td>
    </tr>
  );
  return (
    <div className="sync-report" data-testid="sync-report">
      <h3>{t("sync.report")}</h3>
      <p className={report.complete ? "notice ok" : "notice danger"} data-testid="report-verdict">
        {report.complete ? t("sync.reportComplete") : t("sync.reportIncomplete")}
      </p>
      <FormError error={report.error} />
      <table>
        <thead>
          <tr>
            <th />
            <th>{t("sync.count")}</th>
            <th>{t("sync.ordersTotal")}</th>
            <th>{t("sync.paymentsTotal")}</th>
          </tr>
        </thead>
        <tbody>
          {row("sync.pushed", "pushed", report.pushed)}
          {row("sync.alreadyThere", "already", report.already_there)}
          {row("sync.attention", "attention", report.needs_attention)}
          {row("sync.stillPending", "pending", report.still_pending)}
        </tbody>
      </table>
      <dl className="muted dash-notes" data-testid="report-notes">
        <dt>{t("sync.ordersTotal")}</dt>
        <dd>{t("sync.ordersTotalNote")}</dd>
        <dt>{t("sync.paymentsTotal")}</dt>
        <dd>{t("sync.paymentsTotalNote")}</dd>
      </dl>
      <p className="muted">
        {t("sync.reportAudit", { n: report.audit_events_pushed, pulled: report.pulled_changes })}
        {report.audit_refused ? ` · ${error({ code: "audit_refused", message: report.audit_refused })}` : ""}
      </p>
      <p>
        {t("sync.lastSuccess")}: {report.last_success_at ? dateTime(report.last_success_at) : t("sync.never")} · {t("sync.reportAt", { at: dateTime(report.finished_at) })}
      </p>
      <div className="actions no-print">
        <button type="button" name="print-report" onClick={() => window.print()}>
          {t("common.print")}
        </button>
      </div>
    </div>
  );
}

function DiscardDialog(props: { item: AttentionItem; session: Session; staff: StaffMember[]; onClose: () => void; onDone: () => void }) {
  const backend = useBackend();
  const { t } = useI18n();
  return (
    <Dialog title={t("sync.discardTitle")} onClose={props.onClose} testId="discard-dialog">
      <ApprovalForm
        session={props.session}
        staff={props.staff}
        intro={<p className="muted">{t("sync.discardIntro")}</p>}
        submitLabel={t("sync.discard")}
        onSubmit={(reason, approval) => backend.discardAttention(props.item.mutation_id, reason, approval)}
        onDone={props.onDone}
        onClose={props.onClose}
      />
    </Dialog>
  );
}
