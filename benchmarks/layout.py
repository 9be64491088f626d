"""Which layout nn.Layer should keep its weight in on this machine: the layer's three products, and
the digits step, on row-major against column-major weights (autograd.blas.weight_order makes the
choice from numpy's BLAS kernels; this shows whether it is the right one here).

    .venv/bin/python benchmarks/layout.py            # float32 and float64, batch 32 and 256
    .venv/bin/python benchmarks/layout.py --quick    # fewer repeats

A weight of PyTorch's shape (out, in) stored row-major makes x @ Wᵀ a product with a transposed
operand. OpenBLAS built for Intel's AVX-512 cores (its SkylakeX family) runs untransposed small
products on its small-matrix kernels, on one thread; others of 2^19 multiply-adds and more go to two
threads, and the second thread then spins ~0.1 s, slowing whatever runs next. Its Haswell kernels
(which the development machine, a Zen 5, runs: its environment sets OPENBLAS_CORETYPE=Haswell) have
no such path: there both layouts take two threads, and column-major only adds the backward's copies
(float32 batch 32, by hand: 1.05x the row-major step). Stored column-major (the memory of an (in, out)
kernel, as Flax and Keras keep theirs), the forward product is untransposed; the backward's g @ W runs on a
copy of the smaller operand in a small product (g column-major, or W row-major: see
autograd.ops.network.input_grad_copy), and gᵀ @ x comes out column-major.

Part 1 times each product alone (best of repeats, numpy's default BLAS threads) and says whether
OpenBLAS used its second thread (its CPU time after one call: Linux only). Part 2 is the digits step
by hand (train.NumpyStep, the peer of issue 17) against the same numpy calls on column-major
weights, alternating in one process: a ratio, as users run it (default threads and malloc).
Part 3 times g @ W on column-major weights of a few widths three ways (a copy of g, of W, of
neither) and marks the one autograd.ops.network.input_grad_copy takes.
"""
from __future__ import annotations

import glob
import os
import statistics
import sys
import time
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import train  # noqa: E402  (puts the repo on sys.path)

from autograd.ops.network import _input_grad, _weight_grad, input_grad_copy  # noqa: E402


def helper_ticks() -> int | None:
    """CPU ticks of this process's threads other than the main one (OpenBLAS's workers), or None."""
    me, total = os.getpid(), 0
    paths = glob.glob(f"/proc/{me}/task/*/stat")
    if not paths:
        return None
    for path in paths:
        if int(path.split("/")[4]) != me:
            fields = open(path).read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def two_threads(fn) -> str:
    """'yes' if one call of fn makes OpenBLAS's second thread run (it then spins for ~0.1 s)."""
    time.sleep(0.3)  # the worker asleep again
    before = helper_ticks()
    if before is None:
        return "?"
    fn()
    time.sleep(0.25)
    return "yes" if helper_ticks() - before >= 3 else "no"


def products(quick: bool):
    print("== 1. one layer's products, (batch, 128) through a 128 -> 128 layer: best time, OpenBLAS's 2nd thread used?")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for batch in (32, 256):
            w_row = rng.standard_normal((128, 128)).astype(dtype)
            w_col = np.asfortranarray(w_row)
            x, g = rng.standard_normal((batch, 128)).astype(dtype), rng.standard_normal((batch, 128)).astype(dtype)
            cases = [("x @ Wᵀ", lambda: x @ w_row.T, lambda: x @ w_col.T),
                     ("g @ W", lambda: g @ w_row, lambda: _input_grad(g, w_col)),
                     ("gᵀ @ x", lambda: g.T @ x, lambda: _weight_grad(g, x, w_col))]
            for name, row, col in cases:
                expected = row()  # (float32 sums in another order: a tolerance of the largest entry's size)
                assert np.allclose(col(), expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
                t = [min(timeit.repeat(f, number=200, repeat=3 if quick else 7)) / 200 * 1e6 for f in (row, col)]
                print(f"  {np.dtype(dtype).name} batch {batch:3d} {name:7s} row-major W {t[0]:6.1f} us "
                      f"(2nd thread: {two_threads(row):3s})   column-major W {t[1]:6.1f} us "
                      f"(2nd thread: {two_threads(col):3s})   {t[1] / t[0]:.2f}x")


class ColumnMajorStep(train.NumpyStep):
    """train.NumpyStep's numpy calls on column-major weights, its products as nn.Layer's rules make them."""

    def __init__(self, state, dtype, lr=0.1):
        super().__init__(state, dtype, lr)
        self.W = [np.asfortranarray(w) for w in self.W]

    def __call__(self, x, y):
        (W0, W1, W2), (b0, b1, b2) = self.W, self.b
        h1 = np.tanh(x @ W0.T + b0)
        h2 = np.tanh(h1 @ W1.T + b1)
        z = h2 @ W2.T + b2
        m = z.max(axis=1, keepdims=True)
        logp = z - (np.log(np.exp(z - m).sum(axis=1, keepdims=True)) + m)
        rows = np.arange(len(y))
        loss = -logp[rows, y].mean()
        g = np.exp(logp)
        g[rows, y] -= 1
        g /= len(y)
        gh2 = _input_grad(g, W2) * (1 - h2 * h2)
        gh1 = _input_grad(gh2, W1) * (1 - h1 * h1)
        grads = [(_weight_grad(gh1, x, W0), gh1.sum(0)), (_weight_grad(gh2, h1, W1), gh2.sum(0)),
                 (_weight_grad(g, h2, W2), g.sum(0))]
        for W, b, (gW, gb) in zip(self.W, self.b, grads):
            W -= self.lr * gW
            b -= self.lr * gb
        return loss


def steps(quick: bool):
    print("\n== 2. the digits step by hand (64-128-128-10, tanh, cross-entropy, SGD), row- vs column-major weights;\n"
          f"   numpy's default BLAS threads ({train.blas_threads()}) and malloc; wall time, medians of rounds")
    state, rng = train.init_state(), np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for batch in (32, 256):
            data = [(rng.random((batch, 64)).astype(dtype), rng.integers(0, 10, batch)) for _ in range(20)]
            steppers = {"row": train.NumpyStep(state, dtype), "column": ColumnMajorStep(state, dtype)}
            for step in steppers.values():
                for x, y in data:
                    step(x, y)
            times = {k: [] for k in steppers}
            for _ in range(5 if quick else 15):
                for name, step in steppers.items():
                    t0 = time.perf_counter()
                    for i in range(100):
                        step(*data[i % len(data)])
                    times[name].append((time.perf_counter() - t0) / 100)
            ratio = statistics.median(c / r for c, r in zip(times["column"], times["row"]))
            print(f"  {np.dtype(dtype).name} batch {batch:3d}: row-major {statistics.median(times['row']) * 1e6:7.1f} us   "
                  f"column-major {statistics.median(times['column']) * 1e6:7.1f} us   {ratio:.2f}x")


def narrow(quick: bool):
    """g @ W on a column-major W of `out` rows, three ways: on a column-major copy of g, on a row-major
    copy of W, on neither; the one autograd.ops.network.input_grad_copy picks is marked *."""
    print("\n== 3. g @ W, W (out, in) column-major: on a copy of g, of W, or of neither (* the rule's choice);\n"
          "   best time in us, numpy's default BLAS threads")
    rng = np.random.default_rng(0)
    ways = {"g": lambda g, w: np.asfortranarray(g) @ w, "W": lambda g, w: g @ np.ascontiguousarray(w),
            None: lambda g, w: g @ w}
    for dtype in (np.float32, np.float64):
        for nin in (64, 128, 256):
            for rows in (32, 256):
                cells = []
                for out in (4, 10, 15, 16, 31, 128):
                    g = rng.standard_normal((rows, out)).astype(dtype)
                    w = np.asfortranarray(rng.standard_normal((out, nin)).astype(dtype))
                    pick = input_grad_copy(rows, w)
                    t = {k: min(timeit.repeat(lambda f=f: f(g, w), number=100, repeat=3 if quick else 7)) / 100 * 1e6
                         for k, f in ways.items()}
                    cells.append(f"out {out:3d}: " + " ".join(
                        f"{k or '-'}{'*' if k == pick else ' '}{t[k]:6.1f}" for k in ways))
                print(f"  {np.dtype(dtype).name} in {nin:3d} rows {rows:3d}  " + "  |  ".join(cells))


def main():
    args = _common.parse_args(__doc__.splitlines()[0])
    from autograd import blas
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, BLAS threads {train.blas_threads()}; OpenBLAS kernels "
          f"{blas.openblas_core()}: nn.Layer keeps weights {dict(F='column', C='row')[blas.weight_order()]}-major\n")
    products(args.quick)
    steps(args.quick)
    narrow(args.quick)


if __name__ == "__main__":
    main()
