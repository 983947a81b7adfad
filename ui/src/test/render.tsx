import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { BackendContext, type Backend } from "../backend";
import type { Language } from "../bindings/Language";
import { I18nProvider } from "../i18n";

// As the Rust side reports them (AppStatus.currencies).
const minorUnits = { IDR: 0, USD: 2 } as const;

export function renderWith(ui: ReactElement, backend: Backend, lang: Language = "en") {
  return render(
    <BackendContext.Provider value={backend}>
      <I18nProvider lang={lang} minorUnits={minorUnits}>
        {ui}
      </I18nProvider>
    </BackendContext.Provider>,
  );
}
