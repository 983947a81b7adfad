#!/usr/bin/env bash
# The desktop app uses each platform's own keyring, checked here without those machines: for
# Windows, macOS and Linux, the OS keyring crate (keyring) must pull that platform's native
# store — the Credential Manager (windows-sys), the Keychain (security-framework), the Secret
# Service and keyutils (dbus-secret-service, linux-keyutils) — and no other platform's. Without
# its native feature keyring would fall back to an in-memory mock on that platform; the
# features are chosen per target in crates/pos-core/Cargo.toml. Reads Cargo.lock (no build;
# on a fresh machine cargo fetches the other platforms' manifests from crates.io once). Run by
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() {
  local target=$1 want=$2 refuse=$3 deps bad=0
  if ! deps=$(cargo tree --locked -p keyring --target "$target" -e normal --depth 1 --prefix none); then
    echo "✘ $target: cargo tree failed (Cargo.lock out of step with the manifests?)"
    exit 1
  fi
  deps=$(tail -n +2 <<<"$deps" | cut -d' ' -f1)
  for crate in $want; do
    if ! grep -qx "$crate" <<<"$deps"; then
      echo "✘ $target: keyring does not pull $crate (its native store): $(echo $deps)"
      bad=1
    fi
  done
  for crate in $refuse; do
    if grep -qx "$crate" <<<"$deps"; then
      echo "✘ $target: keyring pulls $crate, another platform's store"
      bad=1
    fi
  done
  if [ $bad -eq 0 ]; then echo "✔ $target: keyring uses $want"; else fail=1; fi
}
check x86_64-pc-windows-msvc "windows-sys" "security-framework dbus-secret-service linux-keyutils"
check aarch64-apple-darwin "security-framework" "windows-sys dbus-secret-service linux-keyutils"
check x86_64-unknown-linux-gnu "dbus-secret-service linux-keyutils" "windows-sys security-framework"
exit $fail
