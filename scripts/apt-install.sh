#!/usr/bin/env bash
# Installs Debian packages for the benchmark and build scripts: as root, or through `sudo -n`.
# A fresh machine's package lists may predate a package (seen with llvm-22): when the first
# attempt fails, the lists are refreshed once and the install is tried again.
#
#   scripts/apt-install.sh PACKAGE...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
SUDO=()
[ "$(id -u)" = 0 ] || SUDO=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get install -y -qq "$@" >/dev/null 2>&1 && exit 0
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq "$@" >/dev/null
