#!/usr/bin/env bash
# usage: check_report.sh SYNTHETIC TROUPE_REPORT WORKDIR
# Trains a small run with --report=true, loads report.html in headless
# Chromium and checks what the browser rendered: every curve's path with the
# number of points the run logged, a non-zero drawn length, a screenshot.
# Exits 77 (skipped) only where Chromium is not installed.
set -u
synthetic=$1
troupe_report=$2
work=$3
fail() { echo "check_report: $*" >&2; exit 1; }

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "check_report: skipped: Chromium is not installed (apt-get install chromium)"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work" || fail "cannot create $work"
"$synthetic" --run-dir="$work/run" --report=true --loggers=csv,jsonl \
  --max-epochs=2 --val-every-n-steps=20 > "$work/train.log" 2>&1 \
  || fail "training failed: $(tail -3 "$work/train.log")"
report="$work/run/report.html"
[ -s "$report" ] || fail "no $report"

# troupe-report renders the same page from the same files.
"$troupe_report" "$work/run" --out="$work/again.html" > /dev/null \
  || fail "troupe-report failed"
cmp -s "$report" "$work/again.html" || fail "troupe-report differs from --report"

browse() { # browse PROFILE ARGS... : headless Chromium with a fresh profile
  local profile=$1
  shift
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --user-data-dir="$work/$profile" "$@" 2>> "$work/chromium.log"
}
browse profile-dom --dump-dom "file://$report" > "$work/dom.html" \
  || fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
browse profile-shot --window-size=900,2400 --screenshot="$work/report.png" \
  "file://$report" > /dev/null \
  || fail "chromium --screenshot failed: $(tail -5 "$work/chromium.log")"

grep -q 'data-rendered="yes"' "$work/dom.html" || fail "the page's script did not run"
for name in train/loss val/loss train/acc val/acc lr; do
  logged=$(grep -c "\"name\": \"$name\"" "$work/run/metrics.jsonl")
  [ "$logged" -gt 1 ] || fail "$name: only $logged points logged"
  path=$(grep -o "<path data-series=\"$name\" data-points=\"[0-9]*\"[^>]*>" "$work/dom.html" | head -1)
  [ -n "$path" ] || fail "$name: no path in the rendered page"
  points=$(printf '%s' "$path" | sed 's/.*data-points="\([0-9]*\)".*/\1/')
  [ "$points" = "$logged" ] || fail "$name: $points points drawn, $logged logged"
  # d holds one M and (points - 1) L commands.
  segments=$(printf '%s' "$path" | grep -o ' L' | wc -l)
  [ "$segments" = $((logged - 1)) ] || fail "$name: $segments segments for $logged points"
  length=$(printf '%s' "$path" | sed -n 's/.*data-rendered-length="\([0-9.]*\)".*/\1/p')
  awk -v l="${length:-0}" 'BEGIN { exit !(l > 10) }' \
    || fail "$name: drawn length '${length}' (not laid out?)"
done
size=$(stat -c %s "$work/report.png" 2>/dev/null || echo 0)
[ "$size" -gt 20000 ] || fail "screenshot $work/report.png has only $size bytes"
echo "check_report: rendered in $("$chromium" --version 2>/dev/null); screenshot $work/report.png ($size bytes)"
