#!/usr/bin/env bash
# Formats every C++ source of the project with .clang-format (CAF's style:
# 2 spaces, 80 columns). `scripts/format.sh --check` only reports files that
# would change (exit 1 if any).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.hpp' ':!:tests/fuzz/corpus/*')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror $files
else
  clang-format -i $files
fi
