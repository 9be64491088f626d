"""Training speed, measured side by side in one run (GC on everywhere; wall and CPU time).

1. micrograd's moons demo, exactly: make_moons(n_samples=100, noise=0.1), labels ±1,
   MLP(2, [16, 16, 1]) ReLU with a linear output, hinge loss mean + 1e-4·Σp², SGD with
   lr = 1.0 - 0.9·k/100, 100 full-batch steps. tracegrad starts from micrograd's own
   initial weights, so the two runs follow the same trajectory.
2. scikit-learn digits (pixels / 16), MLP 64-128-128-10 tanh, cross-entropy, SGD lr 0.1,
   random minibatches: per-step time vs a hand-written numpy forward/backward of the
   same math and vs PyTorch CPU, float64 and float32, for the plain ("eager") loop and
   for the same step under autograd.jit; held-out accuracy.
3. Memory over 3000 training steps (tracemalloc at steps 100, 1000 and 3000, and a count
   of live Values), to show no graph survives a step.

    .venv/bin/python benchmarks/train.py            # full run (micrograd's 100 steps take ~3 min)
    .venv/bin/python benchmarks/train.py --quick    # 10 micrograd steps, extrapolated
    .venv/bin/python benchmarks/train.py --profile  # + pyinstrument profile of a digits step

Section 2 runs first as users run it -- glibc's default malloc settings and numpy's (and PyTorch's)
default number of BLAS threads -- and then again "pinned": glibc's malloc thresholds fixed
(`steady_allocator`, so that no stepper's arrays land on fresh zero-filled pages by the luck of
the allocator's history) and one BLAS thread for every stepper. The pinned rows are labelled as
such; the targets are for the default conditions. (--conditions default or pinned runs one.)
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
import tracemalloc

import numpy as np  # noqa: E402


def blas_threads() -> int:
    """numpy's BLAS threads now (as set by OPENBLAS_NUM_THREADS, the CPU count, or pin_blas)."""
    try:
        from threadpoolctl import threadpool_info
        return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1)
    except ImportError:
        return int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1))


def pin_blas():
    """One BLAS thread for numpy (threadpoolctl) and PyTorch from here on; the limiter to keep alive."""
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
        return threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        return None


def steady_allocator() -> str:
    """Make glibc's malloc keep freed memory instead of handing it back to the OS.

    By default glibc mmaps every block of 128 KiB or more and returns freed heap tops
    above a threshold, and both thresholds move with the process's history. Whether a
    step's arrays (256 KiB at batch 256) are fresh, zero-filled pages or reused ones then
    depends on luck: in some runs every step takes ~500 page faults (+40% time) for one
    stepper and none for another. Fixed thresholds give every stepper the same reused
    memory (--default-malloc skips this). Returns a note for the header line.
    """
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
        if libc.mallopt(m_mmap_threshold, 16 << 20) and libc.mallopt(m_trim_threshold, 256 << 20):
            return "glibc malloc thresholds fixed (mmap 16 MiB, trim 256 MiB)"
    except (OSError, AttributeError):
        pass
    return "default allocator (not glibc)"


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import nn  # noqa: E402
from autograd import jit  # noqa: E402

# ---- 1. micrograd's demo ------------------------------------------------------------


def moons():
    from sklearn.datasets import make_moons
    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    return X, y * 2 - 1


def micrograd_state(model) -> dict:
    """micrograd's weights in tracegrad's (PyTorch) layout."""
    state = {}
    for i, layer in enumerate(model.layers):
        state[f"layers.{i}.weight"] = np.array([[w.data for w in n.w] for n in layer.neurons])
        state[f"layers.{i}.bias"] = np.array([n.b.data for n in layer.neurons])
    return state


def run_micrograd(X, y, steps):
    """The demo notebook's training loop, verbatim apart from the timing."""
    from micrograd.engine import Value
    from micrograd.nn import MLP

    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    init = micrograd_state(model)
    losses, accs, times = [], [], []
    for k in range(steps):
        t0 = time.process_time()
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        data_loss = sum((1 + -yi * si).relu() for yi, si in zip(y, scores)) * (1.0 / len(y))
        total = data_loss + 1e-4 * sum(p * p for p in model.parameters())
        accs.append(np.mean([(yi > 0) == (si.data > 0) for yi, si in zip(y, scores)]))
        model.zero_grad()
        total.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        times.append(time.process_time() - t0)
        losses.append(total.data)
    return init, losses, accs, times


def run_tracegrad_moons(X, y, init, steps=100, example_mode=False):
    model = nn.MLP(2, [16, 16, 1], activation="relu").load_state_dict(init)
    opt = nn.SGD(model.parameters(), lr=1.0)
    schedule = nn.LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100)
    rows = [list(r) for r in X]
    losses, accs = [], []
    t0 = time.process_time()
    for _ in range(steps):
        scores = [model(r) for r in rows] if example_mode else model(X).reshape(-1)
        loss = nn.hinge(scores, y) + nn.l2_penalty(model, 1e-4)
        s = np.array([v.data for v in scores]) if example_mode else scores.data
        accs.append(np.mean((s > 0) == (y > 0)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    return (time.process_time() - t0) / steps, losses, accs


def bench_moons(quick: bool):
    X, y = moons()
    mg_steps = 10 if quick else 100
    print(f"\n== 1. micrograd's moons demo (100 points, MLP 2-16-16-1, hinge + L2, 100 SGD steps), "
          f"micrograd {mg_steps} steps")
    init, mg_losses, mg_accs, mg_times = run_micrograd(X, y, mg_steps)
    # micrograd's graphs are cycles (each _backward closure refers to its node): ~900k dead objects wait
    # for a full collection, which would otherwise land in whichever tracegrad run comes next (~1 s)
    gc.collect()
    runs = [run_tracegrad_moons(X, y, init) for _ in range(5)]
    tg_step = statistics.median(r[0] for r in runs)
    _, tg_losses, tg_accs = runs[0]
    ex_steps = 10 if quick else 100
    ex_step, ex_losses, ex_accs = run_tracegrad_moons(X, y, init, ex_steps, example_mode=True)
    mg_step = statistics.mean(mg_times)
    label = "" if mg_steps == 100 else f"  (EXTRAPOLATED from {mg_steps} steps)"
    print(f"micrograd            {mg_step * 1e3:9.2f} ms/step  100 steps: {mg_step * 100:7.2f} s{label}")
    print(f"tracegrad batch      {tg_step * 1e3:9.3f} ms/step  100 steps: {tg_step * 100:7.3f} s")
    print(f"tracegrad example    {ex_step * 1e3:9.2f} ms/step  (one graph node per neuron, the drawable graph)")
    print(f"speed-up vs micrograd: batch mode {mg_step / tg_step:.0f}x (target >= 10x), "
          f"example mode {mg_step / ex_step:.1f}x (target >= 20x)")
    n = min(len(mg_losses), len(tg_losses))
    print(f"same trajectory: max |loss difference| over the first {n} steps = "
          f"{max(abs(a - b) for a, b in zip(mg_losses[:n], tg_losses[:n])):.2e}; example vs batch mode "
          f"{max(abs(a - b) for a, b in zip(ex_losses, tg_losses)):.2e}")
    mg_final = f"{mg_accs[-1]:.0%} (after {mg_steps} steps)"
    print(f"final training accuracy: tracegrad {tg_accs[-1]:.0%} (loss {tg_losses[-1]:.4f}), micrograd {mg_final}")


# ---- 2. digits: tracegrad vs numpy vs PyTorch ----------------------------------------


def init_state(seed=0) -> dict:
    return nn.MLP(64, [128, 128, 10], activation="tanh", seed=seed).state_dict()


class TracegradStep:
    def __init__(self, state, dtype, lr=0.1):
        self.model = nn.MLP(64, [128, 128, 10], activation="tanh").load_state_dict(state).to(dtype)
        self.opt = nn.SGD(self.model.parameters(), lr=lr)

    def __call__(self, x, y):
        loss = nn.cross_entropy(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


class JitStep(TracegradStep):
    """The same training step under autograd.jit: captured once, then replayed (no Value per op)."""

    def __init__(self, state, dtype, lr=0.1):
        super().__init__(state, dtype, lr)
        model, opt = self.model, self.opt

        def train_step(x, y):
            loss = nn.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        self.step = jit(train_step)

    def __call__(self, x, y):
        return self.step(x, y)


class NumpyStep:
    """The same math by hand: forward, cross-entropy, backward, SGD update."""

    def __init__(self, state, dtype, lr=0.1):
        self.W = [state[f"layers.{i}.weight"].astype(dtype) for i in range(3)]
        self.b = [state[f"layers.{i}.bias"].astype(dtype) for i in range(3)]
        self.lr = lr

    def __call__(self, x, y):
        (W0, W1, W2), (b0, b1, b2) = self.W, self.b
        h1 = np.tanh(x @ W0.T + b0)
        h2 = np.tanh(h1 @ W1.T + b1)
        z = h2 @ W2.T + b2
        m = z.max(axis=1, keepdims=True)
        logp = z - (np.log(np.exp(z - m).sum(axis=1, keepdims=True)) + m)
        rows = np.arange(len(y))
        loss = -logp[rows, y].mean()
        g = np.exp(logp)                              # d loss / d z = (softmax - onehot) / n
        g[rows, y] -= 1
        g /= len(y)
        gh2 = (g @ W2) * (1 - h2 * h2)
        gh1 = (gh2 @ W1) * (1 - h1 * h1)
        grads = [(gh1.T @ x, gh1.sum(0)), (gh2.T @ h1, gh2.sum(0)), (g.T @ h2, g.sum(0))]
        for W, b, (gW, gb) in zip(self.W, self.b, grads):
            W -= self.lr * gW
            b -= self.lr * gb
        return loss


class TorchStep:
    def __init__(self, state, dtype, lr=0.1):
        import torch
        self.torch, self.F = torch, torch.nn.functional
        tdtype = torch.float64 if dtype == np.float64 else torch.float32
        self.model = nn.to_torch(nn.MLP(64, [128, 128, 10]).load_state_dict(state)).to(tdtype)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)

    def __call__(self, x, y):
        loss = self.F.cross_entropy(self.model(self.torch.from_numpy(x)), self.torch.from_numpy(y))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss


def minibatches(X, y, batch, count, dtype, seed=0):
    rng = np.random.default_rng(seed)
    picks = [rng.integers(0, len(X), batch) for _ in range(count)]
    return [(np.ascontiguousarray(X[i], dtype=dtype), y[i]) for i in picks]


# After a product it ran on two threads, OpenBLAS's second thread spins ~0.1 s before it sleeps,
# slowing the main thread meanwhile (the digits step by hand: 102 us on one BLAS thread, 132 us on two,
# where its one such product, h @ W1ᵀ, takes the same time on either). A user's loop runs one stepper:
# without a pause, a round would run in the spin the previous stepper's products left (tracegrad's
# steps have no two-thread product at batch 32, see benchmarks/layout.py; the hand-written one has one).
SETTLE = 0.15


def race(steppers: dict, data, rounds: int, steps: int) -> tuple[dict, dict]:
    """Per-step seconds of each stepper, alternating them round by round: (wall, CPU).

    Wall time is what a user waits for on a quiet machine. CPU time (of the whole process)
    is steadier on a shared one, where time spent waiting for a core would otherwise land on
    whichever stepper was running; but with two BLAS threads it also counts the time
    OpenBLAS's second thread spins between calls, which charges a stepper's Python time
    about twice. Each has its own row. With two BLAS threads each round starts after a pause
    (SETTLE) and five untimed steps: each stepper is timed in its own steady state, as a user
    running only it would see.
    """
    wall = {name: [] for name in steppers}
    cpu = {name: [] for name in steppers}
    names = list(steppers)
    for name in names:  # warm-up
        for x, y in data[:20]:
            steppers[name](x, y)
    settle = SETTLE if blas_threads() > 1 else 0.0
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            step = steppers[name]
            if settle:
                time.sleep(settle)  # the last stepper's BLAS worker asleep again (see SETTLE)
                for i in range(5):  # then this stepper's own state (its worker spinning if it wakes it)
                    step(*data[(r * steps - 5 + i) % len(data)])
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(steps):
                step(*data[(r * steps + i) % len(data)])
            cpu[name].append((time.process_time() - c0) / steps)
            wall[name].append((time.perf_counter() - t0) / steps)
    return wall, cpu


def ratio(times, a, b) -> float:
    """Median over rounds of time(a)/time(b), measured in the same round."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def bench_digits(quick: bool, conditions: str, jit_only: bool = False):
    Xtr, Xte, ytr, yte = nn.train_test_split(*nn.load_digits(), test_fraction=0.2, seed=0)
    state = init_state()
    try:
        import torch
        torch_note = f"PyTorch {torch.__version__}"
    except ImportError:
        torch = None
        torch_note = "PyTorch not installed (pip install torch==2.13.0): skipped"
    print(f"\n== 2. digits MLP 64-128-128-10 tanh, cross-entropy, SGD lr 0.1 ({len(Xtr)} train / {len(Xte)} "
          f"held out); {torch_note}")
    rounds = 9 if quick else 21
    print("per-step wall and CPU time, medians of rounds; each ratio is the median of per-round ratios. 'wall' is\n"
          "what a user waits for (read it on a quiet machine); 'CPU' is steadier under load but, with two BLAS\n"
          "threads, also counts OpenBLAS's spinning second thread (Python time charged ~twice). 'eager' is the\n"
          "plain loop (a graph built and walked every step: every node drawable); 'jit' is that same step\n"
          "under autograd.jit (captured once, then replayed without a Value per op)")
    targets = {32: (1.25, 1.0), 256: (1.15, 1.0)}  # (eager, jit) vs numpy, default conditions
    limiter = None
    for condition in ("default", "pinned"):
        if condition not in conditions:
            continue
        if condition == "pinned":
            allocator, limiter = steady_allocator(), pin_blas()
        else:
            allocator = "glibc's default malloc settings"
        threads = f"numpy BLAS threads {blas_threads()}" + (
            f", PyTorch threads {torch.get_num_threads()}" if torch is not None else "")
        print(f"-- {condition.upper()} conditions: {allocator}; {threads}"
              + (" (as users run it)" if condition == "default" else " (PINNED: not what users get)"))
        for dtype in (np.float64, np.float32):
            for batch in (32, 256):
                steppers = {"jit": JitStep(state, dtype), "eager": TracegradStep(state, dtype),
                            "numpy": NumpyStep(state, dtype)}
                if jit_only:  # --jit-only: the jit against hand-written numpy, nothing else
                    del steppers["eager"]
                data = minibatches(Xtr, ytr, batch, 400, dtype)
                steps = 100 if batch == 32 else 20
                clocks = race(steppers, data, rounds, steps)
                # PyTorch races separately: under default threads its OpenMP workers spin on after
                # its step and slow whichever stepper runs next (jit vs numpy at batch 32: 0.99x
                # without it in the race, 1.27x with it)
                with_torch = None
                if torch is not None and not jit_only:
                    with_torch = race({**steppers, "torch": TorchStep(state, dtype)}, data, rounds, steps)
                eager_target, jit_target = targets[batch]
                for c, (clock, times) in enumerate(zip(("wall", "CPU"), clocks)):
                    med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
                    if with_torch:
                        med["torch"] = statistics.median(with_torch[c]["torch"]) * 1e6
                    print(f"{condition} {np.dtype(dtype).name} batch {batch:3d} {clock:>4s}: "
                          + "  ".join(f"{k} {v:7.1f} us" for k, v in med.items()))
                    if jit_only:
                        print(f"    vs numpy: jit {ratio(times, 'jit', 'numpy'):.2f}x (target <= {jit_target}x)")
                        continue
                    vs_torch = ""
                    if with_torch:
                        vs_torch = (f"; vs torch (its own race): jit {ratio(with_torch[c], 'jit', 'torch'):.2f}x, "
                                    f"eager {ratio(with_torch[c], 'eager', 'torch'):.2f}x")
                    print(f"    vs numpy: eager {ratio(times, 'eager', 'numpy'):.2f}x (target <= {eager_target}x), "
                          f"jit {ratio(times, 'jit', 'numpy'):.2f}x (target <= {jit_target}x){vs_torch}")
    for dtype in (np.float64, np.float32) if not jit_only else ():
        epochs = 60
        step = JitStep(state, dtype)
        order = np.random.default_rng(1)
        t0 = time.perf_counter()
        for _ in range(epochs):
            for xb, yb in nn.batches(Xtr.astype(dtype), ytr, 32, seed=order):
                step(xb, yb)
        seconds = time.perf_counter() - t0
        from autograd import no_grad
        with no_grad():
            acc = np.mean(step.model(Xte.astype(dtype)).data.argmax(axis=1) == yte)
        print(f"held-out accuracy, {np.dtype(dtype).name}: {acc:.2%} after {epochs} epochs of batch 32 with the "
              f"jitted step ({seconds:.1f} s) (target >= 97%)")
    del limiter


# ---- 3. memory -------------------------------------------------------------------------


def live_values() -> int:
    from autograd import Value
    return sum(type(o) is Value for o in gc.get_objects())


def bench_memory(steps=3000):
    """tracemalloc's current size after steps 100, 1000 and `steps`, eager and jitted.

    Each reading is taken after gc.collect(): a full collection also empties CPython's
    free lists (up to 2000 freed tuples per size kept for reuse), which tracemalloc
    otherwise counts as growth while they fill up. Both readings are printed.
    """
    Xtr, _, ytr, _ = nn.train_test_split(*nn.load_digits(), test_fraction=0.2, seed=0)
    data = minibatches(Xtr, ytr, 32, steps, np.float64)
    print(f"\n== 3. memory over {steps} digits steps at batch 32 (tracemalloc, GC on)")
    kib = lambda d: ", ".join(f"{d[k] / 1024:.1f} KiB at step {k}" for k in sorted(d))  # noqa: E731
    for name, make in (("eager", TracegradStep), ("jit", JitStep)):
        step = make(init_state(), np.float64)
        tracemalloc.start()
        raw, current, values = {}, {}, {}
        for i, (x, y) in enumerate(data, 1):
            step(x, y)
            if i in (100, 1000, steps):
                raw[i] = tracemalloc.get_traced_memory()[0]
                gc.collect()
                current[i] = tracemalloc.get_traced_memory()[0]
                values[i] = live_values()
        tracemalloc.stop()
        print(f"{name:5s} after gc.collect(): {kib(current)} (step 100 -> 1000: "
              f"{(current[1000] - current[100]) / 1024:+.2f} KiB)")
        print(f"      raw readings:       {kib(raw)} (free lists filling, emptied by the collection)")
        kept = f"{len(step.model.parameters())} parameters"
        if name == "jit":
            stand_ins = sum(len(plan.templates) for plan in step.step.plans.values())
            kept += f" + the plan's {stand_ins} zero-size shape stand-ins (one per slot)"
        print(f"      live Values after a step: {', '.join(str(values[k]) for k in sorted(values))} "
              f"({kept}: no graph outlives its step)")


def profile_digits():
    from pyinstrument import Profiler
    Xtr, _, ytr, _ = nn.train_test_split(*nn.load_digits(), test_fraction=0.2, seed=0)
    step = TracegradStep(init_state(), np.float64)
    data = minibatches(Xtr, ytr, 32, 3000, np.float64)
    profiler = Profiler(interval=0.0002)
    with profiler:
        for x, y in data:
            step(x, y)
    print("\n== profile: 3000 tracegrad digits steps at batch 32")
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 micrograd steps (extrapolated), fewer rounds")
    parser.add_argument("--profile", action="store_true", help="also profile a digits step with pyinstrument")
    parser.add_argument("--skip-micrograd", action="store_true", help="skip section 1")
    parser.add_argument("--jit-only", action="store_true",
                        help="section 2 with only the jit and hand-written numpy (no eager, torch, accuracy; no section 3)")
    parser.add_argument("--conditions", default="default,pinned",
                        help="section 2's conditions, in this order: default (glibc's malloc settings, default "
                             "BLAS threads: as users run it), pinned (fixed malloc thresholds, one BLAS thread)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"numpy BLAS threads {blas_threads()} at start")
    if not args.skip_micrograd:
        bench_moons(args.quick)
    bench_digits(args.quick, args.conditions, args.jit_only)
    if not args.jit_only:
        bench_memory()
    if args.profile:
        profile_digits()


if __name__ == "__main__":
    main()
