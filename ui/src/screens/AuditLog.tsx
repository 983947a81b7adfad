import { useCallback, useEffect, useState } from "react";
import { useBackend } from "../backend";
import type { AuditAction } from "../bindings/AuditAction";
import type { AuditEvent } from "../bindings/AuditEvent";
import type { ChainReport } from "../bindings/ChainReport";
import type { StaffMember } from "../bindings/StaffMember";
import { Busy, FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { describeDetail, fieldLabel, known } from "./auditDetail";

const actions: AuditAction[] = ["CREATE", "READ", "UPDATE", "DELETE", "ACCESS", "PAYMENT"];

export function AuditLog({ staff }: { staff: StaffMember[] }) {
  const backend = useBackend();
  const i18n = useI18n();
  const t = i18n.t;
  const list = useAction();
  const verify = useAction();
  const [action, setAction] = useState<AuditAction | "">("");
  const [actor, setActor] = useState("");
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [labels, setLabels] = useState<Partial<Record<string, string>>>({});
  const [report, setReport] = useState<ChainReport | null>(null);
  const names = new Map(staff.map((s) => [s.id, s.name]));
  const { run } = list;

  const load = useCallback(
    async (before: number | null) => {
      const page = await run(() =>
        backend.listAuditEvents({ action: action || null, entity_type: null, entity_id: null, actor_id: actor || null, from: null, to: null, before_seq: before, limit: 100 }),
      );
      if (page) {
        setEvents((e) => (before ? [...e, ...page.events] : page.events));
        setLabels((l) => ({ ...(before ? l : {}), ...page.labels }));
      }
    },
    [backend, run, action, actor],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

  const last = events[events.length - 1];
  // Readable, translated names of actions and operations; a code the UI does not know yet is
  // shown as it is.
  const label = (key: string, code: string) => known(i18n, key, code);
  return (
    <section className="screen" data-testid="audit-log">
      <h1>{t("audit.title")}</h1>
      <div className="filters">
        <select aria-label={t("audit.action")} value={action} onChange={(e) => setAction(e.target.value as AuditAction | "")}>
          <option value="">{t("common.all")}</option>
          {actions.map((a) => (
            <option key={a} value={a}>
              {label(`audit.act.${a}`, a)}
            </option>
          ))}
        </select>
        <select aria-label={t("audit.who")} value={actor} onChange={(e) => setActor(e.target.value)}>
          <option value="">{t("common.all")}</option>
          {staff.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
        <button type="button" name="verify" onClick={() => void verify.run(() => backend.verifyAuditChain()).then((r) => r && setReport(r))}>
          {t("audit.verify")}
        </button>
        <Busy busy={list.busy || verify.busy} />
      </div>
      {report ? (
        <p className={report.ok ? "notice ok" : "notice danger"} data-testid="chain-report" data-ok={String(report.ok)}>
          {report.ok ? t("audit.ok", { count: report.events_checked }) : t("audit.broken", { seq: report.first_broken_seq ?? "?", reason: report.reason ?? "" })}
        </p>
      ) : null}
      <FormError error={list.error ?? verify.error} />
      <table className="audit">
        <thead>
          <tr>
            <th>#</th>
            <th>{t("audit.when")}</th>
            <th>{t("audit.who")}</th>
            <th>{t("audit.action")}</th>
            <th>{t("audit.what")}</th>
            <th>{t("audit.fields")}</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-action={e.action} data-operation={e.operation}>
              <td>{e.seq}</td>
              <td>{i18n.dateTime(e.at)}</td>
              <td>{e.actor_id ? names.get(e.actor_id) ?? e.actor_id.slice(0, 8) : "–"}</td>
              <td>
                <span className={`badge action-${e.action}`}>{label(`audit.act.${e.action}`, e.action)}</span>
              </td>
              <td>
                {label(`audit.op.${e.operation}`, e.operation)}
                {e.entity_id ? <span className="mono"> {labels[e.entity_id] ?? ""}</span> : null}
                {e.detail && e.detail !== (e.entity_id && labels[e.entity_id]) ? <span className="muted"> · {describeDetail(i18n, e.detail, { names, labels })}</span> : null}
              </td>
              <td className="muted">{e.fields.map((f) => fieldLabel(i18n, f.field)).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {last && last.seq > 1 && events.length % 100 === 0 ? (
        <button type="button" onClick={() => void load(last.seq)}>
          {t("common.more")}
        </button>
      ) : null}
    </section>
  );
}
