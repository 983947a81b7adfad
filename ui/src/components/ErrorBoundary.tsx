import { Component, type ReactNode } from "react";
import { useI18n } from "../i18n";

function Fallback(props: { onBack: () => void }) {
  const { t } = useI18n();
  return (
    <section className="screen" role="alert" data-testid="screen-error">
      <p className="notice danger">{t("error.screen")}</p>
      <div className="actions">
        <button type="button" onClick={props.onBack}>
          {t("error.back")}
        </button>
        <button type="button" onClick={() => window.location.reload()}>
          {t("error.reload")}
        </button>
      </div>
    </section>
  );
}

/** Keeps the till usable when a screen fails to render: the shell (top bar, lock, sync) stays,
 *  the screen is replaced by a message with a way back and a reload. `resetKey` changes when the
 *  person moves to another screen, which clears the error. Nothing is logged with the error's
 *  text (it could hold customer data). */
export class ErrorBoundary extends Component<{ resetKey: string; onBack: () => void; children: ReactNode }, { failed: boolean; key: string }> {
  state = { failed: false, key: this.props.resetKey };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  static getDerivedStateFromProps(props: { resetKey: string }, state: { failed: boolean; key: string }) {
    return props.resetKey !== state.key ? { failed: false, key: props.resetKey } : null;
  }

  render() {
    return this.state.failed ? <Fallback onBack={this.props.onBack} /> : this.props.children;
  }
}
