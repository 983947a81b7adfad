import { useEffect, useRef, useState, type InputHTMLAttributes } from "react";
import { useI18n } from "../i18n";
import { parseDate } from "../i18n/dates";

type Props = Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange" | "type"> & {
  /** `yyyy-mm-dd`, or "" for none. */
  value: string;
  onChange: (iso: string) => void;
};

/** A date typed and shown as the active language writes it (dd/mm/yyyy in Indonesian), whatever
 *  the platform's own locale (a native date input follows the operating system's). The value
 *  is an ISO date; a date that cannot be read is marked at the field, not passed on, and makes
 *  the field invalid (its form is not submitted while it shows something else than its value). */
export function DateInput({ value, onChange, className, ...rest }: Props) {
  const i18n = useI18n();
  const [text, setText] = useState(() => (value ? i18n.date(value) : ""));
  const [bad, setBad] = useState(false);
  const ref = useRef<HTMLInputElement>(null);
  const invalid = i18n.t("date.invalid");
  const check = (raw: string) => {
    const iso = raw.trim() ? parseDate(raw, i18n.lang) : "";
    ref.current?.setCustomValidity(iso === null ? invalid : "");
    return iso;
  };
  // a value set from outside (or the language changed): show it
  useEffect(() => {
    setText((t) => (parseDate(t, i18n.lang) === value ? t : value ? i18n.date(value) : ""));
  }, [value, i18n]);
  return (
    <>
      <input
        {...rest}
        ref={ref}
        type="text"
        inputMode="numeric"
        autoComplete="off"
        className={[className, "date", bad ? "invalid" : ""].filter(Boolean).join(" ")}
        placeholder={i18n.t("date.placeholder")}
        aria-invalid={bad || undefined}
        title={bad ? i18n.t("date.invalid") : undefined}
        value={text}
        onChange={(e) => {
          const raw = e.target.value;
          setText(raw);
          const iso = check(raw);
          if (iso !== null) {
            setBad(false);
            if (iso !== value) onChange(iso);
          }
        }}
        onBlur={(e) => {
          const raw = e.target.value;
          const iso = check(raw);
          setBad(iso === null);
          if (iso) setText(i18n.date(iso));
        }}
      />
    </>
  );
}
