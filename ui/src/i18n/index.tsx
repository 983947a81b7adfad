import { createContext, useCallback, useContext, useMemo, type ReactNode } from "react";
import type { Currency } from "../bindings/Currency";
import type { Language } from "../bindings/Language";
import { BackendError } from "../backend";
import { en, type MessageKey } from "./en";
import { id, idErrors } from "./id";

const tables: Record<Language, Record<MessageKey, string>> = { en, id };
const locales: Record<Language, string> = { en: "en-US", id: "id-ID" };
const minorUnits: Record<Currency, number> = { IDR: 0, USD: 2, EUR: 2, SGD: 2, MYR: 2, JPY: 0 };

export interface I18n {
  lang: Language;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  money(amount: string, currency: Currency): string;
  date(iso: string): string;
  dateTime(iso: string): string;
  error(e: unknown): string;
}

export function makeI18n(lang: Language): I18n {
  const table = tables[lang];
  const locale = locales[lang];
  const t = (key: MessageKey, vars?: Record<string, string | number>) =>
    table[key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars?.[k] ?? `{${k}}`));
  return {
    lang,
    t,
    money(amount, currency) {
      const digits = minorUnits[currency];
      return new Intl.NumberFormat(locale, {
        style: "currency",
        currency,
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      }).format(Number(amount));
    },
    date(iso) {
      const d = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
      return new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(d);
    },
    dateTime(iso) {
      return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "medium" }).format(
        new Date(iso),
      );
    },
    error(e) {
      const err = BackendError.from(e);
      if (err.code === "not_logged_in") return t("error.not_logged_in");
      if (err.code === "unexpected") return t("error.unexpected", { message: err.message });
      if (lang === "id") return idErrors[err.code] ?? err.message;
      return err.message;
    },
  };
}

const I18nContext = createContext<I18n>(makeI18n("en"));

export function I18nProvider({ lang, children }: { lang: Language; children: ReactNode }) {
  const value = useMemo(() => makeI18n(lang), [lang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  return useContext(I18nContext);
}

/** `useT()` for components that only need strings. */
export function useT() {
  const i = useI18n();
  return useCallback((k: MessageKey, v?: Record<string, string | number>) => i.t(k, v), [i]);
}
