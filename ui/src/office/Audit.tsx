import { useCallback, useEffect, useState, type FormEvent } from "react";
import { FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { known } from "../screens/auditDetail";
import { answer, useOffice, type AuditAction, type AuditEvent, type ChainCheck, type Counter, type StaffMember } from "./api/client";

const ACTIONS: AuditAction[] = ["CREATE", "READ", "UPDATE", "DELETE", "PAYMENT", "ACCESS"];

interface Filters {
  action: AuditAction | "";
  entity: string;
  device: string;
  actor: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { action: "", entity: "", device: "", actor: "", from: "", to: "" };

/** The start of local day `day` (YYYY-MM-DD) as an instant, `days` later. */
function dayStart(day: string, days = 0): string {
  const [y = 1970, m = 1, d = 1] = day.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

/** The audit trail of every counter and of the service: filtered by action, entity, counter,
 *  actor and time, and every chain verified with the result per chain. Reading it is audited. */
export function Audit() {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [counters, setCounters] = useState<Counter[]>([]);
  const [staff, setStaff] = useState<StaffMember[]>([]);
  const [f, setF] = useState<Filters>(NO_FILTERS);
  const [check, setCheck] = useState<ChainCheck | null>(null);
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setF((x) => ({ ...x, [k]: e.target.value }));

  const load = useCallback(
    async (f: Filters) => {
      const page = await run(() =>
        answer(
          client.GET("/audit-events", {
            params: {
              query: {
                action: f.action || undefined,
                entity_type: f.entity.trim() || undefined,
                device_id: f.device || undefined,
                actor_id: f.actor || undefined,
                from: f.from ? dayStart(f.from) : undefined,
                to: f.to ? dayStart(f.to, 1) : undefined,
                limit: 200,
              },
            },
          }),
        ),
      );
      if (page) setEvents(page.items);
    },
    [client, run],
  );

  useEffect(() => {
    void load(NO_FILTERS);
    answer(client.GET("/devices")).then(setCounters, () => undefined);
    // the staff list is the owner's (a manager filters by the other fields)
    answer(client.GET("/users")).then((l) => setStaff(l.items), () => undefined);
  }, [client, load]);

  function apply(e: FormEvent) {
    e.preventDefault();
    void load(f);
  }

  async function verify() {
    const c = await run(() => answer(client.GET("/audit-events/verify")));
    if (c) setCheck(c);
  }

  const chainName = (id: string) => counters.find((c) => c.id === id)?.device_code ?? t("office.audit.service");
  return (
    <section aria-labelledby="audit-title" data-testid="office-audit">
      <div className="toolbar">
        <h1 id="audit-title">{t("audit.title")}</h1>
        <button type="button" name="verify" onClick={() => void verify()} disabled={busy}>
          {t("audit.verify")}
        </button>
      </div>
      {check ? (
        <div className="card" role="status" data-testid="audit-verdict">
          <p>
            <strong>
              {check.ok
                ? t("office.audit.result_ok", { count: check.devices.length })
                : t("office.audit.result_broken", { broken: check.devices.filter((d) => !d.ok).length, count: check.devices.length })}
            </strong>
          </p>
          <ul>
            {check.devices.map((d) => (
              <li key={d.device_id} data-ok={d.ok}>
                {d.ok
                  ? t("office.audit.chain_ok", { chain: chainName(d.device_id), events: d.events })
                  : t("office.audit.chain_broken", { chain: chainName(d.device_id), seq: d.first_broken_seq ?? "?", reason: d.reason ?? "" })}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <form className="filters" onSubmit={apply} aria-label={t("common.search")}>
        <select name="action" aria-label={t("audit.action")} value={f.action} onChange={set("action")}>
          <option value="">{t("common.all")}</option>
          {ACTIONS.map((a) => (
            <option key={a} value={a}>
              {known(i18n, `audit.act.${a}`, a)}
            </option>
          ))}
        </select>
        <input name="entity" aria-label={t("office.audit.entity")} placeholder={t("office.audit.entity")} value={f.entity} onChange={set("entity")} />
        <select name="device" aria-label={t("office.audit.device")} value={f.device} onChange={set("device")}>
          <option value="">{t("common.all")}</option>
          {counters.map((c) => (
            <option key={c.id} value={c.id}>
              {c.device_code}
            </option>
          ))}
        </select>
        {staff.length > 0 ? (
          <select name="actor" aria-label={t("audit.who")} value={f.actor} onChange={set("actor")}>
            <option value="">{t("common.all")}</option>
            {staff.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        ) : null}
        <input name="from" type="date" aria-label={t("common.from")} value={f.from} onChange={set("from")} />
        <input name="to" type="date" aria-label={t("common.to")} value={f.to} onChange={set("to")} />
        <button type="submit" name="apply" disabled={busy}>
          {t("common.search")}
        </button>
      </form>
      <FormError error={error} />
      <AuditTable events={events} chainName={chainName} actorName={(id) => staff.find((m) => m.id === id)?.name} testId="audit-events" />
    </section>
  );
}

/** Audit events, newest first: when, on which chain, who (name when known, else role), the
 *  action and the operation. */
export function AuditTable(props: { events: AuditEvent[]; chainName: (device: string) => string; actorName?: (id: string) => string | undefined; testId: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  return (
    <table className="list" data-testid={props.testId}>
      <thead>
        <tr>
          <th>{t("audit.when")}</th>
          <th>{t("office.audit.device")}</th>
          <th>{t("audit.who")}</th>
          <th>{t("audit.action")}</th>
          <th>{t("audit.what")}</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((e) => (
          <tr key={e.id} data-operation={e.operation}>
            <td className="nowrap">{i18n.dateTime(e.at)}</td>
            <td>{props.chainName(e.device_id)}</td>
            <td>
              {(e.actor_id ? props.actorName?.(e.actor_id) : undefined) ?? ""}
              {e.actor_role ? <span className="muted"> {t(`role.${e.actor_role}`)}</span> : null}
            </td>
            <td>{known(i18n, `audit.act.${e.action}`, e.action)}</td>
            <td>{known(i18n, `audit.op.${e.operation}`, e.operation)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
