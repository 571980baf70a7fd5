#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
# python3-torch lets a test read exported parameters with torch.jit.load;
# chromium renders the HTML report in a real browser.
TROUPE_EXTRA_PACKAGES="python3-torch chromium" scripts/setup.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 900
