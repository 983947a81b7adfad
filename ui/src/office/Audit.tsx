import { useCallback, useEffect, useState, type FormEvent } from "react";
import { FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { known } from "../screens/auditDetail";
import { answer, useOffice, type AuditAction, type AuditEvent, type ChainCheck, type Counter } from "./api/client";

const ACTIONS: AuditAction[] = ["CREATE", "READ", "UPDATE", "DELETE", "PAYMENT", "ACCESS"];

/** The audit trail of every counter and of the service: filtered by action, entity and
 *  counter, and every chain verified with the result per chain. Reading it is audited. */
export function Audit() {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [counters, setCounters] = useState<Counter[]>([]);
  const [action, setAction] = useState<AuditAction | "">("");
  const [entity, setEntity] = useState("");
  const [device, setDevice] = useState("");
  const [check, setCheck] = useState<ChainCheck | null>(null);

  const load = useCallback(
    async (f: { action: AuditAction | ""; entity: string; device: string }) => {
      const page = await run(() =>
        answer(
          client.GET("/audit-events", {
            params: { query: { action: f.action || undefined, entity_type: f.entity.trim() || undefined, device_id: f.device || undefined, limit: 200 } },
          }),
        ),
      );
      if (page) setEvents(page.items);
    },
    [client, run],
  );

  useEffect(() => {
    void load({ action: "", entity: "", device: "" });
    answer(client.GET("/devices")).then(setCounters, () => undefined);
  }, [client, load]);

  function apply(e: FormEvent) {
    e.preventDefault();
    void load({ action, entity, device });
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
        <select name="action" aria-label={t("audit.action")} value={action} onChange={(e) => setAction(e.target.value as AuditAction | "")}>
          <option value="">{t("common.all")}</option>
          {ACTIONS.map((a) => (
            <option key={a} value={a}>
              {known(i18n, `audit.act.${a}`, a)}
            </option>
          ))}
        </select>
        <input name="entity" aria-label={t("office.audit.entity")} placeholder={t("office.audit.entity")} value={entity} onChange={(e) => setEntity(e.target.value)} />
        <select name="device" aria-label={t("office.audit.device")} value={device} onChange={(e) => setDevice(e.target.value)}>
          <option value="">{t("common.all")}</option>
          {counters.map((c) => (
            <option key={c.id} value={c.id}>
              {c.device_code}
            </option>
          ))}
        </select>
        <button type="submit" name="apply" disabled={busy}>
          {t("common.search")}
        </button>
      </form>
      <FormError error={error} />
      <table className="list" data-testid="audit-events">
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
          {events.map((e) => (
            <tr key={e.id} data-operation={e.operation}>
              <td className="nowrap">{i18n.dateTime(e.at)}</td>
              <td>{chainName(e.device_id)}</td>
              <td>{e.actor_role ? t(`role.${e.actor_role}`) : ""}</td>
              <td>{known(i18n, `audit.act.${e.action}`, e.action)}</td>
              <td>{known(i18n, `audit.op.${e.operation}`, e.operation)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
