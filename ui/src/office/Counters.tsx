import { useCallback, useEffect, useState } from "react";
import { FormError } from "../components/Field";
import { useAction } from "../components/useAction";
import { useI18n } from "../i18n";
import { answer, useOffice, type Counter, type PairingCode } from "./api/client";
import { pairingUri, Qr } from "./Qr";

/** The shop's counters: each with its code and last sync, unpairing, and a pairing code for a
 *  new one (shown large, with a QR code, counting down to its expiry). */
export function Counters(props: { now: () => Date }) {
  const client = useOffice();
  const i18n = useI18n();
  const { t } = i18n;
  const { busy, error, run } = useAction();
  const [counters, setCounters] = useState<Counter[] | null>(null);
  const [code, setCode] = useState<PairingCode | null>(null);

  const load = useCallback(async () => {
    const list = await run(() => answer(client.GET("/devices")));
    if (list) setCounters(list);
  }, [client, run]);

  useEffect(() => {
    void load();
  }, [load]);

  // While a pairing code is shown, the list looks again now and then, so the counter that
  // uses it appears without leaving the screen.
  useEffect(() => {
    if (!code) return;
    const timer = window.setInterval(() => void load(), 5000);
    return () => window.clearInterval(timer);
  }, [code, load]);

  async function makeCode() {
    const c = await run(() => answer(client.POST("/devices/pairing-codes")));
    if (c) setCode(c);
  }

  async function unpair(c: Counter) {
    if (!window.confirm(t("office.counters.revoke_confirm", { code: c.device_code }))) return;
    const done = await run(() => answer(client.DELETE("/devices/{id}", { params: { path: { id: c.id } } })));
    if (done !== undefined) await load();
  }

  const when = (at: string | null | undefined) => (at ? i18n.dateTime(at) : t("office.counters.never"));
  return (
    <section aria-labelledby="counters-title">
      <div className="toolbar">
        <h1 id="counters-title">{t("office.counters.title")}</h1>
        <button type="button" name="make-pairing-code" onClick={() => void makeCode()} disabled={busy}>
          {t("office.pairing.make")}
        </button>
      </div>
      <FormError error={error} />
      {code ? <PairingCodeCard key={code.code} code={code} now={props.now} /> : null}
      {counters && counters.length === 0 ? <p className="muted">{t("office.counters.none")}</p> : null}
      {counters && counters.length > 0 ? (
        <table className="list" data-testid="counters">
          <thead>
            <tr>
              <th>{t("office.counters.code")}</th>
              <th>{t("office.counters.name")}</th>
              <th>{t("office.counters.paired")}</th>
              <th>{t("office.counters.last_push")}</th>
              <th>{t("office.counters.last_pull")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {counters.map((c) => (
              <tr key={c.id} data-counter={c.device_code}>
                <td className="nowrap">{c.device_code}</td>
                <td>{c.name}</td>
                <td className="nowrap">{c.revoked_at ? <span className="badge deleted">{t("office.counters.revoked")}</span> : i18n.date(c.paired_at)}</td>
                <td>
                  {when(c.last_push_at)}
                  {c.last_push_at ? <span className="muted"> · {t("office.counters.pushed", { count: c.last_push_mutations })}</span> : null}
                  {c.last_push_refused > 0 ? <span className="badge overdue">{t("office.counters.refused", { count: c.last_push_refused })}</span> : null}
                </td>
                <td>{when(c.last_pull_at)}</td>
                <td>
                  {c.revoked_at ? null : (
                    <button type="button" name="unpair" onClick={() => void unpair(c)} disabled={busy}>
                      {t("office.counters.revoke")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function PairingCodeCard(props: { code: PairingCode; now: () => Date }) {
  const { t } = useI18n();
  const server = window.location.origin;
  // counted from the service's `expires_in` as the code arrived, not from `expires_at`
  // against this computer's clock (which may be off)
  const [until] = useState(() => props.now().getTime() + props.code.expires_in * 1000);
  const [left, setLeft] = useState(() => secondsLeft(until, props.now()));
  useEffect(() => {
    const timer = window.setInterval(() => setLeft(secondsLeft(until, props.now())), 1000);
    return () => window.clearInterval(timer);
  }, [until, props]);
  return (
    <div className="card pairing" data-testid="pairing-code">
      <h2>{t("office.pairing.title")}</h2>
      <p className="pairing-code" data-testid="pairing-code-value">
        {props.code.code}
      </p>
      <Qr text={pairingUri(server, props.code.code)} label={t("office.pairing.qr")} />
      <p>
        {t("office.pairing.server")}: <code data-testid="pairing-server">{server}</code>
      </p>
      <p className="muted">{t("office.pairing.how")}</p>
      <p role="status" data-testid="pairing-expiry">
        {left > 0
          ? t("office.pairing.expires", { minutes: Math.floor(left / 60), seconds: String(left % 60).padStart(2, "0") })
          : t("office.pairing.expired")}
      </p>
    </div>
  );
}

function secondsLeft(until: number, now: Date): number {
  return Math.max(0, Math.floor((until - now.getTime()) / 1000));
}
