"""Shared helpers for the benchmark scripts: best-of-N timing, GC statistics, tables.

Every measurement runs with Python's cyclic garbage collector ENABLED unless the
caller asks otherwise (`gc_enabled=False`): that is how users run their code, and
the collector's share of the time is part of what an autograd engine costs.
The previous GC state is always restored.
"""
from __future__ import annotations

import argparse
import gc
import os
import time
from contextlib import contextmanager


def parse_args(description: str) -> argparse.Namespace:
    """`--quick`: a smaller run that finishes in a few seconds (for CI and smoke runs)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few seconds in all")
    return parser.parse_args()


@contextmanager
def gc_state(enabled: bool):
    """Run the block with the cyclic GC switched on or off; restore the previous state."""
    before = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        yield
    finally:
        (gc.enable if before else gc.disable)()


class Laps:
    """Named phases of one run: `laps.lap("build")` closes the phase that just ended.

    Wall-clock seconds per phase; `cpu` is the process CPU time of the whole run (it is
    less disturbed than wall-clock time when other processes share the machine).
    """

    def __init__(self):
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()
        self._cpu_start = time.process_time()
        self.cpu = 0.0

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + now - self._last
        self._last = now
        self.cpu = time.process_time() - self._cpu_start


def best_of_each(runs: dict, repeat: int = 3, gc_enabled: bool = True) -> dict[str, dict[str, float]]:
    """For each named run(laps): its fastest of `repeat` calls, as {phase: s, "total": s, "cpu": s}.

    The phases and "total" are the wall-clock times of the fastest call; "cpu" is the
    smallest process CPU time of any call.

    The runs take turns (a, b, a, b, ...), so a burst of load from another process
    hits both sides alike. Before each call: a full collection, so that no call pays for
    garbage (e.g. reference cycles) left by the one before. run() should `del` its
    graph after its last lap: freeing it is then not timed, for any library.
    """
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            gc.collect()
            with gc_state(gc_enabled):
                laps = Laps()
                run(laps)
            times = dict(laps.times, total=sum(laps.times.values()), cpu=laps.cpu)
            if name not in best:
                best[name] = times
            elif times["total"] < best[name]["total"]:
                best[name] = dict(times, cpu=min(times["cpu"], best[name]["cpu"]))
            else:
                best[name]["cpu"] = min(times["cpu"], best[name]["cpu"])
    gc.collect()
    return best


def best_of(run, repeat: int = 3, gc_enabled: bool = True) -> dict[str, float]:
    """`best_of_each` for a single run."""
    return best_of_each({"run": run}, repeat, gc_enabled)["run"]


class GCWatch:
    """Count the collections of each generation (and the time in them) inside a `with` block."""

    def __init__(self):
        self.count = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._start = 0.0

    def _callback(self, phase, info):
        if phase == "start":
            self._start = time.perf_counter()
        else:
            generation = info["generation"]
            self.count[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._start

    def __enter__(self):
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._callback)


def load_note() -> str:
    """A warning when other processes compete for the CPU (timings are then noisy), else ''."""
    try:
        load, cores = os.getloadavg()[0], os.cpu_count() or 1
    except OSError:
        return ""
    if load <= cores * 0.75:
        return ""
    return (f"note: load average {load:.1f} on {cores} cores; wall-clock times are inflated, "
            "ratios measured side by side less so")


def seconds(s: float) -> str:
    return f"{s:.3f} s" if s < 100 else f"{s:.0f} s"


def ratio(slow: float, fast: float) -> str:
    """How many times faster `fast` is than `slow`, e.g. '6.5x'."""
    return f"{slow / fast:.1f}x" if fast > 0 else "n/a"


def print_table(header: list[str], rows: list[list], title: str = "") -> None:
    """A plain aligned table: first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(header))]
    if title:
        print(f"\n{title}")
    for k, row in enumerate(cells):
        line = "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        print("  " + line.rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))
