"""Record what happens to a model across training: loss, gradient flow, updates, weights.

>>> rec = TrainingRecorder(model, optimizer, every=10)      # doctest: +SKIP
>>> for i in rec.progress(range(300)):                     # a tqdm bar showing the loss
...     optimizer.zero_grad()
...     loss = nn.hinge(model(X).reshape(-1), 2 * y - 1)
...     loss.backward()
...     rec.step(loss)        # once per step, before or after optimizer.step()
...     optimizer.step()
>>> rec.grad_norms()["layers.0"]                            # one float per step
>>> rec.close()                                             # optimizer.step is its own again

With an optimizer, the recorder wraps that optimizer's `step` (on the instance;
`close()`, or leaving a `with` block, gives it back) to count the updates, so
`rec.step(loss)` may come before or after `optimizer.step()`, as long as each
runs once per training step: the weights after an update are read at the next
`rec.step`, read or `close()`. Without one (a hand-written `p.data -= lr * p.grad`
loop, or a training step under `autograd.jit`, whose replays call the optimizer's own step and
not the wrapper), call `rec.step(loss)` after the update. The update of step t is the change of
the weights from step t-1 to t; snapshot t holds the weights that produced loss t (those before
update t).

Cost (benchmarks/recorder.py): a step copies each parameter's gradient and weights
into its slots in a row of a block (views made once: one assignment each); a full
block (32 rows), or a read, is reduced at once by `np.add.reduceat` into squared
norms of gradient, update and weights per parameter. The loss is kept as a float:
no graph node is made, no reference to the loss or its graph is kept.

Long runs: at most `max_snapshots` weight snapshots are kept (default 200: a training player page
of a few hundred kilobytes to a megabyte, and 200 copies of the weights in memory). When one more
would pass the cap, every other snapshot is dropped and the spacing doubles (every=1 keeps steps
0, 1, 2, ..., then 0, 2, 4, ..., then 0, 4, 8, ...), so the kept ones always cover the whole run
evenly, between half the cap and the cap. `snapshot_every` is the spacing now; losses and norms
are kept for every step. max_snapshots=None keeps them all.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...extras import require
from .network import copy_model

__all__ = ["TrainingRecorder"]


class TrainingRecorder:
    """Keep loss, per-layer gradient norms, update-to-weight ratios and weight snapshots.

    model: anything with `named_parameters()` (an `nn.Module`).
    optimizer: optional; its step() is wrapped to count updates, so rec.step may come first.
    every: take a weight snapshot at steps 0, every, 2*every, ...
    max_snapshots: keep at most this many, thinning evenly (see the module docstring); None: all.
    """

    def __init__(self, model, optimizer=None, every: int = 10, max_snapshots: int | None = 200):
        if not hasattr(model, "named_parameters"):
            raise TypeError(f"TrainingRecorder: expected a model with named_parameters() "
                            f"(an nn.Module), got {type(model).__name__}")
        named = list(model.named_parameters())
        if not named:
            raise ValueError(f"TrainingRecorder: {type(model).__name__} has no parameters (named_parameters() "
                             "is empty), so there is nothing to record; record a model with a layer")
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"TrainingRecorder: every={every!r}; give a whole number of steps >= 1")
        if max_snapshots is not None and (isinstance(max_snapshots, bool) or not isinstance(
                max_snapshots, (int, np.integer)) or max_snapshots < 2):
            raise ValueError(f"TrainingRecorder: max_snapshots={max_snapshots!r}; give a whole number >= 2, "
                             "or None to keep every snapshot")
        if any(p.size == 0 for _, p in named):
            raise ValueError("TrainingRecorder: a parameter holds no elements; remove the empty layer first")
        self.model, self.every = model, int(every)
        self.max_snapshots = None if max_snapshots is None else int(max_snapshots)
        self.snapshot_every = self.every   # the spacing of the kept snapshots: every, doubled by each thinning
        self.parameter_names = [name for name, _ in named]
        self._params, self._shapes = [p for _, p in named], [p.shape for _, p in named]
        sizes = [p.size for p in self._params]
        self._offsets = np.cumsum([0] + sizes[:-1])
        # 'layers.1.weight' is in layer 'layers.1'; the model's own parameters in one named after its class
        self._param_layer = np.array([n.rsplit(".", 1)[0] if "." in n else type(model).__name__
                                      for n in self.parameter_names])
        self.layer_names = list(dict.fromkeys(str(n) for n in self._param_layer))
        self._losses: list[float] = []
        total = int(sum(sizes))
        # block row s - base (base: first step not reduced) = weights after update s, gradient of
        # step s; slots[row] = per parameter, (weights, grad) views into the row, made once
        self._block = np.empty((max(2, min(32, 2 ** 22 // (2 * total))), 2, total))
        self._work = (np.empty_like(self._block), np.empty((len(self._block), total)))
        bounds = list(zip(self._offsets, self._offsets + sizes, self._shapes))
        self._slots = [[(row[0, a:b].reshape(shape), row[1, a:b].reshape(shape)) for a, b, shape in bounds]
                       for row in self._block]
        self._base = 0
        self._last = np.concatenate([p.data for p in self._params], axis=None, dtype=np.float64)
        self._last_squares = np.add.reduceat(self._last * self._last, self._offsets)
        # table[s] = squared norms per parameter at step s: |grad|², |Δw|², |w before Δw|²
        self._table = np.empty((256, 3, len(sizes)))
        self._snapshots: dict[int, np.ndarray] = {}
        self._updates = self._stored = 0   # weight updates made, and whose weights are stored
        self.optimizer = optimizer
        self._unwrap = self._wrap(optimizer) if optimizer is not None else None
        self._closed = False

    # ---- recording -------------------------------------------------------------------
    def _wrap(self, optimizer):
        original = getattr(optimizer, "step", None)
        if not callable(original):
            raise TypeError(f"TrainingRecorder: optimizer {type(optimizer).__name__} has no step() method")
        had_own = "step" in getattr(optimizer, "__dict__", {})

        def step(*args, **kwargs):
            if self._updates > len(self._losses):
                raise RuntimeError(self._out_of_step("optimizer.step()", "rec.step(loss)"))
            result = original(*args, **kwargs)
            self._updates += 1   # its weights are read at the next rec.step() (or read, or close)
            return result

        step.__doc__ = original.__doc__
        try:
            optimizer.step = step
        except AttributeError as error:
            raise TypeError(f"TrainingRecorder cannot wrap {type(optimizer).__name__}.step ({error}); "
                            "record without optimizer= and call rec.step(loss) after each update") from None

        def unwrap():
            if had_own:
                optimizer.step = original
            else:
                del optimizer.step
        return unwrap

    def _out_of_step(self, twice: str, missing: str) -> str:
        return (f"TrainingRecorder: {twice} ran twice without {missing} in between; with optimizer= "
                "each must run once per training step (in either order). For several updates per "
                "step, record without optimizer= and call rec.step(loss) after the last one.")

    def _slots_of(self, step: int) -> list:
        """The (weights, grad) views of `step`'s row; a full block is reduced first."""
        if step - self._base == len(self._slots):
            self._reduce()
        return self._slots[step - self._base]

    def _sync(self) -> None:
        """Store the weights after the latest update, unless stored already: the weights now."""
        if self._stored < self._updates:
            for (weights, _), p in zip(self._slots_of(self._updates - 1), self._params):
                weights[...] = p.data
            self._stored = self._updates

    def step(self, loss) -> None:
        """Record one training step, after `loss.backward()` (see the module docstring for when)."""
        if self._closed:
            raise RuntimeError("TrainingRecorder.step: this recorder was closed; make a new one to record more")
        value = getattr(loss, "data", loss)
        if type(value) is not float:
            if np.size(value) != 1:
                raise ValueError(f"TrainingRecorder.step: the loss must be one number, got shape "
                                 f"{np.shape(value)}; reduce it first (e.g. loss.mean())")
            value = float(np.ravel(value)[0])
        t = len(self._losses)
        if self._unwrap is None:   # no optimizer: the weights were just updated
            self._updates = t + 1
        elif t > self._updates:
            raise RuntimeError(self._out_of_step("rec.step(loss)", "optimizer.step()"))
        self._sync()
        if t % self.snapshot_every == 0:  # the weights loss t was computed with: those after update t-1
            self._snapshots[t] = (self._block[t - 1 - self._base, 0] if t > self._base else self._last).copy()
            if self.max_snapshots is not None and len(self._snapshots) > self.max_snapshots:
                self._thin()
        for (_, grad), p in zip(self._slots_of(t), self._params):
            grad[...] = p.grad
        self._losses.append(value)
        if self._unwrap is None and t == 0 and np.array_equal(self._block[0, 0], self._last):
            warnings.warn("TrainingRecorder.step: the weights did not change since the recorder was "
                              "created; without optimizer=, call rec.step(loss) after updating them",
                              stacklevel=2)

    def _thin(self) -> None:
        """Keep every other snapshot (the multiples of twice the spacing): still evenly spread."""
        self.snapshot_every *= 2
        self._snapshots = {s: w for s, w in self._snapshots.items() if s % self.snapshot_every == 0}

    def _reduce(self) -> None:
        """Squared norms of the gradients, updates and weights of every complete step, at once;
        the one step possibly half-stored moves to the block's first row."""
        base, n = self._base, min(self._stored, len(self._losses)) - self._base
        if n <= 0:
            return
        while base + n > len(self._table):   # double the table
            self._table = np.concatenate([self._table, np.empty_like(self._table)])
        rows, (squares, delta) = self._block[:n], (w[:n] for w in self._work)
        np.multiply(rows, rows, out=squares)
        squares = np.add.reduceat(squares, self._offsets, axis=2)              # |w after|², |grad|²
        np.subtract(rows[:, 0], np.concatenate([self._last[None], rows[:-1, 0]]), out=delta)
        table = self._table[base:base + n]
        table[:, 0] = squares[:, 1]
        np.add.reduceat(np.multiply(delta, delta, out=delta), self._offsets, axis=1, out=table[:, 1])
        table[0, 2], table[1:, 2] = self._last_squares, squares[:-1, 0]      # |w before| = |w after| one step back
        self._last, self._last_squares = rows[-1, 0].copy(), squares[-1, 0]
        if n < len(self._block):   # a step with only its weights or only its gradient so far
            self._block[0] = self._block[n]
        self._base = base + n

    def progress(self, iterable, **tqdm_options):
        """Iterate with a tqdm progress bar that shows the latest recorded loss."""
        tqdm = require("tqdm.auto", "progress", "TrainingRecorder.progress").tqdm

        tqdm_options.setdefault("mininterval", 0.25)
        with tqdm(iterable, **tqdm_options) as bar:
            for item in bar:
                yield item
                if self._losses:
                    bar.set_postfix_str(f"loss {self._losses[-1]:.4g}", refresh=False)

    def close(self) -> None:
        """Stop recording and give the optimizer its own step() back (the numbers stay readable)."""
        self._sync()
        if self._unwrap is not None:
            self._unwrap()
            self._unwrap = None
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # ---- reading -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._losses)

    def __repr__(self) -> str:
        return (f"TrainingRecorder({len(self)} steps, {len(self.layer_names)} layers, "
                f"{len(self._snapshots)} snapshots every {self.snapshot_every} steps)")

    @property
    def loss(self) -> np.ndarray:
        """The recorded losses, one per step."""
        return np.array(self._losses)

    @property
    def _norms(self) -> np.ndarray:
        """(steps, 3, parameters) squared norms; a step whose update is still to come has NaN ones."""
        if not self._closed:
            self._sync()
        self._reduce()
        table = self._table[:self._base]
        if self._base < len(self):   # recorded, optimizer.step() not yet run
            grad = self._block[0, 1]
            pending = np.full((1, 3, len(self._params)), np.nan)
            pending[0, 0] = np.add.reduceat(grad * grad, self._offsets)
            table = np.concatenate([table, pending])
        return table

    def _grouped(self, squared: np.ndarray, by: str) -> dict:
        """Columns of squared norms -> {name: norm per step}, per parameter or per layer."""
        if by == "parameter":
            return {n: np.sqrt(squared[:, i]) for i, n in enumerate(self.parameter_names)}
        if by != "layer":
            raise ValueError(f"by={by!r}: use 'layer' or 'parameter'")
        return {n: np.sqrt(squared[:, self._param_layer == n].sum(axis=1)) for n in self.layer_names}

    def grad_norms(self, by: str = "layer") -> dict:
        """{layer (or parameter) name: L2 norm of its gradient at each step}."""
        return self._grouped(self._norms[:, 0], by)

    def update_ratios(self, by: str = "layer") -> dict:
        """{name: |update| / |weights before it| at each step} (NaN where those weights are 0)."""
        updates = self._grouped(self._norms[:, 1], by)
        weights = self._grouped(self._norms[:, 2], by)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {n: np.where(weights[n] > 0, updates[n] / weights[n], np.nan) for n in updates}

    @property
    def snapshot_steps(self) -> list[int]:
        return sorted(self._snapshots)  # every `snapshot_every` steps: a float64 copy of the weights

    def _check_step(self, step) -> int:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be a whole number, got {type(step).__name__} {step!r}")
        step = int(step)
        if not self._snapshots:
            raise IndexError("no snapshot yet: call rec.step(loss) in the training loop first")
        steps = self.snapshot_steps
        where = (", ".join(map(str, steps)) if len(steps) <= 6 else
                 f"{steps[0]}, {steps[1]}, ..., {steps[-1]} (every {self.snapshot_every} steps)")
        if not 0 <= step < len(self):
            raise IndexError(f"step {step} is out of range: {len(self)} steps were recorded "
                             f"(0..{len(self) - 1}), with snapshots at {where}")
        if step not in self._snapshots:
            more = (f"Record with a smaller every= (now {self.every}) to keep more."
                    if self.snapshot_every == self.every else
                    f"They were thinned from every {self.every} steps to keep at most {self.max_snapshots}; "
                    "record with a larger max_snapshots= (or None) to keep more.")
            raise ValueError(f"step {step} has no weight snapshot; snapshots exist at {where}. {more}")
        return step

    def snapshot(self, step: int) -> dict:
        """{parameter name: copy of its weights} as they were when loss `step` was computed."""
        flat = self._snapshots[self._check_step(step)]
        return {name: flat[start:start + int(np.prod(shape, dtype=int))].reshape(shape).copy()
                for name, start, shape in zip(self.parameter_names, self._offsets, self._shapes)}

    def load_snapshot(self, step: int, model) -> None:
        """Write snapshot `step` into `model` (the recorded model, or a copy of it) in place."""
        flat = self._snapshots[self._check_step(step)]
        params = [p for _, p in model.named_parameters()]
        shapes = [p.shape for p in params]
        if shapes != self._shapes:
            raise ValueError(f"load_snapshot: the model's parameter shapes {shapes} differ from "
                             f"the recorded ones {self._shapes}; pass a copy of the recorded model")
        self._write_flat(params, flat)

    def _write_flat(self, params, flat: np.ndarray) -> None:
        """Write flat weights (a snapshot's layout) into `params` (the model's, in order) in place."""
        for p, start, shape in zip(params, self._offsets, self._shapes):
            chunk = flat[int(start):int(start) + int(np.prod(shape, dtype=int))]
            if type(p.data) is float:
                p.data = float(chunk[0])
            else:
                np.copyto(p.data, chunk.reshape(shape), casting="same_kind")

    def model_at(self, step: int):
        """A deep copy of the model holding the weights of snapshot `step`."""
        self._check_step(step)
        twin = copy_model(self.model)
        self.load_snapshot(step, twin)
        return twin

