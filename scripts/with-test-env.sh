#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring (the Secret
# Service the app uses for its data key), so keyring tests hit a real OS keyring headless.
set -euo pipefail
# rustup and cargo find their homes through HOME unless told; keep them where they are.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export HOME="$(mktemp -d)"
export XDG_RUNTIME_DIR="$(mktemp -d)"
chmod 700 "$XDG_RUNTIME_DIR"
exec dbus-run-session -- bash -c '
  echo -n "test-keyring-password" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  # Wait until the unlocked daemon owns the Secret Service name: a test that asks first would
  # have D-Bus start a second, locked daemon, whose unlock prompt fails headless.
  for _ in $(seq 100); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null \
      | grep -q "boolean true" && break
    sleep 0.1
  done
  exec "$@"' bash "$@" 2> >(grep -v "Failed to set fd limit\|Activating service\|Successfully activated" >&2)
