#!/usr/bin/env bash
# Installs what building and testing segstore needs, from Debian's packages.
# Safe to run again: it installs only what is missing.
set -euo pipefail

pkgs=(postgresql-15 postgresql-server-dev-15 libzstd-dev libipc-run-perl
	  postgresql-15-repack postgresql-15-cron make gcc clang zstd)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
