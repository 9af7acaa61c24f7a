#!/usr/bin/env bash
# The browser interop test (crates/zxmpp-cm/tests/browser_prosody.rs, interop/browser/strophe-test.mjs) needs
# Debian's chromium, node and npm, and interop/browser/node_modules (Strophe.js and playwright-core, pinned by
# its package-lock.json). Installs what is missing; does nothing when everything is there. Playwright never
# downloads a browser here: the test points it at /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=interop/browser

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing ${missing[*]} with apt-get"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# node_modules is current when every package of the lock file is installed at its locked version (npm keeps a
# record of what it installed in node_modules/.package-lock.json).
if ! node -e '
  const want = require(process.argv[1]).packages, have = require(process.argv[2]).packages;
  for (const [name, p] of Object.entries(want)) {
    if (name && (!have[name] || have[name].version !== p.version)) process.exit(1);
  }' "$PWD/$dir/package-lock.json" "$PWD/$dir/node_modules/.package-lock.json" 2>/dev/null; then
  echo "npm ci in $dir"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
