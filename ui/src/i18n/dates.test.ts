import { describe, expect, it } from "vitest";
import { parseDate } from "./dates";

describe("parseDate", () => {
  it.each([
    ["id", "05/11/2026", "2026-11-05"],
    ["id", "5/11/2026", "2026-11-05"],
    ["id", "5-11-26", "2026-11-05"],
    ["id", "05.11.2026", "2026-11-05"],
    ["id", "29/02/2028", "2028-02-29"],
    ["id", "2026-11-05", "2026-11-05"],
    ["en", "11/05/2026", "2026-11-05"],
    ["en", "2026-11-05", "2026-11-05"],
  ] as const)("reads %s %s as %s", (lang, raw, iso) => {
    expect(parseDate(raw, lang)).toBe(iso);
  });

  it.each([
    ["id", "31/02/2026"],
    ["id", "29/02/2027"],
    ["id", "11/30/2026"], // month 30: a US-ordered date typed in Indonesian is refused, not swapped
    ["en", "30/11/2026"],
    ["id", "05/11"],
    ["id", "besok"],
    ["id", "05/11/20266"],
    ["id", ""],
  ] as const)("refuses %s %s", (lang, raw) => {
    expect(parseDate(raw, lang)).toBeNull();
  });
});
