#!/usr/bin/env bash
# The README's launch command: installs what is missing on Debian 12 (system packages, Rust,
# the UI's npm packages), builds the UI and the app (release), and starts Offline Order POS.
#
# On a desktop session it simply opens the window. Without a display it runs the app on a
# virtual X server (Xvfb) and says so; without a D-Bus session (e.g. over SSH) it starts one
# with GNOME Keyring, whose password is asked for (or read from POS_KEYRING_PASSWORD) because
# the data key must be kept in an OS keyring, never in a file.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages "${APP_PACKAGES[@]}" xvfb xauth
ensure_rust
(cd ui && ensure_npm_deps && npx vite build)
cargo build --release --locked -p offline-order-pos
app="$(pwd)/target/release/offline-order-pos"

launch=("$app")
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: running the app on a virtual screen (Xvfb :99-style, 1280x1024)." >&2
  launch=(xvfb-run -a -s "-screen 0 1280x1024x24" "${launch[@]}")
fi
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  pw="${POS_KEYRING_PASSWORD:-}"
  if [ -z "$pw" ] && [ -t 0 ]; then
    read -rsp "Keyring password (protects the app's data key): " pw; echo >&2
  fi
  [ -n "$pw" ] || { echo "No D-Bus session: set POS_KEYRING_PASSWORD or run from a terminal." >&2; exit 1; }
  export POS_KEYRING_PASSWORD="$pw"
  exec dbus-run-session -- bash -c '
    printf %s "$POS_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    unset POS_KEYRING_PASSWORD
    exec "$@"' bash "${launch[@]}"
fi
exec "${launch[@]}"
