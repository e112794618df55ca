#!/usr/bin/env bash
# setup.sh: install the Debian packages the daemon-ready comparison uses as
# anchors (python3-daemon for python-daemon, daemon for libslack's daemon(1);
# start-stop-daemon comes with dpkg), linux-perf and strace for
# breakdown.sh and profiling, and shellcheck for these scripts.  Needs root.
# The shared harness skips an anchor that is missing, so this is optional.
set -euo pipefail

pkgs=(python3-daemon daemon linux-perf strace shellcheck)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "setup: ${pkgs[*]} already installed"
	exit 0
fi
if ((EUID != 0)); then
	echo "setup: run as root to install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
