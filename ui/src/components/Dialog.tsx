import { useEffect, useRef, type KeyboardEvent, type ReactNode } from "react";

const FOCUSABLE = "input:not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), [href], [tabindex]:not([tabindex='-1'])";

/** A modal dialog on the platform's `<dialog>` opened with `showModal()`: the page behind is
 *  inert, Tab and Shift+Tab cycle through the dialog's own controls, Esc closes it, focus starts
 *  on its first control and goes back to where it was (the control that opened it) on close. */
export function Dialog(props: { title: string; onClose: () => void; children: ReactNode; testId?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { onClose } = props;
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!el.open) el.showModal();
    el.querySelector<HTMLElement>(FOCUSABLE)?.focus();
    return () => {
      if (el.open) el.close();
      opener?.focus();
    };
  }, []);
  const onKeyDown = (e: KeyboardEvent<HTMLDialogElement>) => {
    if (e.key === "Escape") {
      // the owner closes it (unmounting it), not the platform behind React's back
      e.preventDefault();
      e.stopPropagation();
      onClose();
    } else if (e.key === "Tab") {
      const controls = [...(ref.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])];
      const first = controls[0];
      const last = controls[controls.length - 1];
      if (!first || !last) return;
      const at = document.activeElement;
      if (e.shiftKey && (at === first || !ref.current?.contains(at))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (at === last || !ref.current?.contains(at))) {
        e.preventDefault();
        first.focus();
      }
    }
  };
  return (
    <dialog
      className="dialog"
      aria-label={props.title}
      aria-modal="true"
      ref={ref}
      data-testid={props.testId}
      onKeyDown={onKeyDown}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2>{props.title}</h2>
      {props.children}
    </dialog>
  );
}
