"""How far the plain loop is from the floor: the digits step of benchmarks/train.py in three ways.

    .venv/bin/python benchmarks/floor.py            # float64 and float32, batch 32 and 256
    .venv/bin/python benchmarks/floor.py --quick    # fewer rounds

- numpy: the hand-written forward, backward and update (train.NumpyStep), the peer of issue 17.
- floor: the least an autograd engine can do on top of the same numpy calls: a node per op
  (linear, tanh, cross-entropy) that keeps a closure computing its inputs' gradients, a depth
  sort, one loop that calls the closures and sums into `.grad`, then w -= lr·g. No op table, no
  labels, no shape or dtype checks, no hooks, no copies for gradients that rules share, no
  modes (no_grad, anomaly, jit capture), no optimizer or module objects.
- tracegrad: the plain loop as users write it (train.TracegradStep: nn.MLP, cross_entropy,
  SGD), a new graph every step.

The ratios say how much of tracegrad's overhead over numpy an engine needs at all (floor vs
numpy) and how much is tracegrad's generality (tracegrad vs floor), phase by phase. One BLAS
thread, glibc's default malloc settings, CPU time, the three alternating in rounds; medians.
Read the floor at batch 32: at batch 256 its activations and gradients (256 KiB in float64),
all alive until the step ends, are mapped and faulted in afresh every step, which tracegrad's
recycled arrays (autograd/recycle.py) avoid -- there the floor is slower than tracegrad.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import train  # noqa: E402  (puts the repo on sys.path)

import nn  # noqa: E402


class Node:
    """A value and, for an op's result, its inputs and the closure giving their gradients."""
    __slots__ = ("data", "grad", "inputs", "rule", "depth")

    def __init__(self, data, inputs=(), rule=None):
        self.data, self.grad, self.inputs, self.rule = data, None, inputs, rule
        self.depth = 1 + max([p.depth for p in inputs]) if inputs else 0


def linear(x, w, b, ones):
    out = x.data @ w.data.T
    out += b.data

    def rule(g):  # the same numpy calls as tracegrad's linear rule (the bias as ones @ g)
        return (g @ w.data if x.rule is not None else None), g.T @ x.data, ones @ g
    return Node(out, (x, w, b), rule)


def tanh(z):
    out = np.tanh(z.data)

    def rule(g):
        d = np.square(out)
        np.subtract(1, d, out=d)
        d *= g
        return (d,)
    return Node(out, (z,), rule)


def cross_entropy(z, y):
    a = z.data
    m = np.maximum.reduce(a, axis=-1, keepdims=True)
    e = np.subtract(a, m)
    np.exp(e, out=e)
    total = np.add.reduce(e, axis=-1, keepdims=True)
    rows = np.arange(len(y))
    loss = np.add.reduce((np.log(total) + m)[..., 0] - a[rows, y], axis=None) / len(y)
    e /= total  # the softmax, kept for the rule

    def rule(g):
        p = e.copy()
        p[rows, y] -= 1
        p *= g / len(y)
        return (p,)
    return Node(loss, (z,), rule)


def backward(root):
    order, seen, stack = [], set(), [root]
    while stack:
        v = stack.pop()
        order.append(v)
        for p in v.inputs:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    order.sort(key=lambda v: -v.depth)
    root.grad = np.ones((), np.asarray(root.data).dtype)
    for v in order:
        if v.rule is not None:
            for p, c in zip(v.inputs, v.rule(v.grad)):
                if c is not None:
                    p.grad = c if p.grad is None else p.grad + c


class FloorStep:
    """The digits MLP's training step on the minimal engine above."""

    def __init__(self, state, dtype, lr=0.1):
        self.params = [Node(state[f"layers.{i}.{k}"].astype(dtype)) for i in range(3) for k in ("weight", "bias")]
        self.lr, self.dtype, self.ones = lr, dtype, {}
        self.phases = None  # set to a list to collect (forward, loss, backward, update) seconds

    def __call__(self, x, y):
        ones = self.ones.get(len(x))
        if ones is None:
            ones = self.ones[len(x)] = np.ones(len(x), self.dtype)
        w0, b0, w1, b1, w2, b2 = self.params
        t0 = time.perf_counter()
        z = linear(tanh(linear(tanh(linear(Node(x), w0, b0, ones)), w1, b1, ones)), w2, b2, ones)
        t1 = time.perf_counter()
        loss = cross_entropy(z, y)
        t2 = time.perf_counter()
        for p in self.params:
            p.grad = None
        backward(loss)
        t3 = time.perf_counter()
        for p in self.params:
            p.data -= np.multiply(self.lr, p.grad)
        if self.phases is not None:
            self.phases.append((t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3))
        return loss


def tracegrad_phases(step, x, y, phases):
    """train.TracegradStep's step, its phases timed as FloorStep's."""
    t0 = time.perf_counter()
    z = step.model(x)
    t1 = time.perf_counter()
    loss = nn.cross_entropy(z, y)
    t2 = time.perf_counter()
    step.opt.zero_grad()
    loss.backward()
    t3 = time.perf_counter()
    step.opt.step()
    phases.append((t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3))


def main():
    args = _common.parse_args(__doc__.splitlines()[0])
    train.pin_blas()
    rounds, steps = (5, 100) if args.quick else (15, 300)
    state = train.init_state()
    print("digits MLP 64-128-128-10 step, one BLAS thread, CPU time per step (medians of rounds)\n")
    for dtype in (np.float64, np.float32):
        for batch in (32, 256):
            rng = np.random.default_rng(0)
            x = rng.random((batch, 64)).astype(dtype)
            y = rng.integers(0, 10, batch)
            steppers = {"numpy": train.NumpyStep(state, dtype), "floor": FloorStep(state, dtype),
                        "tracegrad": train.TracegradStep(state, dtype)}
            for f in steppers.values():
                for _ in range(20):
                    f(x, y)
            times = {k: [] for k in steppers}
            for _ in range(rounds):
                for name, f in steppers.items():
                    t0 = time.process_time()
                    for _ in range(steps):
                        f(x, y)
                    times[name].append((time.process_time() - t0) / steps)
            med = {k: statistics.median(v) for k, v in times.items()}
            floor_phases, tg_phases = [], []
            steppers["floor"].phases = floor_phases
            for _ in range(steps * 3):
                steppers["floor"](x, y)
                tracegrad_phases(steppers["tracegrad"], x, y, tg_phases)
            fp = [statistics.median(p) * 1e6 for p in zip(*floor_phases)]
            tp = [statistics.median(p) * 1e6 for p in zip(*tg_phases)]
            name = np.dtype(dtype).name
            print(f"{name} batch {batch:3d}: numpy {med['numpy'] * 1e6:7.1f} us   floor {med['floor'] * 1e6:7.1f} us "
                  f"({med['floor'] / med['numpy']:.2f}x numpy)   tracegrad {med['tracegrad'] * 1e6:7.1f} us "
                  f"({med['tracegrad'] / med['numpy']:.2f}x numpy, {med['tracegrad'] / med['floor']:.2f}x the floor)")
            print("    phases (us, floor -> tracegrad): " + "   ".join(
                f"{k} {a:.1f} -> {b:.1f}" for k, a, b in zip(("forward", "loss", "backward", "update"), fp, tp)))


if __name__ == "__main__":
    main()
