import { useEffect, useRef, type ReactNode } from "react";

/** A modal dialog: Esc closes it, focus starts on its first control and stays inside. */
export function Dialog(props: { title: string; onClose: () => void; children: ReactNode; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const { onClose } = props;
  useEffect(() => {
    const el = ref.current;
    const first = el?.querySelector<HTMLElement>("input, select, textarea, button");
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="backdrop">
      <div className="dialog" role="dialog" aria-modal="true" aria-label={props.title} ref={ref} data-testid={props.testId}>
        <h2>{props.title}</h2>
        {props.children}
      </div>
    </div>
  );
}
