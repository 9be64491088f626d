"""What the checks and the durable writes of nn.save / nn.load cost, measured side by side.

Loading: `nn.load` (regular-file check, every header checked before reading, bounded reads) against
what it did before: `np.load` of the whole archive then `load_state_dict`; and the same model from
`.safetensors`. Saving: `nn.save` (temporary, fsync of file and folder, rename) against a plain
`np.savez` to the path. Best of N wall-clock runs, alternating the two sides; prints each time and
the ratio. fsync's cost depends on the disk: on a tmpfs it is nearly free.

    python benchmarks/checkpoint.py [--quick]
"""
from __future__ import annotations

import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import nn  # noqa: E402
from _common import parse_args  # noqa: E402


def best(fns: dict, repeat: int) -> dict:
    """{name: fastest wall-clock seconds}, the functions called in turn `repeat` times."""
    times = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[k] = min(times[k], time.perf_counter() - start)
    return times


def plain_load(model, path):
    with np.load(path, allow_pickle=False) as archive:
        model.load_state_dict({k: archive[k] for k in archive.files})


def main():
    args = parse_args(__doc__.splitlines()[0])
    sizes = [("26k params: MLP 64-256-64-10", [64, [256, 64, 10]])] + (
        [] if args.quick else [("1.1M params: MLP 784-1024-256-10", [784, [1024, 256, 10]])])
    repeat = 5 if args.quick else 20
    has_safetensors = True
    try:
        import safetensors  # noqa: F401
    except ImportError:
        has_safetensors = False
    with tempfile.TemporaryDirectory(dir=pathlib.Path(__file__).resolve().parent) as folder:
        folder = pathlib.Path(folder)
        print(f"{'model':34} {'what':38} {'time':>9} {'ratio':>6}")
        for title, (nin, widths) in sizes:
            model = nn.MLP(nin, widths, activation="relu", seed=0)
            other = nn.MLP(nin, widths, activation="relu", seed=1)
            npz, st, plain = folder / "m.npz", folder / "m.safetensors", folder / "plain.npz"
            nn.save(model, npz)
            rows = {"np.load + load_state_dict (before)": lambda: plain_load(other, npz),
                    "nn.load .npz (checked)": lambda: nn.load(other, npz)}
            if has_safetensors:
                nn.save(model, st)
                rows["nn.load .safetensors (checked)"] = lambda: nn.load(other, st)
            rows["np.savez to the path (before: no fsync)"] = lambda: np.savez(plain, **model.state_dict())
            rows["nn.save .npz (fsync, rename)"] = lambda: nn.save(model, npz)
            if has_safetensors:
                rows["nn.save .safetensors (fsync, rename)"] = lambda: nn.save(model, st)
            times = best(rows, repeat)
            base_load = times["np.load + load_state_dict (before)"]
            base_save = times["np.savez to the path (before: no fsync)"]
            for name, t in times.items():
                base = base_save if "save" in name else base_load
                print(f"{title:34} {name:38} {t * 1e3:7.2f}ms {t / base:6.2f}")


if __name__ == "__main__":
    main()
