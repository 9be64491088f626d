"""Python bytecodes one digits training step executes, per function: a count that does not vary
from run to run, for the plain loop's Python overhead (issue 17) where timings swing by ±5%.

    .venv/bin/python benchmarks/bytecodes.py            # tracegrad's plain loop and the floor, float32 batch 32
    .venv/bin/python benchmarks/bytecodes.py --quick    # fewer steps counted
    .venv/bin/python benchmarks/bytecodes.py --lines    # also the busiest source lines

The step is train.TracegradStep's (nn.MLP 64-128-128-10 tanh, cross_entropy, SGD) against floor.py's
minimal closure engine on the same numpy calls. `sys.settrace` with opcode events counts each
bytecode the interpreter runs in Python code (numpy's C work counts nothing). On this machine one
bytecode of the step costs ~50 machine instructions (callgrind), and the time per instruction is
higher here than in a micro-benchmark: the interpreter runs with caches cooled by each BLAS call.
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import floor  # noqa: E402
import train  # noqa: E402  (puts the repo on sys.path)


def count(step, x, y, steps: int):
    """(bytecodes per step, Counter of (file, function) -> per step, Counter of (file, line) -> per step)."""
    for _ in range(20):  # warm: first-call work (caches, pools) is not the steady state
        step(x, y)
    functions, lines = collections.Counter(), collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            name = Path(code.co_filename).name
            functions[(name, code.co_name)] += 1
            lines[(name, frame.f_lineno)] += 1
        return tracer

    sys.settrace(tracer)
    try:
        for _ in range(steps):
            step(x, y)
    finally:
        sys.settrace(None)
    for counter in (functions, lines):
        for key in counter:
            counter[key] /= steps
    return sum(functions.values()), functions, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="count 3 steps instead of 20")
    parser.add_argument("--lines", action="store_true", help="also print the 25 busiest source lines")
    args = parser.parse_args()
    dtype, batch, steps = np.float32, 32, 3 if args.quick else 20
    rng = np.random.default_rng(0)
    x, y = rng.random((batch, 64)).astype(dtype), rng.integers(0, 10, batch)
    state = train.init_state()
    totals = {}
    for name, step in (("floor", floor.FloorStep(state, dtype)), ("tracegrad", train.TracegradStep(state, dtype))):
        total, functions, lines = count(step, x, y, steps)
        totals[name] = total
        print(f"{name}: {total:,.0f} bytecodes per step (float32, batch {batch})")
        for (file, function), n in functions.most_common(12):
            print(f"  {n:7,.0f}  {file}:{function}")
        if args.lines:
            print("  busiest lines:")
            for (file, line), n in lines.most_common(25):
                print(f"  {n:7,.0f}  {file}:{line}")
    print(f"tracegrad / floor: {totals['tracegrad'] / totals['floor']:.2f}x the bytecodes")


if __name__ == "__main__":
    main()
