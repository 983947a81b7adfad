import { useEffect, useState } from "react";
import { useBackend } from "../backend";
import type { SyncStatus } from "../bindings/SyncStatus";
import { useI18n } from "../i18n";

/** Always visible in the top bar: online or offline, what is still to send, what needs
 *  attention, the last successful sync, and a warning when the clock is off. */
export function SyncIndicator(props: { onOpen: () => void; refreshKey?: number }) {
  const backend = useBackend();
  const i18n = useI18n();
  const { t, dateTime } = i18n;
  const [status, setStatus] = useState<SyncStatus | null>(null);

  useEffect(() => {
    let alive = true;
    const load = () =>
      backend.syncStatus().then(
        (s) => alive && setStatus(s),
        () => undefined,
      );
    void load();
    const timer = window.setInterval(load, 5000);
    return () => {
      alive = false;
      window.clearInterval(timer);
    };
  }, [backend, props.refreshKey]);

  if (!status) return null;
  const state = !status.paired ? "unpaired" : status.syncing ? "syncing" : status.online === false ? "offline" : status.online ? "online" : "unknown";
  return (
    <button type="button" className={`sync-indicator sync-${state}`} name="sync-status" data-testid="sync-indicator" data-state={state} onClick={props.onOpen} title={status.last_error ? i18n.error(status.last_error) : undefined}>
      <span className="dot" aria-hidden="true" />
      <span>{t(`sync.state.${state}`)}</span>
      {status.paired ? <span data-testid="sync-pending">{t("sync.pendingCount", { n: status.pending })}</span> : null}
      {status.needs_attention > 0 ? <span className="badge overdue">{t("sync.attentionCount", { n: status.needs_attention })}</span> : null}
      {status.last_success_at ? <span className="muted">{t("sync.lastAt", { at: dateTime(status.last_success_at) })}</span> : null}
      {status.clock_drift_warning ? (
        <span className="badge overdue" data-testid="clock-drift">
          {t("sync.clockDrift", { min: Math.round(Math.abs(status.clock_offset_ms ?? 0) / 60000) })}
        </span>
      ) : null}
    </button>
  );
}
