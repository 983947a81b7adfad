import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "dist-office", "openapi", "src/bindings", "src/office/api/schema.d.ts"] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    files: ["**/*.{ts,tsx}"],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // Screens load their data from the backend in effects and show a busy flag meanwhile;
      // that flag is set as the call starts, which this rule reports as a cascade.
      "react-hooks/set-state-in-effect": "off",
      // The UI reaches Rust only through src/backend.
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "@tauri-apps/api/core", message: "Use the backend module (src/backend)." }] },
      ],
    },
  },
  {
    files: ["src/backend/tauri.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
