#!/usr/bin/env bash
# usage: check_resume.sh SYNTHETIC WORKDIR
# A run killed with SIGKILL while it trains, then resumed with
# --resume=last, ends with the metrics files of a run never stopped, byte
# for byte; so does a run stopped with SIGTERM (exit 143, a checkpoint
# written, summary "stopped"), resumed.
set -u
bin=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
args=(--samples=16384 --features=64 --batch-size=16
      --max-epochs=4 --log-every-n-steps=7 --val-every-n-steps=100 --ema-loss=0.1
      --checkpoint-every-n-steps=25 --loggers=csv,jsonl --capture-output=false)
fail() {
  echo "check_resume: $*" >&2
  exit 1
}
same() {
  for f in metrics.csv metrics.jsonl; do
    cmp "$work/whole/$f" "$work/$1/$f" || fail "$1: $f differs from the run never stopped"
  done
}

"$bin" "${args[@]}" --run-dir="$work/whole" > "$work/whole.log" 2>&1 \
  || fail "the whole run failed: $(tail -5 "$work/whole.log")"
total=$(grep -c . "$work/whole/metrics.csv")

# Waits until the run of $1 has its second checkpoint, then sends $2.
stop_after_checkpoints() {
  local dir=$1 sig=$2 pid=$3
  for _ in $(seq 1 2000); do
    [ "$(ls "$dir/checkpoints" 2>/dev/null | grep -c '\.ckpt$')" -ge 2 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  kill "-$sig" "$pid" 2>/dev/null
  wait "$pid"
}

# -- SIGKILL ----------------------------------------------------------------
"$bin" "${args[@]}" --run-dir="$work/killed" > "$work/killed.log" 2>&1 &
stop_after_checkpoints "$work/killed" KILL $!
code=$?
[ "$code" = 137 ] || fail "the killed run exited $code (finished before the kill?)"
rows=$(grep -c . "$work/killed/metrics.csv")
[ "$rows" -lt "$total" ] || fail "the killed run wrote everything already"
"$bin" "${args[@]}" --run-dir="$work/killed" --resume=last > "$work/resumed.log" 2>&1 \
  || fail "the resumed run failed: $(tail -5 "$work/resumed.log")"
grep -q "resuming after step" "$work/killed/console.log" || fail "no resume line in console.log"
same killed

# -- SIGTERM ----------------------------------------------------------------
"$bin" "${args[@]}" --run-dir="$work/termed" > "$work/termed.log" 2>&1 &
stop_after_checkpoints "$work/termed" TERM $!
code=$?
[ "$code" = 143 ] || fail "SIGTERM: exit $code, expected 143: $(tail -5 "$work/termed.log")"
grep -q '"status": "stopped"' "$work/termed/summary.json" || fail "SIGTERM: summary not stopped"
"$bin" "${args[@]}" --run-dir="$work/termed" --resume=last > "$work/resumed2.log" 2>&1 \
  || fail "resuming after SIGTERM failed: $(tail -5 "$work/resumed2.log")"
same termed

# -- SIGTERM twice: the second one kills at once; what was written is whole ---
"$bin" "${args[@]}" --run-dir="$work/twice" > "$work/twice.log" 2>&1 &
pid=$!
for _ in $(seq 1 2000); do
  [ "$(ls "$work/twice/checkpoints" 2>/dev/null | grep -c '\.ckpt$')" -ge 2 ] && break
  sleep 0.01
done
kill -TERM "$pid"
kill -TERM "$pid"
wait "$pid"
code=$?
[ "$code" = 143 ] || fail "SIGTERM twice: exit $code, expected 143"
"$bin" "${args[@]}" --run-dir="$work/twice" --resume=last > "$work/resumed3.log" 2>&1 \
  || fail "resuming after two SIGTERMs failed: $(tail -5 "$work/resumed3.log")"
same twice

# -- a resume that is refused changes nothing --------------------------------
before=$(cd "$work/termed" && find . -type f ! -name .troupe.lock -exec md5sum {} + | sort)
out=$("$bin" "${args[@]}" --batch-size=32 --run-dir="$work/termed" --resume=last 2>&1)
code=$?
[ "$code" = 2 ] || fail "a resume with another --batch-size exited $code, expected 2"
printf '%s\n' "$out" | grep -q -- "--batch-size: 16 in the checkpoint, 32 in this run" \
  || fail "the refusal does not name the option: $out"
after=$(cd "$work/termed" && find . -type f ! -name .troupe.lock -exec md5sum {} + | sort)
[ "$before" = "$after" ] || fail "a refused resume changed the run directory"
echo "check_resume: killed, stopped and resumed runs match the run never stopped"
