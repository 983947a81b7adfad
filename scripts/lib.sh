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
# PostgreSQL 15 (server and psql) for the order-service tests.
RUST_TEST_PACKAGES=(build-essential pkg-config libdbus-1-dev dbus dbus-x11 gnome-keyring keyutils
  postgresql-15 postgresql-client-15 python3)
