#!/usr/bin/env bash
# usage: check_exit.sh EXPECTED_CODE PATTERN COMMAND [ARGS...]
# Runs COMMAND, requires its exit code and that its output contains PATTERN.
set -u
expected=$1
pattern=$2
shift 2
out=$("$@" 2>&1)
code=$?
if [ "$code" != "$expected" ]; then
  printf '%s\n' "$out" | tail -20
  echo "check_exit: exit code $code, expected $expected" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -qF -- "$pattern"; then
  printf '%s\n' "$out" | tail -20
  echo "check_exit: output lacks '$pattern'" >&2
  exit 1
fi
echo "check_exit: exit code $code and '$pattern' as expected"
