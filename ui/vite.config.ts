import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The app loads the built files from the Tauri shell (tauri.conf.json: frontendDist = ../ui/dist).
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "safari15", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  test: { globals: true, environment: "jsdom", setupFiles: ["./src/test/setup.ts"], restoreMocks: true },
});
