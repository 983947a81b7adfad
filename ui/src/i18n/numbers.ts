// Numbers as people type and read them in the active language: the one place amounts and
// quantities typed into the counter are read, and where numbers are shown. In Indonesian "."
// groups thousands and "," is the decimal separator; in English it is the other way round.
// Nothing ambiguous is guessed: "240.00" in Indonesian, or "1,5" in English, is refused with a
// message, never silently read as something else. Values travel as exact decimal strings
// ("1500000", "0.5"), never through a JavaScript Number.
import type { Language } from "../bindings/Language";

/** The separators of a language. */
export const separators: Record<Language, { group: string; decimal: string }> = {
  en: { group: ",", decimal: "." },
  id: { group: ".", decimal: "," },
};

/** Why a typed number was refused (each has a message in both languages: `number.<code>`). */
export type NumberProblem = "invalid_number" | "ambiguous_number" | "too_many_decimals" | "negative_number";

export type Parsed = { ok: true; value: string } | { ok: false; problem: NumberProblem };

// Spaces people use to group digits: space, no-break space, narrow no-break space, thin space.
const SPACES = /[ \u00a0\u202f\u2009]/;

/**
 * Reads `raw` as typed in `lang`: digits with optional grouping (the language's group separator
 * or spaces, in groups of three), an optional decimal part of at most `maxDecimals` digits
 * (trailing zeros do not count), an optional leading currency ("Rp", "Rp.", "IDR", "$").
 * Returns the canonical decimal string (`"1500000"`, `"0.5"`) or why it was refused.
 */
export function parseDecimal(raw: string, lang: Language, maxDecimals: number): Parsed {
  const { group, decimal } = separators[lang];
  let s = raw.trim().replace(/^(rp\.?|idr|usd|eur|sgd|myr|jpy|\$|€|¥)\s*/i, "").trim();
  if (s.startsWith("-") || s.startsWith("−")) return { ok: false, problem: "negative_number" };
  if (s === "") return { ok: false, problem: "invalid_number" };
  for (const ch of s) {
    if (!/[0-9]/.test(ch) && ch !== group && ch !== decimal && !SPACES.test(ch)) {
      return { ok: false, problem: "invalid_number" };
    }
  }
  const parts = s.split(decimal);
  if (parts.length > 2) return { ok: false, problem: "invalid_number" };
  const intPart = parts[0] ?? "";
  const fracPart = parts[1] ?? "";
  if (parts.length === 2 && (fracPart === "" || !/^[0-9]+$/.test(fracPart))) {
    return { ok: false, problem: fracPart === "" ? "invalid_number" : "ambiguous_number" };
  }
  let digits: string;
  if (intPart.includes(group) || SPACES.test(intPart)) {
    const groups = intPart.split(new RegExp(`[${group === "." ? "\\." : group} \\u00a0\\u202f\\u2009]`));
    const [first = "", ...rest] = groups;
    // A grouped number starts with 1 to 3 digits, not zero ("0.500" is no thousands group).
    if (!/^[0-9]{1,3}$/.test(first) || /^0+$/.test(first) || rest.length === 0 || !rest.every((g) => /^[0-9]{3}$/.test(g))) {
      return { ok: false, problem: "ambiguous_number" };
    }
    digits = groups.join("");
  } else {
    if (!/^[0-9]+$/.test(intPart)) return { ok: false, problem: "invalid_number" };
    digits = intPart;
  }
  s = digits.replace(/^0+(?=[0-9])/, "");
  const frac = fracPart.replace(/0+$/, "");
  if (frac.length > maxDecimals) return { ok: false, problem: "too_many_decimals" };
  // Three or more digits after the separator that would only fit by dropping zeros read as a
  // thousands group of the other language ("240,000" or "25,0000" typed in Indonesian for a
  // Rupiah amount): refused, never read as 240 or 25. Up to two zeros ("1.500,00") are fine.
  if (fracPart.length > maxDecimals && fracPart.length >= 3) return { ok: false, problem: "ambiguous_number" };
  return { ok: true, value: frac ? `${s}.${frac}` : s };
}

/** `value` (an exact decimal string) with the language's grouping and decimal separator,
 *  showing between `minDecimals` and `maxDecimals` decimals. Exact: formatted from the string. */
export function formatDecimal(value: string, lang: Language, minDecimals = 0, maxDecimals = 20): string {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(value.trim());
  if (!m) return value;
  const [, sign = "", int = "", fracRaw = ""] = m;
  let frac = fracRaw.replace(/0+$/, "");
  if (frac.length > maxDecimals) frac = frac.slice(0, maxDecimals);
  frac = frac.padEnd(minDecimals, "0");
  const { group, decimal } = separators[lang];
  const grouped = int.replace(/\B(?=([0-9]{3})+(?![0-9]))/g, group);
  return `${sign}${grouped}${frac ? decimal + frac : ""}`;
}
