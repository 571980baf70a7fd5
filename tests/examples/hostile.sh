#!/usr/bin/env bash
# Hostile input against the launchers and tools, one case per ctest entry
# (issue "Hostile input never crashes, hangs or corrupts"); each row of that
# issue's table is a case here.
#
#   hostile.sh CASE BIN_DIR WORK_DIR
#
# BIN_DIR holds synthetic, fashion_mnist, troupe-trace and troupe-report.
# Every command runs under a time limit; a signal, a hang or an unexpected
# exit status fails the case.
set -u
case_name=$1
bin=$2
work=$3/$case_name
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect CODE PATTERN COMMAND...: exit status CODE within 120 s, output
# (stdout and stderr) containing PATTERN.
expect() {
  local want=$1 pattern=$2
  shift 2
  local out code
  out=$(timeout -s KILL 120 "$@" 2>&1)
  code=$?
  if [ "$code" != "$want" ]; then
    printf '%s\n' "$out" | tail -8 >&2
    fail "exit $code (expected $want): $*"
  elif ! printf '%s\n' "$out" | grep -qF -- "$pattern"; then
    printf '%s\n' "$out" | tail -8 >&2
    fail "output lacks '$pattern': $*"
  fi
}

syn="$bin/synthetic"
quick=(--max-steps=5 --loggers=csv --log-every-n-steps=1)

# Every line of FILE is a JSON object (python3 checks).
jsonl_whole() {
  python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n"), "ends mid-line"
for n, line in enumerate(data.splitlines(), 1):
    json.loads(line)
' "$1" || fail "$1 is not whole JSON lines"
}

case $case_name in
huge_options)
  # Row 6, row 8, row 9 and the minor ones: refused before anything starts.
  expect 2 "invalid --batch-size" "$syn" --batch-size=4611686018427387904 --accumulate=4
  expect 2 "invalid --max-epochs" "$syn" --max-epochs=288230376151711744
  expect 2 "invalid --max-epochs" "$bin/fashion_mnist" --max-epochs=4611686018427387904
  expect 2 "invalid --timeout" "$syn" --timeout=inf
  expect 2 "invalid --timeout" "$syn" --timeout=1e300
  expect 2 "invalid --timeout" "$syn" --timeout=1e10
  expect 2 "invalid --scheduler-threads" "$syn" --scheduler-threads=100000
  expect 2 "invalid --scheduler-threads" "$syn" --scheduler-threads=9223372036854775807
  expect 2 "invalid --intra-op-threads" "$syn" --intra-op-threads=100000
  expect 2 "invalid --intra-op-threads" "$syn" --intra-op-threads=-1
  expect 2 "invalid --retain-memory" "$syn" --retain-memory=maybe
  expect 2 "invalid --capture-output" "$syn" --capture-output=maybe
  expect 2 "invalid --eval-batch-size" "$syn" --eval-batch-size=9223372036854775807
  expect 2 "invalid --ema-loss" "$syn" --ema-loss=2
  expect 2 "invalid --ema-loss" "$syn" --ema-loss=inf
  expect 2 "invalid --ema-loss" "$syn" --ema-loss=nan
  expect 2 "invalid --patience" "$syn" --patience=-5
  expect 2 "invalid --early-stopping" "$syn" --early-stopping=loss
  expect 2 "invalid --seed" "$syn" "--seed= -1"
  expect 2 "invalid --loggers" "$syn" --loggers=csv,csv
  expect 2 "invalid --trace" "$syn" --trace=all,all
  expect 2 "invalid --samples" "$syn" --samples=9223372036854775807
  expect 2 "invalid --samples" "$syn" --samples=10000000 --features=100000
  expect 2 "does not fit a 64-bit integer" "$syn" --max-steps=99999999999999999999
  ;;
early_stopping_unknown)
  # A monitored metric that no validation has fails the fit naming it.
  expect 1 "early stopping monitors 'val/nonexistent'" "$syn" --run-dir=run \
    --early-stopping=val/nonexistent --max-steps=20 --val-every-n-steps=5 \
    --loggers=csv
  ;;
constant_report)
  # Row 3: a constant metric >= 8192 once made the report's ticks loop.
  code=0
  timeout -s KILL 120 "$syn" --run-dir=run --lr=10000 --momentum=0 \
    --log-every-n-steps=1 --max-steps=20 --report=true --loggers=csv,jsonl \
    --lr-monitor \
    > out.txt 2>&1 || code=$?
  [ "$code" = 0 ] || [ "$code" = 1 ] || fail "exit $code"
  [ -f run/report.html ] || fail "no report.html"
  size=$(stat -c %s run/report.html 2>/dev/null || echo 0)
  [ "$size" -lt 2000000 ] || fail "report.html is $size bytes"
  ! grep -q -e 'd="[^"]*nan' -e '="-\?nan"' run/report.html \
    || fail "report.html draws NaN"
  ;;
outputs_lost)
  # Rows 4 and 5: files that cannot grow (ulimit -f, as a full disk). The
  # dropped sink is cut back to its last whole record, the run says its
  # outputs were lost (exit 3, summary.json outputs_lost).
  expect 3 "output lost" bash -c "ulimit -f 8; exec '$syn' --run-dir=run \
    --loggers=csv,jsonl,tensorboard --log-every-n-steps=1 --max-steps=120"
  grep -q '"outputs_lost": true' run/summary.json \
    || fail "summary.json does not say outputs were lost"
  grep -q '"status": "completed"' run/summary.json \
    || fail "summary.json: training did not complete"
  jsonl_whole run/metrics.jsonl
  python3 - run <<'EOF' || fail "an output ends mid-record"
import glob, struct, sys
for path in glob.glob(sys.argv[1] + "/events.out.tfevents.*"):
    data = open(path, "rb").read()
    i = 0
    while i < len(data):
        assert i + 12 <= len(data), "torn length"
        (n,) = struct.unpack("<Q", data[i:i + 8])
        i += 12 + n + 4
        assert i <= len(data), "torn record"
csv = open(sys.argv[1] + "/metrics.csv", "rb").read()
assert csv.endswith(b"\n"), "metrics.csv ends mid-line"
EOF
  # Every file sink failing at once still says so (2 KiB: config.json fits,
  # no metrics file, checkpoint or trace does).
  expect 3 "output lost" bash -c "ulimit -f 2; exec '$syn' --run-dir=run1 \
    --loggers=csv,jsonl,tensorboard --log-every-n-steps=1 --max-steps=120"
  grep -q '"outputs_lost": true' run1/summary.json \
    || fail "run1/summary.json does not say outputs were lost"
  # A run directory whose lock file cannot even be written is refused.
  expect 2 ".troupe.lock" bash -c "ulimit -f 0; exec '$syn' --run-dir=run0 \
    --loggers=csv --max-steps=5"
  ;;
export_full)
  # Row 10: exported parameters on a full file system: an error naming the
  # file, no partial archive.
  expect 1 "params_init.pt" bash -c "ulimit -f 4; exec '$syn' --run-dir=run \
    --loggers=csv --max-steps=5 --export-params=params"
  [ ! -e params/params_init.pt ] || fail "a partial params_init.pt was left"
  ls params | grep -q tmp && fail "a temporary file was left in params/"
  ;;
sigpipe)
  # Row 15: a closed stdout stops console output, not the run.
  timeout -s KILL 120 "$syn" --run-dir=run --max-steps=40 \
    --log-every-n-steps=1 --loggers=console,csv | head -1 > /dev/null
  code=${PIPESTATUS[0]}
  [ "$code" = 0 ] || fail "exit $code with stdout closed"
  grep -q '"status": "completed"' run/summary.json \
    || fail "no completed summary.json"
  ;;
signals)
  # Row 7: a first SIGINT or SIGTERM is honoured at once, whatever the
  # phase: here in a long training and in set-up.
  for sig in INT TERM; do
    "$syn" --run-dir="run_$sig" --max-epochs=100000 --loggers=csv \
      > "out_$sig.txt" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
      [ -s "run_$sig/metrics.csv" ] && break
      sleep 0.1
    done
    sleep 0.5
    kill -s "$sig" "$pid"
    code=0
    timeout -s KILL 60 tail --pid="$pid" -f /dev/null || fail "SIG$sig ignored"
    wait "$pid" || code=$?
    want=130
    [ "$sig" = TERM ] && want=143
    [ "$code" = "$want" ] || fail "exit $code after SIG$sig (expected $want)"
    grep -q '"status": "stopped"' "run_$sig/summary.json" \
      || fail "summary.json not stopped after SIG$sig"
  done
  ;;
concurrent)
  # Row 2: launchers started together on one --run-dir: one runs, the other
  # is refused naming the directory; without --run-dir each gets its own
  # version_N.
  for pair in 1 2 3; do
    "$syn" --run-dir=shared_$pair --max-steps=30 --loggers=csv > a.txt 2>&1 &
    a=$!
    "$syn" --run-dir=shared_$pair --max-steps=30 --loggers=csv > b.txt 2>&1 &
    b=$!
    ca=0
    cb=0
    wait $a || ca=$?
    wait $b || cb=$?
    if ! { [ "$ca" = 0 ] && [ "$cb" = 2 ]; } && ! { [ "$ca" = 2 ] && [ "$cb" = 0 ]; }; then
      fail "pair $pair: exit statuses $ca and $cb"
    fi
    cat a.txt b.txt | grep -q -e "in use by another troupe run (pid" \
      -e "holds another run" || fail "pair $pair: the refusal names no holder"
    rows=$(tail -n +2 shared_$pair/metrics.csv | cut -d, -f1 | sort | uniq -d | wc -l)
    [ "$rows" = 0 ] || fail "pair $pair: $rows duplicated steps in metrics.csv"
  done
  pids=()
  for i in 1 2 3 4; do
    "$syn" --max-steps=3 --loggers=csv > "v$i.txt" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fail "a versioned run failed"; done
  n=$(ls -d runs/synthetic/version_* | wc -l)
  [ "$n" = 4 ] || fail "$n version directories for 4 runs"
  for d in runs/synthetic/version_*; do
    grep -q completed "$d/summary.json" || fail "$d has no completed summary"
  done
  ;;
overwrite)
  # Row 13: --overwrite=true clears every file of the old run.
  expect 0 completed "$syn" --run-dir=run --max-steps=10 \
    --loggers=csv,tensorboard --report=true --trace=all
  expect 0 completed "$syn" --run-dir=run --max-steps=5 --loggers=csv \
    --overwrite=true
  ls run/events.out.tfevents.* > /dev/null 2>&1 && fail "old tfevents kept"
  [ -e run/report.html ] && fail "old report.html kept"
  [ -e run/trace ] && fail "old trace/ kept"
  expect 2 "holds another run" "$syn" --run-dir=run --max-steps=5
  ;;
report_out)
  # Row 11: troupe-report never writes over a device or an unrelated file.
  expect 0 completed "$syn" --run-dir=run --max-steps=10 --loggers=jsonl
  mkfifo fifo
  expect 2 "not a regular file" "$bin/troupe-report" run --out=fifo --force
  [ -p fifo ] || fail "the FIFO was replaced"
  echo keep > notes.html
  expect 2 "pass --force" "$bin/troupe-report" run --out=notes.html
  grep -q keep notes.html || fail "notes.html overwritten without --force"
  expect 0 "notes.html" "$bin/troupe-report" run --out=notes.html --force
  expect 0 "report.html" "$bin/troupe-report" run
  ;;
render_out)
  # Rows 12 and 14: render never writes over a run unless told, and reads
  # config.json through the command line's checks.
  expect 0 completed "$syn" --run-dir=run --max-steps=20 --loggers=csv \
    --trace=coordinator
  expect 0 completed "$syn" --run-dir=other --max-steps=5 --loggers=csv
  tt="$bin/troupe-trace"
  expect 2 "is the recorded run itself" "$tt" render run --out=run
  expect 2 "is the recorded run itself" "$tt" render run --out=./run/ --force
  expect 2 "holds another run" "$tt" render run --out=other
  expect 0 "rendered 20 steps" "$tt" render run --out=other --force
  expect 2 "named twice" "$tt" render run --out=fresh --loggers=csv,csv
  cp run/config.json config.good
  for bad in 0 '"abc"' -1 99999999999999999999; do
    sed "s/\"steps_per_epoch\": [0-9]*/\"steps_per_epoch\": $bad/" config.good \
      > run/config.json
    expect 2 "'steps_per_epoch'" "$tt" render run --out=fresh
  done
  cp config.good run/config.json
  expect 2 "not a regular file" "$tt" dump run
  ;;
property)
  # Random option values (int64 and double extremes, NaN, infinities):
  # exit 0 or 2 within the time limit, never a signal. Seeded: the same
  # draws every run (TROUPE_PROPERTY_SEED overrides).
  RANDOM=${TROUPE_PROPERTY_SEED:-2026}
  ints=(9223372036854775807 -9223372036854775808 4611686018427387904
    -1 0 1 2 3 7 64 1000000 99999999999999999999 abc "" " 1" 1e3)
  reals=(nan inf -inf 1e308 -1e308 1e-320 0 -0 0.5 1 2 1e10 abc "")
  int_flags=(replicas accumulate batch-size max-epochs val-every-n-steps
    log-every-n-steps scheduler-threads intra-op-threads eval-batch-size
    steps-ahead
    logger-credits patience samples features classes seed)
  real_flags=(lr momentum timeout ema-loss)
  for draw in $(seq 30); do
    args=()
    for _ in 1 2 3; do
      if [ $((RANDOM % 3)) = 0 ]; then
        f=${real_flags[$((RANDOM % ${#real_flags[@]}))]}
        v=${reals[$((RANDOM % ${#reals[@]}))]}
      else
        f=${int_flags[$((RANDOM % ${#int_flags[@]}))]}
        v=${ints[$((RANDOM % ${#ints[@]}))]}
      fi
      args+=("--$f=$v")
    done
    timeout -s KILL 120 "$syn" "${args[@]}" --run-dir="draw_$draw" \
      --max-steps=3 --loggers=csv > "draw_$draw.txt" 2>&1
    code=$?
    if [ "$code" != 0 ] && [ "$code" != 2 ]; then
      tail -3 "draw_$draw.txt" >&2
      fail "draw $draw: exit $code: ${args[*]}"
    fi
  done
  ;;
*)
  echo "hostile.sh: unknown case '$case_name'" >&2
  exit 2
  ;;
esac

if [ "$failures" != 0 ]; then
  echo "hostile.sh $case_name: $failures failure(s)" >&2
  exit 1
fi
echo "hostile.sh $case_name: passed"
