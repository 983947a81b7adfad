import { useEffect, useState } from "react";
import { useBackend } from "../backend";
import type { BackupStatus } from "../bindings/BackupStatus";
import { useI18n } from "../i18n";

/** In the top bar when backups need the shop's attention: not set up, the last one failed, or
 *  none since yesterday. Opens Settings, where they are set up and taken. */
export function BackupIndicator(props: { onOpen: () => void; refreshKey?: number }) {
  const backend = useBackend();
  const i18n = useI18n();
  const { t, dateTime } = i18n;
  const [status, setStatus] = useState<BackupStatus | null>(null);
  useEffect(() => {
    let alive = true;
    const load = () =>
      backend.backupStatus().then(
        (s) => alive && setStatus(s),
        () => undefined,
      );
    void load();
    const timer = window.setInterval(load, 60000);
    return () => {
      alive = false;
      window.clearInterval(timer);
    };
  }, [backend, props.refreshKey]);
  if (!status?.attention) return null;
  const failure = status.last_failure;
  const title = failure ? `${t("backup.failedAt", { at: dateTime(failure.at) })} ${i18n.error({ code: failure.code, message: failure.message, field: null })}` : undefined;
  return (
    <button type="button" className="badge overdue" name="backup-attention" data-testid="backup-attention" data-state={status.attention} title={title} onClick={props.onOpen}>
      {t(`backup.attention.${status.attention}`)}
    </button>
  );
}
