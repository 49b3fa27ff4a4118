#!/usr/bin/env bash
# Installs what Runwright needs on a Debian/Ubuntu machine: uv, the locked Python environment,
# and a Chromium for Playwright (Playwright's download, else the distribution's package).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root (or sudo) for: $*" >&2; return 1; fi; }
apt_install() {
  if ! command -v apt-get >/dev/null; then echo "no apt-get: install $* yourself" >&2; return 1; fi
  [ -n "${APT_UPDATED:-}" ] || { as_root apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Python 3.11+ with venv.
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  say "installing python3 and venv"; apt_install python3 python3-venv python3-pip
fi

# 2. uv (pinned), in its own small venv unless it is already on PATH.
if command -v uv >/dev/null; then UV=uv; else
  if [ ! -x .uv/bin/uv ]; then
    say "installing uv"; python3 -m venv .uv && .uv/bin/pip install -q 'uv==0.13.9'
  fi
  UV=.uv/bin/uv
fi

# 3. The locked environment (every workspace package, dev tools included).
if [ ! -f .venv/.synced ] || [ uv.lock -nt .venv/.synced ] || [ pyproject.toml -nt .venv/.synced ]; then
  say "installing Python dependencies (uv sync --frozen)"
  "$UV" sync --frozen --all-packages --quiet
  touch .venv/.synced
fi

# 4. Chromium: Playwright's build if it can be downloaded, else the system package.
have_chromium() {
  [ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || \
    .venv/bin/python - <<'PY' 2>/dev/null
import os, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    sys.exit(0 if os.path.exists(p.chromium.executable_path) else 1)
PY
}
if ! have_chromium; then
  say "installing Chromium (playwright install, else the system package)"
  if ! timeout 180 .venv/bin/playwright install chromium >/dev/null 2>&1; then
    apt_install chromium fonts-liberation
  fi
fi

# 5. The tests' OpenID Connect provider (tests/support/oidc: panva's oidc-provider, locked). Only
#    the SSO tests need it; without Node.js (or offline) they install it themselves or skip.
OIDC=tests/support/oidc
if [ -f "$OIDC/package-lock.json" ]; then
  if ! command -v npm >/dev/null; then
    say "installing Node.js and npm (for the SSO tests' provider)"
    apt_install nodejs npm || echo "no Node.js: the SSO tests will be skipped" >&2
  fi
  if command -v npm >/dev/null && { [ ! -f "$OIDC/node_modules/.package-lock.json" ] || \
      [ "$OIDC/package-lock.json" -nt "$OIDC/node_modules/.package-lock.json" ]; }; then
    say "installing the SSO tests' OpenID Connect provider (npm ci)"
    (cd "$OIDC" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) || \
      echo "npm ci failed (offline?): the SSO tests will try again" >&2
  fi
fi

# 6. Prometheus and promtool (Debian's prometheus package): the alert-rule checks and the test in
#    which a real Prometheus scrapes the running stack. Without them those tests are skipped.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  say "installing Prometheus (promtool checks the alert rules; a test scrapes the stack)"
  apt_install prometheus || echo "no prometheus package: the scrape and rule tests will be skipped" >&2
fi
