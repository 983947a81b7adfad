// What an audit event's `detail` and changed fields say, in the active language. The detail is
// written by the Rust side as part of the hash-chained record and kept verbatim there; these
// are its forms (pos-core's audit calls): `key=value` pairs (`order=… kind=… approved_by=…
// role=…`), `version 1 -> 2`, `<operation>: <reason>` for a refused approval, a bare reason
// code for a refused login, `<n> events|items|staff`, `results: <n>`, `ok, <n> events`, a day range
// `yyyy-mm-dd..yyyy-mm-dd`, and an order number. A form not known here is shown as it is.
import type { I18n } from "../i18n";
import { en, type MessageKey } from "../i18n/en";

export interface DetailContext {
  /** Staff names by id. */
  names: Map<string, string>;
  /** Order numbers and staff names by entity id (the page's labels). */
  labels: Partial<Record<string, string>>;
}

/** `t(key)` when the catalogue has the key, else `fallback` (a code the UI does not know yet). */
export function known(i18n: I18n, key: string, fallback: string): string {
  return key in en ? i18n.t(key as MessageKey) : fallback;
}

function value(i18n: I18n, key: string, v: string, ctx: DetailContext): string {
  switch (key) {
    case "role":
    case "approver_role":
      return known(i18n, `role.${v}`, v);
    case "kind":
      return known(i18n, `sync.kind.${v}`, v);
    case "method":
      return known(i18n, `method.${v}`, v);
    case "approved_by":
      return ctx.names.get(v) ?? ctx.labels[v] ?? v.slice(0, 8);
    case "order":
    case "reverses":
      return ctx.labels[v] ?? v.slice(0, 8);
    case "amount":
      return i18n.num(v, 0, 4);
    case "repaired":
    case "active":
      return i18n.t(v === "true" ? "common.yes" : "common.no");
    default:
      return v;
  }
}

/** The detail of an audit event as a person reads it. */
export function describeDetail(i18n: I18n, detail: string, ctx: DetailContext): string {
  const d = detail.trim();
  let m: RegExpExecArray | null;
  if ((m = /^(\d+) (?:events|items|staff)$/.exec(d)) || (m = /^results: (\d+)$/.exec(d))) return i18n.t("audit.detail.count", { n: m[1]! });
  if ((m = /^ok, (\d+) events$/.exec(d))) return i18n.t("audit.detail.verified", { n: m[1]! });
  if ((m = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(d))) return `${i18n.date(m[1]!)} – ${i18n.date(m[2]!)}`;
  if ((m = /^version (\d+) -> (\d+)(?: payments\+(\d+))?$/.exec(d))) {
    const v = i18n.t("audit.detail.version", { from: m[1]!, to: m[2]! });
    return m[3] && m[3] !== "0" ? `${v} · ${i18n.t("audit.detail.payments", { n: m[3] })}` : v;
  }
  if ((m = /^([a-z_]+\.[a-z_.]+): ([a-z_]+)$/.exec(d))) return `${known(i18n, `audit.op.${m[1]}`, m[1]!)}: ${known(i18n, `audit.reason.${m[2]}`, m[2]!)}`;
  if (/^[a-z_]+$/.test(d)) return known(i18n, `audit.reason.${d}`, known(i18n, `audit.op.${d}`, d));
  if (/^[a-z_.]+$/.test(d)) return known(i18n, `audit.op.${d}`, d);
  if (/^[a-z_]+=\S*( [a-z_]+=\S*)*$/.test(d)) {
    return d
      .split(" ")
      .map((pair) => {
        const [k, ...rest] = pair.split("=");
        return `${known(i18n, `audit.key.${k}`, k!)}: ${value(i18n, k!, rest.join("="), ctx)}`;
      })
      .join(" · ");
  }
  return d;
}

/** A changed field's name as a person reads it (`customer.phone` → "Customer phone"). */
export function fieldLabel(i18n: I18n, field: string): string {
  return known(i18n, `audit.field.${field}`, field);
}
