#!/usr/bin/env bash
# Set up the browser tests (idempotent): Debian's Chromium and the pinned playwright-core.
# Never run `npx playwright install` here: it downloads a browser, which fails offline.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
cd "$here"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
/usr/bin/chromium --version 2>/dev/null
npm ls playwright-core
