#!/usr/bin/env bash
# usage: check_evaluate.sh SYNTHETIC WORK_DIR
# Trains, exports the parameters, evaluates them again with --evaluate-only
# --load-params: the test metrics must be the ones the fit printed. A
# missing or mismatched parameter file exits 2 naming it.
set -u
syn=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() {
  echo "check_evaluate: $*" >&2
  exit 1
}
"$syn" --run-dir="$work/run" --max-steps=30 --replicas=2 --loggers=csv \
  --export-params="$work/params" > "$work/fit.txt" 2>&1 || fail "the fit failed: $(tail -5 "$work/fit.txt")"
"$syn" --evaluate-only --load-params="$work/params/params_final.pt" \
  --replicas=2 > "$work/eval.txt" 2>&1 || fail "the evaluation failed: $(tail -5 "$work/eval.txt")"
fit=$(grep -E '^  test/(acc|loss) = ' "$work/fit.txt" | sort)
again=$(grep -E '^  test/(acc|loss) = ' "$work/eval.txt" | sort)
[ -n "$fit" ] || fail "the fit printed no test metrics"
[ "$fit" = "$again" ] || fail "fit printed '$fit', evaluation '$again'"
grep -qE '^  val/loss = ' "$work/eval.txt" || fail "no val/loss in the evaluation"
# The seed's parameters are not the trained ones.
"$syn" --evaluate-only > "$work/init.txt" 2>&1 || fail "evaluating the seed's parameters failed"
[ "$(grep -E '^  test/loss = ' "$work/init.txt")" != "$(grep -E '^  test/loss = ' "$work/eval.txt")" ] \
  || fail "the loaded parameters evaluate like the seed's"
"$syn" --evaluate-only --load-params="$work/none.pt" > "$work/missing.txt" 2>&1
code=$?
[ "$code" = 2 ] || fail "a missing file exited $code, expected 2"
grep -qF "$work/none.pt" "$work/missing.txt" || fail "the error does not name the file"
"$syn" --evaluate-only --features=16 --load-params="$work/params/params_final.pt" \
  > "$work/shape.txt" 2>&1
code=$?
[ "$code" = 2 ] || fail "parameters of another shape exited $code, expected 2"
grep -qF "params_final.pt" "$work/shape.txt" || fail "the shape error does not name the file"
echo "check_evaluate: evaluation reproduces the fit's test metrics: $fit"
