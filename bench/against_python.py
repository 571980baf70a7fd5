#!/usr/bin/python3
"""troupe against a plain PyTorch loop in Python, on the same machine.

The Python side is the loop a researcher writes with Debian's python3-torch:
Fashion-MNIST training set pre-loaded as tensors, MLP 784-256-10, batch 64,
SGD with momentum, shuffled, one intra-op thread, loss and accuracy read back
each step. The troupe side is one epoch of `pipeline_overhead --side=troupe`
(same data, model, optimizer and thread settings). Alternates A B, at least
5 pairs, and prints the median of the per-pair ratios.

    /usr/bin/python3 bench/against_python.py [--pairs 5] [--build build]
"""

import argparse
import gzip
import os
import re
import statistics
import subprocess
import sys
import time

import torch

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, header):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8)


def load_train(data_dir, train_size=55000):
    images = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz"), 16)
    labels = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"), 8)
    x = images.view(-1, 784)[:train_size].to(torch.float32) / 255.0
    y = labels[:train_size].to(torch.int64)
    return x, y


def python_epoch(x, y, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    order = torch.randperm(x.shape[0])
    t0 = time.perf_counter()
    loss_sum = 0.0
    for first in range(0, x.shape[0] - 63, 64):
        idx = order[first:first + 64]
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
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
    return dt


def troupe_epoch(build, data_dir, seed):
    out = subprocess.run(
        [os.path.join(build, "bench", "pipeline_overhead"), "--side=troupe",
         "--pairs=1", "--seed=%d" % seed, "--data-dir=" + data_dir],
        check=True, capture_output=True, text=True).stdout
    m = re.search(r"^RESULT troupe_epoch_seconds (\S+)$", out, re.M)
    if not m:
        raise RuntimeError("no troupe_epoch_seconds in:\n" + out)
    return float(m.group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--build", default="build")
    p.add_argument("--data-dir", default=DATA)
    args = p.parse_args()
    torch.set_num_threads(1)
    print("Python %s, torch %s, %d intra-op thread" % (
        sys.version.split()[0], torch.__version__, torch.get_num_threads()))
    x, y = load_train(args.data_dir)
    ratios, py_times, tr_times = [], [], []
    for i in range(args.pairs):
        a = python_epoch(x, y, i)
        b = troupe_epoch(args.build, args.data_dir, i)
        py_times.append(a)
        tr_times.append(b)
        ratios.append(a / b)
        print("pair %d: Python %.3f s, troupe %.3f s, Python/troupe %.3f"
              % (i + 1, a, b, a / b), flush=True)
    print("RESULT python_epoch_seconds %.3f" % statistics.median(py_times))
    print("RESULT troupe_epoch_seconds %.3f" % statistics.median(tr_times))
    print("RESULT python_over_troupe %.3f" % statistics.median(ratios))


if __name__ == "__main__":
    main()
