import { describe, expect, it } from "vitest";
import type { Language } from "../bindings/Language";
import { formatDecimal, parseDecimal } from "./numbers";

// [typed, language, max decimals, expected value or problem]
const table: [string, Language, number, string][] = [
  // Indonesian: "." groups thousands, "," is the decimal separator
  ["240.000", "id", 0, "240000"],
  ["240000", "id", 0, "240000"],
  ["1.500.000", "id", 0, "1500000"],
  ["Rp 1.500.000", "id", 0, "1500000"],
  ["Rp. 75.000", "id", 0, "75000"],
  ["1 500 000", "id", 0, "1500000"],
  ["1.500.000,00", "id", 0, "1500000"],
  ["0,5", "id", 3, "0.5"],
  ["1,250", "id", 3, "1.25"],
  ["12,50", "id", 2, "12.5"],
  ["007", "id", 0, "7"],
  ["240.00", "id", 0, "ambiguous_number"],
  ["0.500", "id", 0, "ambiguous_number"],
  ["000.001", "id", 0, "ambiguous_number"],
  ["25,0000", "id", 0, "ambiguous_number"],
  ["1.5", "id", 3, "ambiguous_number"],
  ["1.50.000", "id", 0, "ambiguous_number"],
  [".500", "id", 0, "ambiguous_number"],
  ["240,000", "id", 0, "ambiguous_number"],
  ["0,5", "id", 0, "too_many_decimals"],
  ["1,2345", "id", 3, "too_many_decimals"],
  ["1,5,0", "id", 3, "invalid_number"],
  ["12a", "id", 0, "invalid_number"],
  ["1e6", "id", 0, "invalid_number"],
  ["", "id", 0, "invalid_number"],
  ["-5.000", "id", 0, "negative_number"],
  ["1,", "id", 2, "invalid_number"],
  // English: "," groups thousands, "." is the decimal separator
  ["240,000", "en", 0, "240000"],
  ["1,500,000", "en", 0, "1500000"],
  ["1,500,000.50", "en", 2, "1500000.5"],
  ["0.5", "en", 3, "0.5"],
  ["$12.99", "en", 2, "12.99"],
  ["1,5", "en", 3, "ambiguous_number"],
  ["0,500", "en", 0, "ambiguous_number"],
  ["240.000", "en", 0, "ambiguous_number"],
  ["240.000", "en", 3, "240"],
  ["240.00", "en", 0, "240"],
  ["1.2.3", "en", 3, "invalid_number"],
];

describe("parseDecimal", () => {
  it.each(table)("%j in %s (at most %i decimals) → %s", (raw, lang, max, expected) => {
    const r = parseDecimal(raw, lang, max);
    expect(r.ok ? r.value : r.problem).toBe(expected);
  });
});

describe("formatDecimal", () => {
  it("groups and separates as the language does, exactly from the string", () => {
    expect(formatDecimal("1500000", "id")).toBe("1.500.000");
    expect(formatDecimal("1500000", "en")).toBe("1,500,000");
    expect(formatDecimal("0.5", "id")).toBe("0,5");
    expect(formatDecimal("12345678901234567.89", "en", 2, 2)).toBe("12,345,678,901,234,567.89");
    expect(formatDecimal("50", "id", 1, 1)).toBe("50,0");
    expect(formatDecimal("-1000", "id")).toBe("-1.000");
  });
});
