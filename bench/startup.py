#!/usr/bin/python3
"""Start-up of the Fashion-MNIST launcher: process start to its first step.

Runs `fashion_mnist` on its defaults with the console logging every step
(3 steps, no other sink) and stamps each line of its output as it arrives:

  libraries_seconds   process start to its first line (the dynamic loader,
                      LibTorch's static initialisers, option parsing)
  data_seconds        that line to the plan (reading and decoding the four
                      IDX files, building the tensors, then the fit's
                      set-up: run directory, replica, actor system; the
                      console sink prints the plan)
  first_step_seconds  process start to the console line of step 1
                      (target: <= 1.0 s)

Alternates nothing (one program); prints the median of --runs runs, after
one warm-up run that fills the page cache.

    /usr/bin/python3 bench/startup.py [--runs 5] [--build build]
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time


def one_run(launcher, run_dir):
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [launcher, "--loggers=console", "--log-every-n-steps=1",
         "--max-steps=3", "--run-dir=" + run_dir, "--overwrite"],
        stdout=subprocess.PIPE, text=True, bufsize=1)
    first = plan = step = None
    for line in p.stdout:
        now = time.perf_counter() - t0
        if first is None:
            first = now
        if plan is None and line.startswith("troupe: ") and " steps (" in line:
            plan = now
        if step is None and " step 1/" in line:
            step = now
    if p.wait() != 0 or None in (first, plan, step):
        raise RuntimeError("the launcher failed or printed no step line")
    return first, plan - first, step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    launcher = os.path.join(args.build, "examples", "fashion_mnist")
    with tempfile.TemporaryDirectory() as tmp:
        one_run(launcher, os.path.join(tmp, "run"))
        rows = []
        for i in range(args.runs):
            libs, data, step = one_run(launcher, os.path.join(tmp, "run"))
            rows.append((libs, data, step))
            print("run %d: libraries %.3f s, data %.3f s, first step at %.3f s"
                  % (i + 1, libs, data, step), flush=True)
    med = statistics.median
    print("RESULT libraries_seconds %.3f" % med(r[0] for r in rows))
    print("RESULT data_seconds %.3f" % med(r[1] for r in rows))
    print("RESULT first_step_seconds %.3f" % med(r[2] for r in rows))


if __name__ == "__main__":
    main()
