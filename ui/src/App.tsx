import { useCallback, useEffect, useMemo, useState } from "react";
import { useBackend } from "./backend";
import type { AppSettings } from "./bindings/AppSettings";
import type { AppStatus } from "./bindings/AppStatus";
import type { Session } from "./bindings/Session";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { I18nProvider, makeI18n } from "./i18n";
import { AuditLog } from "./screens/AuditLog";
import { Dashboard } from "./screens/Dashboard";
import { Login } from "./screens/Login";
import { NewOrder } from "./screens/NewOrder";
import { OrderDetail } from "./screens/OrderDetail";
import { OrderList } from "./screens/OrderList";
import { Settings } from "./screens/Settings";
import { Setup } from "./screens/Setup";
import { Staff } from "./screens/Staff";
import { Sync } from "./screens/Sync";
import { SyncIndicator } from "./components/SyncIndicator";
import { BackupIndicator } from "./components/BackupIndicator";
import { Unlock } from "./screens/Unlock";

type Screen = { name: "orders" } | { name: "new" } | { name: "order"; id: string } | { name: "dashboard" } | { name: "audit" } | { name: "staff" } | { name: "sync" } | { name: "settings" };

const defaultSettings: AppSettings = { language: "en", receipt_header: "", server_url: "" };

export function App() {
  const backend = useBackend();
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [settings, setSettings] = useState<AppSettings>(defaultSettings);
  const [session, setSession] = useState<Session | null>(null);
  const [screen, setScreen] = useState<Screen>({ name: "orders" });
  const [fatal, setFatal] = useState<string | null>(null);
  const [syncKey, setSyncKey] = useState(0);
  const [backupKey, setBackupKey] = useState(0);

  const refresh = useCallback(async () => {
    try {
      const s = await backend.appStatus();
      setStatus(s);
      setSession(s.session);
    } catch (e) {
      setFatal(makeI18n("en").error(e));
    }
  }, [backend]);

  useEffect(() => {
    void refresh();
    backend.getSettings().then(setSettings, () => undefined);
  }, [backend, refresh]);

  // Each currency's minor units as the Rust side has them: amounts are read and shown with these.
  const currencies = status?.currencies;
  const minorUnits = useMemo(() => Object.fromEntries((currencies ?? []).map((c) => [c.code, c.minor_units])), [currencies]);
  const i18n = makeI18n(settings.language, minorUnits);
  const t = i18n.t;
  if (fatal) return <p className="notice danger">{fatal}</p>;
  if (!status) return <p className="muted centered">{t("common.loading")}</p>;

  let body;
  if (status.open_error) {
    body = (
      <main className="centered">
        <div className="card narrow" data-testid="open-error">
          <h1>{t("open.failed")}</h1>
          <p className="notice danger">{status.open_error.message}</p>
          <p>{t("open.hint")}</p>
          {status.open_error.code === "key_error" ? <Unlock /> : null}
        </div>
      </main>
    );
  } else if (!status.shop) {
    body = (
      <Setup
        language={settings.language}
        onLanguage={(language) => setSettings({ ...settings, language })}
        onDone={(s) => {
          setSession(s);
          // the language chosen first is kept
          backend.saveSettings(settings).then(setSettings, () => undefined);
          void refresh();
        }}
      />
    );
  } else if (!session) {
    body = (
      <Login
        shopName={status.shop.shop_name}
        staff={status.staff}
        onLogin={(s) => {
          setSession(s);
          setScreen({ name: "orders" });
          void refresh();
        }}
      />
    );
  } else {
    const lock = async () => {
      await backend.logout().catch(() => undefined);
      setSession(null);
      void refresh();
    };
    const nav: [Screen["name"], string, boolean][] = [
      ["orders", t("nav.orders"), true],
      ["new", t("nav.new"), true],
      ["dashboard", t("nav.dashboard"), true],
      ["audit", t("nav.audit"), session.can_approve],
      ["staff", t("nav.staff"), session.can_manage_staff],
      ["sync", t("nav.sync"), true],
      ["settings", t("nav.settings"), true],
    ];
    body = (
      <div className="shell">
        <header className="topbar no-print">
          <span className="shop">{status.shop.shop_name}</span>
          <nav>
            {nav
              .filter(([, , visible]) => visible)
              .map(([name, label]) => (
                <button key={name} type="button" name={`nav-${name}`} className={screen.name === name ? "active" : ""} onClick={() => setScreen({ name } as Screen)}>
                  {label}
                </button>
              ))}
          </nav>
          <SyncIndicator onOpen={() => setScreen({ name: "sync" })} refreshKey={syncKey} />
          <BackupIndicator onOpen={() => setScreen({ name: "settings" })} refreshKey={backupKey + syncKey} />
          <span className="who" data-testid="who" title={`${session.name} · ${t(`role.${session.role}`)}`}>
            {session.name} · {t(`role.${session.role}`)}
          </span>
          <button type="button" name="lock" onClick={() => void lock()}>
            {t("nav.lock")}
          </button>
        </header>
        <main className="content">
          <ErrorBoundary resetKey={JSON.stringify(screen)} onBack={() => setScreen({ name: "orders" })}>
            {screen.name === "orders" ? <OrderList onOpen={(id) => setScreen({ name: "order", id })} /> : null}
            {screen.name === "new" ? <NewOrder currency={status.shop.currency} onCreated={(o) => setScreen({ name: "order", id: o.id })} /> : null}
            {screen.name === "order" ? (
              <OrderDetail id={screen.id} session={session} staff={status.staff} settings={settings} shopName={status.shop.shop_name} onBack={() => setScreen({ name: "orders" })} />
            ) : null}
            {screen.name === "dashboard" ? <Dashboard /> : null}
            {screen.name === "audit" ? <AuditLog staff={status.staff} /> : null}
            {screen.name === "staff" ? <Staff staff={status.staff} onChanged={() => void refresh()} /> : null}
            {screen.name === "sync" ? (
              <Sync
                session={session}
                staff={status.staff}
                settings={settings}
                currency={status.shop.currency}
                onChanged={() => {
                  setSyncKey((k) => k + 1);
                  void refresh();
                }}
              />
            ) : null}
            {screen.name === "settings" ? <Settings settings={settings} session={session} onSaved={setSettings} onBackupChanged={() => setBackupKey((k) => k + 1)} /> : null}
          </ErrorBoundary>
        </main>
      </div>
    );
  }
  return (
    <I18nProvider lang={settings.language} minorUnits={minorUnits}>
      <div lang={settings.language}>{body}</div>
    </I18nProvider>
  );
}
