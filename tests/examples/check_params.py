"""Loads params_init.pt / params_final.pt written by --export-params with
Python's torch.jit.load and checks parameter names and shapes.

usage: check_params.py DIR NAME=SHAPE ...   (SHAPE like 64x32)
Exits 77 (skipped) when this Python has no torch (Debian: python3-torch).
"""
import sys

try:
    import torch
except ImportError:
    print("check_params: skipped: /usr/bin/python3 has no torch "
          "(install python3-torch)")
    sys.exit(77)

directory, specs = sys.argv[1], sys.argv[2:]
expected = {}
for spec in specs:
    name, shape = spec.split("=")
    expected[name] = [int(d) for d in shape.split("x")]

loaded = {}
for file in ("params_init.pt", "params_final.pt"):
    module = torch.jit.load(f"{directory}/{file}")
    params = {name: p for name, p in module.named_parameters()}
    got = {name: list(p.shape) for name, p in params.items()}
    if got != expected:
        print(f"check_params: {file}: expected {expected}, got {got}")
        sys.exit(1)
    loaded[file] = params

changed = [n for n in expected
           if not torch.equal(loaded["params_init.pt"][n],
                              loaded["params_final.pt"][n])]
if not changed:
    print("check_params: training changed no parameter")
    sys.exit(1)
print(f"check_params: {sorted(expected)} read by name; changed: {sorted(changed)}")
