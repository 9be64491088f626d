"""This checkout's plain training loop against another checkout's, both in one process.

    .venv/bin/python benchmarks/versus.py /path/to/other/checkout     # e.g. a `git worktree` of an older commit
    .venv/bin/python benchmarks/versus.py                             # this checkout against itself (A/A)
    .venv/bin/python benchmarks/versus.py OTHER --threads default     # numpy's default BLAS threads, wall time
    .venv/bin/python benchmarks/versus.py OTHER --this-first          # the other import order
    .venv/bin/python benchmarks/versus.py OTHER --batch 256           # another batch size

A change of a few µs in a ~150-250 µs digits step cannot be seen between processes on a small
shared machine (two runs of the same code differ by up to ±5% here); inside one process, with the
two versions alternated in rounds next to hand-written numpy, it can. The other checkout is imported
first, its modules (autograd, nn, the benchmark helpers) renamed out of sys.modules, then this one:
each version's functions keep their own module globals. Both step the same digits MLP (train.py's
TracegradStep) on the same batches; the A/A run shows the harness's own noise. The import order
itself moves the paired difference: session 17's A/A gave the second-imported copy -5.1 / -0.1 us
(float64 / float32) one run, session 16's +0.2 / -3.3 us; so a change is read from both orders (the
default and --this-first) and their mean.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
_PACKAGES = ("autograd", "nn", "tracegrad", "train", "_common", "floor")


def load(checkout: Path):
    """The `train` benchmark module of `checkout`, imported with that checkout's autograd and nn,
    then taken out of sys.modules so that another checkout can be imported next to it."""
    checkout = checkout.resolve()
    paths = [str(checkout), str(checkout / "benchmarks")]
    sys.path[:0] = paths
    try:
        import train
        module = sys.modules["autograd"]
        if not Path(module.__file__).resolve().is_relative_to(checkout):
            raise SystemExit(f"versus.py: autograd came from {module.__file__}, not from {checkout}")
    finally:
        for name in [k for k in sys.modules if k.split(".")[0] in _PACKAGES]:
            del sys.modules[name]
        for p in paths:
            sys.path.remove(p)
    return train


def race(steppers: dict, batches, rounds: int, steps: int, clock) -> dict:
    """Per-step µs of each stepper, alternating them round by round."""
    for step in steppers.values():
        for x, y in batches[:100]:
            step(x, y)
    times = {name: [] for name in steppers}
    names = list(steppers)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:  # (each one first in turn: no order bias)
            step = steppers[name]
            t0 = clock()
            for i in range(steps):
                step(*batches[i % len(batches)])
            times[name].append((clock() - t0) / steps * 1e6)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", nargs="?", default=str(HERE), help="the checkout to compare with (default: this one)")
    parser.add_argument("--threads", choices=("1", "default"), default="1",
                        help="1: one BLAS thread, CPU time (default); default: numpy's own threads, wall time")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--this-first", action="store_true",
                        help="import this checkout before the other (the order alone has moved the paired difference "
                             "by up to 5 us: run both orders)")
    parser.add_argument("--batch", type=int, default=32, help="rows per step (default 32; 256 runs 20 steps a round)")
    args = parser.parse_args()
    other = Path(args.other)
    if not (other / "autograd" / "__init__.py").is_file():
        raise SystemExit(f"versus.py: {other} is no tracegrad checkout (no autograd/__init__.py)")
    if args.this_first:
        ours = load(HERE)
        theirs = load(other)
    else:
        theirs = load(other)
        ours = load(HERE)
    import numpy as np

    limiter = ours.pin_blas() if args.threads == "1" else None  # noqa: F841  (kept alive while timing)
    clock = time.process_time if args.threads == "1" else time.perf_counter
    rounds, steps, draws = (10, 100, 3) if args.quick else (20, 100, 8)
    batch = args.batch
    if batch < 1:
        raise SystemExit(f"versus.py: --batch must be at least 1, got {batch}")
    steps = steps if batch <= 32 else max(5, steps * 32 // batch)  # (about the same time a round)
    label = "this checkout against itself (A/A)" if other.resolve() == HERE else f"this checkout against {other}"
    print(f"digits MLP 64-128-128-10 step, batch {batch}: {label}; "
          + ("one BLAS thread, CPU time" if args.threads == "1" else "numpy's default BLAS threads, wall time")
          + f"; {draws} draws of new steppers, each {rounds} rounds of {steps} steps")
    state = ours.init_state()
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        batches = [(rng.random((batch, 64)).astype(dtype), rng.integers(0, 10, batch)) for _ in range(50)]
        ratios, paired = {"other": [], "this": []}, []
        for _ in range(draws):
            # new steppers each draw: where malloc puts a model's arrays moved a step by up to ±10 µs here (a
            # weight off a cache line slows its products, see autograd.alignment; the temporaries' offsets
            # still vary), a draw of luck per instance that only several instances average out
            steppers = {"numpy": ours.NumpyStep(state, dtype), "other": theirs.TracegradStep(state, dtype),
                        "this": ours.TracegradStep(state, dtype)}
            times = race(steppers, batches, rounds, steps, clock)
            for k in ratios:
                ratios[k].append(statistics.median(a / b for a, b in zip(times[k], times["numpy"])))
            paired.append(statistics.median(b - a for a, b in zip(times["other"], times["this"])))
        print(f"{np.dtype(dtype).name}: other {statistics.median(ratios['other']):.3f}x numpy, this "
              f"{statistics.median(ratios['this']):.3f}x numpy; this - other, paired by round: median "
              f"{statistics.median(paired):+.1f} us over {draws} draws ({', '.join(f'{d:+.1f}' for d in paired)})")

if __name__ == "__main__":
    main()
