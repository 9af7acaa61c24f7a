#!/usr/bin/env bash
# zxmpp-bplist's differential tests run Python 3's standard-library plistlib (no pip packages).
set -euo pipefail
if command -v python3 >/dev/null 2>&1 && python3 -c 'import plistlib' >/dev/null 2>&1; then
  exit 0
fi
echo "installing python3 for the plistlib differential tests"
apt-get update
apt-get install -y --no-install-recommends python3
