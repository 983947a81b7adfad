import { useEffect, useState } from "react";
import type { Currency } from "../bindings/Currency";
import type { Language } from "../bindings/Language";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { I18nProvider, makeI18n, useT } from "../i18n";
import { answer, makeClient, OfficeContext, TokenHolder, useOffice, type OfficeClient, type SignedIn } from "./api/client";
import { Analytics } from "./Analytics";
import { Audit } from "./Audit";
import { Counters } from "./Counters";
import { NewOrder } from "./NewOrder";
import { OrderDetail } from "./OrderDetail";
import { Orders } from "./Orders";
import { SignIn } from "./SignIn";
import { Settings } from "./Settings";
import { Staff } from "./Staff";

type Screen = "orders" | "new" | "analytics" | "counters" | "staff" | "settings" | "audit" | { order: string };
type Named = Exclude<Screen, { order: string }>;

/** The shop's office: sign-in, then the screens the signed-in role may use (as the API
 *  allows: the counters are an owner's or a manager's). The access token lives in this
 *  component's memory only; reloading the page signs out. */
export function Office(props: { client?: (token: () => string | null) => OfficeClient; now?: () => Date }) {
  const [lang, setLang] = useState<Language>(() => (navigator.language.toLowerCase().startsWith("id") ? "id" : "en"));
  const [session, setSession] = useState<SignedIn | null>(null);
  const [notice, setNotice] = useState<"expired" | null>(null);
  // The token, held outside React's state so the client reads the current one at each call.
  const [auth] = useState(() => new TokenHolder());
  const [client] = useState(() => {
    const c = (props.client ?? makeClient)(() => auth.get());
    // an ended sign-in (401 on any screen) goes back to the sign-in form
    c.use({
      onResponse({ response, request }) {
        if (response.status === 401 && !request.url.endsWith("/auth/login")) {
          auth.set(null);
          setSession(null);
          setNotice("expired");
        }
        return response;
      },
    });
    return c;
  });
  const now = props.now ?? (() => new Date());
  useEffect(() => {
    // the page's own language and title follow the chosen language
    document.documentElement.lang = lang;
    document.title = makeI18n(lang).t("office.title");
  }, [lang]);

  const signIn = (s: SignedIn) => {
    auth.set(s.token);
    setNotice(null);
    setSession(s);
  };
  const signOut = () => {
    auth.set(null);
    setSession(null);
  };

  return (
    <I18nProvider lang={lang}>
      <OfficeContext.Provider value={client}>
        <div lang={lang}>
          {session ? (
            <Shell session={session} lang={lang} onLang={setLang} onSignOut={signOut} now={now} />
          ) : (
            <>
              <LanguagePicker lang={lang} onLang={setLang} />
              <SignIn onSignedIn={signIn} />
              {notice === "expired" ? <Expired /> : null}
            </>
          )}
        </div>
      </OfficeContext.Provider>
    </I18nProvider>
  );
}

function Expired() {
  const t = useT();
  return (
    <p className="centered muted" role="status">
      {t("office.expired")}
    </p>
  );
}

function LanguagePicker(props: { lang: Language; onLang: (l: Language) => void }) {
  const t = useT();
  return (
    <label className="language">
      {t("office.language")}{" "}
      <select name="language" value={props.lang} onChange={(e) => props.onLang(e.target.value as Language)}>
        <option value="en">English</option>
        <option value="id">Bahasa Indonesia</option>
      </select>
    </label>
  );
}

function Shell(props: { session: SignedIn; lang: Language; onLang: (l: Language) => void; onSignOut: () => void; now: () => Date }) {
  const t = useT();
  const client = useOffice();
  const [screen, setScreen] = useState<Screen>("orders");
  const [shopName, setShopName] = useState(props.session.tenant);
  const [currency, setCurrency] = useState<Currency | null>(null);
  useEffect(() => {
    // the shop's name for the top bar (its slug until it arrives, or if it does not), and
    // its currency for the new-order form
    answer(client.GET("/tenant")).then(
      (t) => {
        setShopName(t.name);
        setCurrency(t.currency as Currency);
      },
      () => undefined,
    );
  }, [client]);
  const approver = props.session.user.role === "owner" || props.session.user.role === "manager";
  const owner = props.session.user.role === "owner";
  const nav: [Named, string, boolean][] = [
    ["orders", t("office.nav.orders"), true],
    ["new", t("nav.new"), currency !== null],
    ["analytics", t("office.nav.analytics"), approver],
    ["counters", t("office.nav.counters"), approver],
    ["staff", t("office.nav.staff"), owner],
    ["settings", t("office.nav.settings"), owner],
    ["audit", t("office.nav.audit"), approver],
  ];
  return (
    <div className="shell">
      <header className="topbar">
        <span className="shop">{shopName}</span>
        <nav>
          {nav
            .filter(([, , visible]) => visible)
            .map(([name, label]) => (
              <button key={name} type="button" name={`nav-${name}`} className={screen === name ? "active" : ""} onClick={() => setScreen(name)}>
                {label}
              </button>
            ))}
        </nav>
        <LanguagePicker lang={props.lang} onLang={props.onLang} />
        <span className="who" data-testid="who">
          {props.session.user.name} · {t(`role.${props.session.user.role}`)}
        </span>
        <button type="button" name="sign-out" onClick={props.onSignOut}>
          {t("office.signout")}
        </button>
      </header>
      <main className="content">
        <ErrorBoundary resetKey={typeof screen === "string" ? screen : screen.order} onBack={() => setScreen("orders")}>
          {screen === "orders" ? <Orders role={props.session.user.role} onOpen={(id) => setScreen({ order: id })} /> : null}
          {typeof screen === "object" ? <OrderDetail id={screen.order} canApprove={approver} onBack={() => setScreen("orders")} /> : null}
          {screen === "counters" && approver ? <Counters now={props.now} /> : null}
          {screen === "new" && currency ? <NewOrder currency={currency} onCreated={(o) => setScreen({ order: o.id })} /> : null}
          {screen === "analytics" && approver ? <Analytics /> : null}
          {screen === "staff" && owner ? <Staff /> : null}
          {screen === "settings" && owner ? <Settings onSaved={(shop) => setShopName(shop.name)} /> : null}
          {screen === "audit" && approver ? <Audit /> : null}
        </ErrorBoundary>
      </main>
    </div>
  );
}
