#!/usr/bin/env bash
# Prepares the Windows smoke suite (tests/e2e/windows): installs Debian's Wine
# and the MinGW-w64 cross compiler that builds the suite's ProcessPrng
# stand-in DLL. Safe to run again: it installs only what is missing.
#
# Wine runs x86-64 Windows binaries only on an x86-64 host; elsewhere this
# script installs nothing and the suite skips itself with that reason.
set -euo pipefail

if [ "$(uname -m)" != "x86_64" ]; then
  echo "ci-wine: skipping Wine setup: Wine runs x86-64 Windows binaries only on x86-64 hosts, this is $(uname -m)"
  exit 0
fi

missing=()
command -v wine >/dev/null 2>&1 || missing+=(wine)
[ -x /usr/lib/wine/wine64 ] || missing+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "ci-wine: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "ci-wine: $(wine --version 2>/dev/null), $(x86_64-w64-mingw32-gcc --version | head -n 1)"
