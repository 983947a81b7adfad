import { useId, type ReactNode } from "react";
import { useI18n } from "../i18n";

/** A labelled control with its error shown right under it. */
export function Field(props: {
  label: string;
  error?: unknown;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const i18n = useI18n();
  const errId = `${id}-err`;
  return (
    <div className={props.error ? "field has-error" : "field"}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, props.error ? errId : undefined)}
      {props.error ? (
        <div className="field-error" id={errId} role="alert">
          {i18n.error(props.error)}
        </div>
      ) : null}
    </div>
  );
}

/** An error that concerns no single field, shown above the form's buttons. */
export function FormError({ error }: { error: unknown }) {
  const i18n = useI18n();
  if (!error) return null;
  return (
    <div className="form-error" role="alert">
      {i18n.error(error)}
    </div>
  );
}

export function Busy({ busy }: { busy: boolean }) {
  const i18n = useI18n();
  return busy ? (
    <span className="busy" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {i18n.t("common.busy")}
    </span>
  ) : null;
}

/** A form's button row: the busy indicator, Cancel when the form can be closed, and the submit
 * button (disabled while busy). */
export function FormActions(props: {
  busy: boolean;
  submitLabel: string;
  danger?: boolean;
  name?: string;
  disabled?: boolean;
  onCancel?: () => void;
}) {
  const i18n = useI18n();
  return (
    <div className="actions">
      <Busy busy={props.busy} />
      {props.onCancel ? (
        <button type="button" onClick={props.onCancel}>
          {i18n.t("common.cancel")}
        </button>
      ) : null}
      <button type="submit" name={props.name} className={props.danger ? "danger" : "primary"} disabled={props.busy || props.disabled}>
        {props.submitLabel}
      </button>
    </div>
  );
}
