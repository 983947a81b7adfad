# Shared helpers for the set-up scripts (sourced, not run).

# Installs the Debian packages that are missing, with one apt-get update first.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing system packages: ${missing[*]}"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# The Rust toolchain comes from rustup (Debian 12's rustc is too old for this workspace).
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Rust is not installed: install it with rustup (https://rustup.rs), stable channel, then rerun." >&2
    exit 1
  fi
}

# What building and testing the Rust workspace needs: a C compiler (bundled SQLite), D-Bus
# headers (the Secret Service keyring client), and a headless D-Bus session with GNOME Keyring
# for the keyring tests.
# PostgreSQL 15 (server and psql) for the order-service tests; OpenSSL and zlib headers for the
# Kafka client (librdkafka, built from its bundled source).
RUST_TEST_PACKAGES=(build-essential pkg-config libdbus-1-dev dbus dbus-x11 gnome-keyring keyutils
  postgresql-15 postgresql-client-15 python3 python3-venv curl libfaketime
  libssl-dev zlib1g-dev)

# libfaketime: the test command also runs the suites at other wall-clock dates.
export FAKETIME_LIB="/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/faketime/libfaketimeMT.so.1"

# What building and running the Tauri app needs (WebKitGTK and friends), and what the
# end-to-end tests add: a virtual X server, the WebKit WebDriver, curl and the screenshot tool.
APP_PACKAGES=(build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev libdbus-1-dev dbus dbus-x11 gnome-keyring)
E2E_PACKAGES=(xvfb xauth webkit2gtk-driver curl procps)
# The office's end-to-end suite: Debian's Chromium, driven headless by playwright-core.
OFFICE_E2E_PACKAGES=(chromium curl procps)

# Node.js ≥ 20.19 and npm (Vite 8 needs it). Debian 12's own nodejs is 18: install NodeSource's
# only if no suitable node is present.
ensure_node() {
  if command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    return
  fi
  echo "Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none)); installing Debian's nodejs/npm first." >&2
  ensure_packages nodejs npm
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    echo "Debian's Node.js is too old for Vite 8; install Node.js 20.19+ (e.g. from nodejs.org) and rerun." >&2
    exit 1
  fi
}

# `npm ci` in the current directory when node_modules is missing or older than the lock file.
ensure_npm_deps() {
  ensure_node
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
}

# cargo-modules (the crates' module graphs, for the module-cycle check), pinned to the last
# release that builds with this toolchain (0.28 needs rustc 1.98).
ensure_cargo_modules() {
  if ! cargo modules --version 2>/dev/null | grep -q "0.27.0"; then
    cargo install cargo-modules --locked --version 0.27.0
  fi
}

# tauri-driver (the WebDriver bridge for Tauri apps), pinned.
ensure_tauri_driver() {
  if ! command -v tauri-driver >/dev/null 2>&1; then
    cargo install tauri-driver --locked --version 2.1.0
  fi
}

# tauri-cli (Tauri's bundler: the .deb, and NSIS/MSI/DMG on their platforms), pinned to the
# release that matches the tauri crate in Cargo.lock.
TAURI_CLI_VERSION=2.12.4
ensure_tauri_cli() {
  if ! cargo tauri --version 2>/dev/null | grep -q "$TAURI_CLI_VERSION"; then
    cargo install tauri-cli --locked --version "$TAURI_CLI_VERSION"
  fi
}

# tansu, a Kafka-compatible broker in Rust, for the outbox relay's tests (memory storage on
# loopback), pinned.
TANSU_VERSION=0.6.0
ensure_tansu() {
  if ! tansu --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    cargo install tansu --locked --features dynostore --version "$TANSU_VERSION"
  fi
}
