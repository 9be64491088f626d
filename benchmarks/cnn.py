"""One training step of the CNN demo's network (demos/cnn.py) at batch 64: tracegrad vs PyTorch CPU.

The same model (same weights: torch's copy comes from nn.to_torch), the same batch of 8×8 digits,
cross-entropy and Adam; float64 and float32; BLAS (and torch) on one thread, then on the default
number. Each configuration runs its two steppers interleaved, best and median of N, and prints
tracegrad's time / PyTorch's. Then where tracegrad's time goes: forward, backward and optimizer
step measured apart, and a cProfile of 50 steps by function (self time).

    .venv/bin/python benchmarks/cnn.py            # full run
    .venv/bin/python benchmarks/cnn.py --quick    # fewer repeats
"""
from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from _common import parse_args
from threadpoolctl import threadpool_info, threadpool_limits

import nn
from demos.cnn import build_model

BATCH = 64


def steppers(dtype):
    """(tracegrad step, torch step, tracegrad phases) for one model copied both ways, in `dtype`."""
    import torch

    X, y = nn.load_digits()
    xb, yb = X[:BATCH].reshape(-1, 1, 8, 8).astype(dtype), y[:BATCH]
    model = build_model(0).to(dtype)
    opt = nn.Adam(model.parameters(), lr=3e-3)
    tmodel = nn.to_torch(model).to(torch.float32 if dtype == np.float32 else torch.float64)
    topt = torch.optim.Adam(tmodel.parameters(), lr=3e-3)
    txb, tyb = torch.from_numpy(xb.copy()), torch.from_numpy(yb.copy())

    def ours():
        loss = nn.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def theirs():
        loss = torch.nn.functional.cross_entropy(tmodel(txb), tyb)
        topt.zero_grad()
        loss.backward()
        topt.step()

    def phases(laps):
        t0 = time.perf_counter()
        loss = nn.cross_entropy(model(xb), yb)
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        for name, dt in (("forward", t1 - t0), ("backward", t2 - t1), ("optimizer", t3 - t2)):
            laps.setdefault(name, []).append(dt)

    return ours, theirs, phases


def timed(fns, repeat):
    """({name: [wall seconds per call]}, {name: [CPU seconds per call]}), the functions interleaved
    call by call (fair on a busy machine). On one thread the CPU time is the steadier measure: it
    leaves out the time the process waited for a core."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    wall, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return wall, cpu


def main():
    args = parse_args(__doc__.splitlines()[0])
    import torch

    repeat = 15 if args.quick else 60
    default_threads = torch.get_num_threads()
    blas = ", ".join(f"{i['internal_api']} ({i['num_threads']} threads)" for i in threadpool_info())
    print(f"CNN training step (cross-entropy + Adam), batch {BATCH} of 8×8 digits: conv 1→16, batch norm, ReLU, "
          f"max pool, conv 16→32, batch norm, ReLU, max pool, flatten, linear 128→10 ({build_model(0).num_parameters()} "
          f"parameters)")
    print(f"numpy BLAS: {blas}; torch {torch.__version__}, {default_threads} threads by default\n")
    print(f"{'dtype':8s} {'threads':>8s} {'tracegrad ms':>13s} {'torch ms':>9s} {'ratio (best)':>13s} "
          f"{'(median)':>9s} {'CPU-time ratio (median)':>24s}")
    for threads in (1, None):
        for dtype in (np.float64, np.float32):
            with threadpool_limits(threads):
                torch.set_num_threads(threads or default_threads)
                ours, theirs, _ = steppers(dtype)
                t, c = timed({"ours": ours, "torch": theirs}, repeat)
            best = {k: min(v) for k, v in t.items()}
            med = {k: statistics.median(v) for k, v in t.items()}
            cmed = {k: statistics.median(v) for k, v in c.items()}
            print(f"{np.dtype(dtype).name:8s} {threads or 'default':>8} {best['ours'] * 1e3:13.2f} "
                  f"{best['torch'] * 1e3:9.2f} {best['ours'] / best['torch']:12.2f}× "
                  f"{med['ours'] / med['torch']:8.2f}× {cmed['ours'] / cmed['torch']:23.2f}×")
    torch.set_num_threads(default_threads)

    print("\nWhere tracegrad's time goes (float64, one thread): phases of one step, best of", repeat)
    with threadpool_limits(1):
        ours, _, phases = steppers(np.float64)
        laps = {}
        for _ in range(repeat):
            phases(laps)
        for name, v in laps.items():
            print(f"  {name:10s} {min(v) * 1e3:7.2f} ms")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(50):
            ours()
        profile.disable()
    print("\ncProfile of 50 steps, by self time (the op table's forward and backward functions):")
    pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(14)


if __name__ == "__main__":
    main()
