// Dates as people type them in the active language: the one place a typed date is read. The
// order of day, month and year is the language's (dd/mm/yyyy in Indonesian, mm/dd/yyyy in US
// English, as `I18n.date` shows them); an ISO date (yyyy-mm-dd) is read in either. Nothing is
// guessed: a day that does not exist (31/02/2026) is refused, not rolled over.
import type { Language } from "../bindings/Language";

/** Which of the three typed numbers is the day and which the month. */
const order: Record<Language, "dmy" | "mdy"> = { en: "mdy", id: "dmy" };

/** `yyyy-mm-dd`, or `null` when `raw` is not a whole, real date written the language's way. */
export function parseDate(raw: string, lang: Language): string | null {
  const parts = raw.trim().split(/\s*[/.\-\s]\s*/);
  if (parts.length !== 3 || parts.some((p) => !/^[0-9]+$/.test(p))) return null;
  const [first, second, c] = parts as [string, string, string];
  let [a, b] = [first, second];
  let year: string;
  let month: string;
  let day: string;
  if (a.length === 4) {
    [year, month, day] = [a, b, c];
  } else {
    if (order[lang] === "mdy") [a, b] = [b, a];
    [day, month, year] = [a, b, c];
    if (year.length === 2) year = `20${year}`;
  }
  if (year.length !== 4 || month.length > 2 || day.length > 2) return null;
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  // the calendar decides whether the day exists (UTC, so no time zone moves it)
  const probe = new Date(Date.UTC(y, m - 1, d));
  if (m < 1 || m > 12 || d < 1 || probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== d) return null;
  return `${year}-${month.padStart(2, "0")}-${day.padStart(2, "0")}`;
}
