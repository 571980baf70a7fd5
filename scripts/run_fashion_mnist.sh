#!/usr/bin/env bash
# Sets up, builds, and trains the Fashion-MNIST example on its defaults.
# Extra arguments go to the launcher (e.g. --replicas=2).
set -euo pipefail
cd "$(dirname "$0")/.."
# Only the library and the launcher: tests and benchmarks are the test
# command's.
TROUPE_BUILD_TARGETS=fashion_mnist scripts/setup.sh
exec ./build/examples/fashion_mnist "$@"
