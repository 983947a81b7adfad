import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { BackendContext } from "./backend";
import { tauriBackend } from "./backend/tauri";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <BackendContext.Provider value={tauriBackend}>
        <App />
      </BackendContext.Provider>
    </StrictMode>,
  );
}
