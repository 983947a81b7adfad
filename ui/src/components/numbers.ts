// Typed amounts and quantities, read in the active language (see i18n/numbers.ts): the value
// as an exact decimal string, or the field's error, shown next to it in the active language.
import { LocalError } from "../backend";
import type { I18n } from "../i18n";
import type { MessageKey } from "../i18n/en";

/** Decimals a quantity may have (as the Rust item rules allow). */
export const QUANTITY_DECIMALS = 3;

/** Reads `raw` typed into `field`; throws the field's error when it cannot be read exactly. */
export function readNumber(i18n: I18n, raw: string, field: string, maxDecimals: number): string {
  const r = i18n.parse(raw, maxDecimals);
  if (r.ok) return r.value;
  throw new LocalError({
    code: r.problem,
    message: i18n.t(
      (r.problem === "too_many_decimals" && maxDecimals === 0 ? "number.no_decimals" : `number.${r.problem}`) as MessageKey,
      { decimals: maxDecimals },
    ),
    field,
  });
}

/** The typed text shown back as the number it was read as (on leaving the field); unchanged
 *  when it cannot be read, so the person sees what they typed next to its error. */
export function showBack(i18n: I18n, raw: string, maxDecimals: number): string {
  if (!raw.trim()) return raw;
  const r = i18n.parse(raw, maxDecimals);
  return r.ok ? i18n.num(r.value, 0, maxDecimals) : raw;
}
