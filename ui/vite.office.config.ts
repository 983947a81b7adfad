import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The shop's office: a second entry of the same UI (its components, i18n and money formatting),
// built into dist-office/ and served by the order-service at `/` (--office-dir).
export default defineConfig({
  root: "office",
  base: "/",
  plugins: [react()],
  clearScreen: false,
  // no inline scripts: the service's Content-Security-Policy allows scripts from itself only
  build: { target: "es2022", outDir: "../dist-office", emptyOutDir: true, modulePreload: { polyfill: false } },
  server: { port: 5174, strictPort: true, proxy: { "/api": "http://127.0.0.1:8084" } },
});
