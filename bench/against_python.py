#!/usr/bin/python3
"""troupe against a plain PyTorch loop in Python, on the same machine.

The Python side is the loop a researcher writes with Debian's python3-torch:
Fashion-MNIST training set pre-loaded as tensors and pre-sliced into shuffled
batches of 64 before the clock starts, MLP 784-256-10, SGD with momentum,
loss and accuracy read back each step. The troupe side is one epoch of
`pipeline_overhead --side=troupe` (same data, model, optimizer; its loader
gathers each batch while the steps run).

Both sides run as child processes with the same thread settings: LibTorch's
intra-op threads and OpenBLAS's own pool, through OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS in the child's environment (torch.set_num_threads does not
reach the pthread build of OpenBLAS). Each child times its epoch itself; this
script times each child's whole process. Alternates A B after a warm-up
pair, and prints medians:

  python_us_per_step, troupe_us_per_step, troupe_over_python_per_step
  python_process_seconds, troupe_process_seconds, troupe_over_python_process

    /usr/bin/python3 bench/against_python.py [--pairs 5] [--threads 1]
                                             [--build build]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"
TRAIN_SIZE = 55000  # the launcher's split: the rest is validation
BATCH = 64


def read_idx(torch, path, header):
    import gzip
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8)


def python_child(data_dir, seed):
    """One epoch of the Python loop; prints its own timing."""
    import torch
    images = read_idx(torch, os.path.join(data_dir,
                                          "train-images-idx3-ubyte.gz"), 16)
    labels = read_idx(torch, os.path.join(data_dir,
                                          "train-labels-idx1-ubyte.gz"), 8)
    x = images.view(-1, 784)[:TRAIN_SIZE].to(torch.float32) / 255.0
    y = labels[:TRAIN_SIZE].to(torch.int64)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    order = torch.randperm(x.shape[0])
    batches = []
    for first in range(0, x.shape[0] - BATCH + 1, BATCH):
        idx = order[first:first + BATCH]
        batches.append((x.index_select(0, idx), y.index_select(0, idx)))
    t0 = time.perf_counter()
    loss_sum = 0.0
    for xb, yb in batches:
        opt.zero_grad()
        logits = model(xb)
        loss = torch.nn.functional.cross_entropy(logits, yb)
        acc = (logits.argmax(1) == yb).to(torch.float32).mean()
        loss.backward()
        opt.step()
        loss_sum += loss.item()
        acc.item()
    dt = time.perf_counter() - t0
    if loss_sum != loss_sum:
        raise RuntimeError("the Python loop diverged")
    print("threads %d (torch), OPENBLAS_NUM_THREADS=%s" % (
        torch.get_num_threads(), os.environ.get("OPENBLAS_NUM_THREADS")))
    print("RESULT python_epoch_seconds %.6f" % dt)
    print("RESULT steps %d" % len(batches))


def run_child(cmd, env, key):
    """Runs one child; returns (its own timing of `key`, process seconds)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=env).stdout
    wall = time.perf_counter() - t0
    m = re.search(r"^RESULT %s (\S+)$" % key, out, re.M)
    if not m:
        raise RuntimeError("no %s in:\n%s" % (key, out))
    return float(m.group(1)), wall, out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--threads", type=int, default=1,
                   help="intra-op and OpenBLAS threads of both sides")
    p.add_argument("--build", default="build")
    p.add_argument("--data-dir", default=DATA)
    p.add_argument("--child", choices=["python"], help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "python":
        python_child(args.data_dir, args.seed)
        return
    if args.pairs < 1 or args.threads < 1:
        p.error("--pairs and --threads must be at least 1")
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    env["OMP_NUM_THREADS"] = str(args.threads)
    troupe_bin = os.path.join(args.build, "bench", "pipeline_overhead")
    steps = (TRAIN_SIZE // BATCH)
    per_step = []
    process = []
    py_steps, tr_steps, py_procs, tr_procs = [], [], [], []
    for i in range(-1, args.pairs):
        seed = max(i, 0)
        a, a_wall, out = run_child(
            [sys.executable, os.path.abspath(__file__), "--child=python",
             "--seed=%d" % seed, "--data-dir=" + args.data_dir],
            env, "python_epoch_seconds")
        if i < 0:
            print(out.splitlines()[0])
        b, b_wall, out = run_child(
            [troupe_bin, "--side=troupe", "--pairs=1", "--seed=%d" % seed,
             "--intra-op-threads=%d" % args.threads,
             "--data-dir=" + args.data_dir],
            env, "troupe_epoch_seconds")
        if i < 0:
            print("troupe: " + out.splitlines()[0])
        print("pair %d: epoch Python %.3f s, troupe %.3f s (troupe/Python "
              "%.3f); process Python %.2f s, troupe %.2f s%s"
              % (i + 1, a, b, b / a, a_wall, b_wall,
                 " (warm-up)" if i < 0 else ""), flush=True)
        if i < 0:
            continue
        py_steps.append(a / steps * 1e6)
        tr_steps.append(b / steps * 1e6)
        per_step.append(b / a)
        py_procs.append(a_wall)
        tr_procs.append(b_wall)
        process.append(b_wall / a_wall)
    med = statistics.median
    print("RESULT threads %d" % args.threads)
    print("RESULT python_us_per_step %.1f" % med(py_steps))
    print("RESULT troupe_us_per_step %.1f" % med(tr_steps))
    print("RESULT troupe_over_python_per_step %.3f" % med(per_step))
    print("RESULT python_process_seconds %.2f" % med(py_procs))
    print("RESULT troupe_process_seconds %.2f" % med(tr_procs))
    print("RESULT troupe_over_python_process %.3f" % med(process))


if __name__ == "__main__":
    main()
