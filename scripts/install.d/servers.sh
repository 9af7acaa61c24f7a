#!/usr/bin/env bash
# Installs what the real-server integration tests need when it is missing: Prosody and ejabberd (started on
# loopback by scripts/prosody and scripts/ejabberd, never as system services) and curl (their readiness check).
set -euo pipefail
missing=()
command -v prosody >/dev/null && command -v prosodyctl >/dev/null || missing+=(prosody)
command -v ejabberdctl >/dev/null || missing+=(ejabberd)
command -v curl >/dev/null || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "installing ${missing[*]} with apt-get"
$sudo apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
