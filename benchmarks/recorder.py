"""Cost of TrainingRecorder on a moons training step, measured side by side in one run.

A step is micrograd's moons demo on tensors: MLP(2, [16, 16, 1]) with ReLU, 100
points in one batch, hinge loss + 1e-4 L2 penalty, forward + backward + SGD update.
Two identical models train in alternating blocks of steps, one without and one
with a recorder (the order flipped every round, so drift and warm-up hit both),
and the script prints the median CPU time per step of each, their ratio, and the
median ratio of adjacent block pairs; once with the recorder wrapping the
optimizer, once without an optimizer. CPU time of this process (`time.process_time`)
leaves out the time a busy machine keeps it waiting, which wall time would add
to one side or the other at random.

    python benchmarks/recorder.py [--rounds 200] [--block 10] [--quick]
"""
from __future__ import annotations

import argparse
import gc
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import nn  # noqa: E402
from autograd.viz.training import TrainingRecorder  # noqa: E402


def make_step(model, opt, X, targets, rec=None):
    """One training step; with a recorder, rec.step(loss) comes before opt.step() when the
    recorder wraps opt (as the demos do), after it otherwise (as it must then)."""
    wrapped = rec is not None and rec.optimizer is not None

    def step():
        opt.zero_grad()
        loss = nn.hinge(model(X).reshape(-1), targets) + nn.l2_penalty(model, 1e-4)
        loss.backward()
        if wrapped:
            rec.step(loss)
        opt.step()
        if rec is not None and not wrapped:
            rec.step(loss)
    return step


def block_time(step, n: int) -> float:
    """CPU seconds per step over n steps."""
    start = time.process_time()
    for _ in range(n):
        step()
    return (time.process_time() - start) / n


def measure(with_optimizer: bool, rounds: int, block: int, X, targets):
    """Median CPU time per step without and with the recorder, and the median paired ratio."""
    def setup():   # two identical runs: the recorder's wrapper must not see the plain steps
        model = nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
        return model, nn.SGD(model.parameters(), lr=0.01)   # small steps: one regime throughout
    (model_a, opt_a), (model_b, opt_b) = setup(), setup()
    rec = TrainingRecorder(model_b, opt_b if with_optimizer else None, every=10)
    plain, recorded = make_step(model_a, opt_a, X, targets), make_step(model_b, opt_b, X, targets, rec)
    for _ in range(5):   # warm-up
        plain(), recorded()
    times = {"without": [], "with": []}
    gc.collect()
    for r in range(rounds):
        order = (("without", plain), ("with", recorded))
        for name, step in (order if r % 2 == 0 else order[::-1]):
            times[name].append(block_time(step, block))
    rec.grad_norms()   # the deferred reduction happens too, for the record
    paired = statistics.median(w / o for w, o in zip(times["with"], times["without"]))
    return statistics.median(times["without"]), statistics.median(times["with"]), paired, len(rec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--block", type=int, default=10, help="steps per timed block")
    parser.add_argument("--quick", action="store_true", help="20 rounds (a smoke run of a few seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = min(args.rounds, 20)
    X, y = nn.make_moons(100, noise=0.1, seed=0)
    targets = 2.0 * y - 1
    print(f"moons step: MLP(2, [16, 16, 1]) relu, 100 points, hinge + L2, SGD; "
          f"{args.rounds} rounds x {args.block} steps each way, CPU time per step")
    for label, with_optimizer in (("optimizer= (wrapped)", True), ("no optimizer", False)):
        without, with_rec, paired, steps = measure(with_optimizer, args.rounds, args.block, X, targets)
        print(f"  {label:20s} without {without * 1e6:6.1f} us  with recorder {with_rec * 1e6:6.1f} us  "
              f"ratio {with_rec / without:.3f}  (paired blocks {paired:.3f}; "
              f"{(with_rec - without) * 1e6:+.1f} us/step; {steps} steps recorded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
