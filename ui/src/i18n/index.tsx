import { createContext, useCallback, useContext, useMemo, type ReactNode } from "react";
import type { Currency } from "../bindings/Currency";
import type { Language } from "../bindings/Language";
import { BackendError, LocalError } from "../backend";
import { en, type MessageKey } from "./en";
import { id, idErrors } from "./id";
import { parseDecimal, type Parsed } from "./numbers";

const tables: Record<Language, Record<MessageKey, string>> = { en, id };
const locales: Record<Language, string> = { en: "en-US", id: "id-ID" };

/** The minor units of each currency, as the Rust side's `Currency` has them (AppStatus). */
export type MinorUnits = Partial<Record<Currency, number>>;

export interface I18n {
  lang: Language;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  /** An exact decimal string as money of `currency`, in the active language. */
  money(amount: string, currency: Currency): string;
  /** An exact decimal string as a number in the active language (`0,5`, `1.500`). */
  num(value: string, minDecimals?: number, maxDecimals?: number): string;
  /** A percentage given as an exact decimal string (`"50.0"` → `50,0%`). */
  percent(value: string, decimals?: number): string;
  /** Digits after the decimal point of `currency`'s smallest unit. */
  minorUnits(currency: Currency): number;
  /** Reads a typed amount or quantity (see `parseDecimal`). */
  parse(raw: string, maxDecimals: number): Parsed;
  date(iso: string): string;
  dateTime(iso: string): string;
  error(e: unknown): string;
}

// Intl formats a decimal string exactly (ECMA-402 NumberFormat v3): amounts never pass through
// a JavaScript Number.
function formatExact(f: Intl.NumberFormat, value: string): string {
  return f.format(value as unknown as number);
}

/** Moves the decimal point of an exact decimal string two places left (50.0 → 0.500). */
function hundredth(value: string): string {
  const m = /^(-?)([0-9]*)(?:\.([0-9]*))?$/.exec(value.trim());
  if (!m) return value;
  const [, sign, int = "", frac = ""] = m;
  const padded = int.padStart(3, "0");
  return `${sign}${padded.slice(0, -2)}.${padded.slice(-2)}${frac}`;
}

/** Error parameters that are amounts (decimal strings), written the language's way. */
const AMOUNTS = new Set(["amount", "balance", "total", "paid", "discount"]);

export function makeI18n(lang: Language, minor: MinorUnits = {}): I18n {
  const table = tables[lang];
  const locale = locales[lang];
  const t = (key: MessageKey, vars?: Record<string, string | number>) =>
    table[key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars?.[k] ?? `{${k}}`));
  const minorUnits = (currency: Currency) =>
    minor[currency] ?? new Intl.NumberFormat(locale, { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return {
    lang,
    t,
    minorUnits,
    parse: (raw, maxDecimals) => parseDecimal(raw, lang, maxDecimals),
    money(amount, currency) {
      const digits = minorUnits(currency);
      return formatExact(
        new Intl.NumberFormat(locale, {
          style: "currency",
          currency,
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        }),
        amount,
      );
    },
    num(value, minDecimals = 0, maxDecimals = 3) {
      return formatExact(new Intl.NumberFormat(locale, { minimumFractionDigits: minDecimals, maximumFractionDigits: maxDecimals }), value);
    },
    percent(value, decimals = 1) {
      return formatExact(
        new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: decimals, maximumFractionDigits: decimals }),
        hundredth(value),
      );
    },
    date(iso) {
      const d = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
      // dd/mm/yyyy in Indonesian (mm/dd/yyyy in US English)
      return new Intl.DateTimeFormat(locale, { day: "2-digit", month: "2-digit", year: "numeric" }).format(d);
    },
    dateTime(iso) {
      return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "medium" }).format(
        new Date(iso),
      );
    },
    error(e) {
      if (e instanceof LocalError) return e.message;
      const err = BackendError.from(e);
      if (err.code === "not_logged_in") return t("error.not_logged_in");
      if (err.code === "offline") return t("error.offline");
      if (err.code === "unexpected") return t("error.unexpected", { message: err.message });
      if (lang === "id") {
        // a code this version does not know (a newer service's): said in Bahasa, with the code
        const template = Object.hasOwn(idErrors, err.code) ? (idErrors[err.code] ?? "") : t("error.other", { code: err.code });
        // the values the core's message names, written the Indonesian way
        return template.replace(/\{(\w+)\}/g, (whole, k: string) => {
          const v = err.params[k];
          // a refusal that came without its figures (a service's answer names none): an
          // ellipsis, never the raw placeholder
          if (v === undefined) return whole === "{code}" ? err.code : "…";
          if (k === "until") return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" }).format(new Date(v));
          if (AMOUNTS.has(k)) return formatExact(new Intl.NumberFormat(locale, { maximumFractionDigits: 20 }), v);
          return v;
        });
      }
      return err.message;
    },
  };
}

const I18nContext = createContext<I18n>(makeI18n("en"));

export function I18nProvider({ lang, minorUnits, children }: { lang: Language; minorUnits?: MinorUnits; children: ReactNode }) {
  const value = useMemo(() => makeI18n(lang, minorUnits), [lang, minorUnits]);
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
