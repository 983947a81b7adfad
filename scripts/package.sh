#!/usr/bin/env bash
# Builds the app's installable package with Tauri's bundler (tauri-cli from crates.io, pinned in
# scripts/lib.sh): on Linux the .deb, with its icons, desktop entry and dependencies declared in
# src-tauri/tauri.conf.json. The same config names the Windows (NSIS, MSI) and macOS (DMG, .app)
# targets, built on those platforms (.github/workflows/cross-platform.yml). AppImage is left out:
# its tooling is downloaded at build time.
#
#   scripts/package.sh            the debug build (what the test command installs and launches)
#   scripts/package.sh --release  a release build
# Prints the package's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages "${APP_PACKAGES[@]}"
ensure_rust
ensure_tauri_cli
(cd ui && ensure_npm_deps && npx vite build >/dev/null)

profile=debug
args=(--bundles deb --ci)
if [ "${1:-}" = "--release" ]; then profile=release; else args+=(--debug); fi
out="target/$profile/bundle/deb"
rm -rf "$out"
(cd src-tauri && cargo tauri build "${args[@]}" -- --locked)
deb=$(ls "$out"/*.deb)
echo "$(pwd)/$deb"
