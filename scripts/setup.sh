#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages, plus $TROUPE_EXTRA_PACKAGES),
# then configures (once) and builds troupe in Release into ./build: every
# target, or those in $TROUPE_BUILD_TARGETS. Safe to run again: apt is
# skipped when every package is present, and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
packages=(cmake g++ make libtorch-dev libcaf-dev libfmt-dev catch2 zlib1g-dev
          dataset-fashion-mnist ${TROUPE_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
# Either OpenBLAS build will do; the OpenMP one follows LibTorch's threads.
if ! installed libopenblas0-openmp && ! installed libopenblas0-pthread; then
  missing+=(libopenblas0-openmp)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# LibTorch calls whatever libblas.so.3 the alternatives select; the reference
# BLAS is about 15x slower than OpenBLAS for our models.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/ {print $2}')
case "$blas" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 is '$blas', not OpenBLAS" >&2 ;;
esac

jobs=$(nproc)
# Configure once: later builds re-run CMake by themselves when a CMakeLists
# changed. Arguments (CMake options), or a configure that never finished,
# configure again.
if [ ! -f build/CMakeCache.txt ] || [ $# -gt 0 ] \
   || { [ ! -f build/Makefile ] && [ ! -f build/build.ninja ]; }; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
fi
# TROUPE_BUILD_TARGETS: only these targets (e.g. the launcher); default all.
if [ -n "${TROUPE_BUILD_TARGETS:-}" ]; then
  # shellcheck disable=SC2086
  cmake --build build -j "$jobs" --target $TROUPE_BUILD_TARGETS
else
  cmake --build build -j "$jobs"
fi
