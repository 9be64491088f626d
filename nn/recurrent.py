"""Recurrent networks: a neuron layer with an internal memory h.

    h_t = tanh(x_t @ weight_ih.T + bias_ih + h_{t-1} @ weight_hh.T + bias_hh)

`RNN` unrolls the cell over a sequence, so the recorded graph is an ordinary
(long) DAG and `backward()` is backpropagation through time. Parameter names and
shapes match torch.nn.RNNCell / torch.nn.RNN (one layer, tanh).
"""
from __future__ import annotations

import numpy as np

from autograd.arguments import ShapeError
from autograd.functional import stack
from autograd.value import Value

from .init import init_weight, rng_from
from .layers import as_batch
from .module import Module


def _params(owner, nin, nhidden, bias, seed, suffix):
    rng = rng_from(seed)
    setattr(owner, "weight_ih" + suffix, Value(init_weight((nhidden, nin), nin, nhidden, "tanh", rng)))
    setattr(owner, "weight_hh" + suffix, Value(init_weight((nhidden, nhidden), nhidden, nhidden, "tanh", rng)))
    for name in ("bias_ih", "bias_hh"):
        setattr(owner, name + suffix, Value(np.zeros(nhidden)) if bias else None)
    for name, p in owner.named_parameters():
        p.label = name


def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, who: str) -> Value:
    """One tanh RNN step; h=None means a zero initial state (its terms are skipped)."""
    x = as_batch(x)
    nin, nhidden = w_ih.shape[1], w_ih.shape[0]
    if x.ndim not in (1, 2) or x.shape[-1] != nin:
        raise ShapeError(f"{who}: expects inputs of shape (batch, {nin}) or ({nin},) "
                         f"(weight_ih shape {w_ih.shape}), got shape {x.shape}")
    z = x @ w_ih.mT
    if b_ih is not None:
        z = z + b_ih
    if h is not None:
        h = as_batch(h)
        if h.shape != z.shape:
            raise ShapeError(f"{who}: hidden state must have shape {z.shape} for inputs of shape {x.shape} "
                             f"({nhidden} hidden units), got {h.shape}")
        z = z + h @ w_hh.mT
    if b_hh is not None:
        z = z + b_hh
    return z.tanh()


class RNNCell(Module):
    """One step of a tanh RNN: `h = cell(x, h)`, like torch.nn.RNNCell."""

    def __init__(self, nin: int, nhidden: int, bias: bool = True, seed=None):
        super().__init__()
        self.nin, self.nhidden = int(nin), int(nhidden)
        _params(self, self.nin, self.nhidden, bias, seed, "")

    def forward(self, x, h=None):
        return rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                        f"RNNCell({self.nin}, {self.nhidden})")

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nhidden}"


class RNN(Module):
    """A tanh RNN unrolled over a sequence, like torch.nn.RNN with one layer.

    `forward(xs, h0=None)` takes xs of shape (seq, batch, nin) — (batch, seq, nin)
    with batch_first=True — or (seq, nin) for one sequence, or a list of per-step
    inputs; it returns (outputs, h): every step's hidden state stacked on the
    sequence axis, and the last hidden state (batch, nhidden).

    >>> rnn = RNN(1, 4, seed=0); out, h = rnn(np.zeros((5, 1))); out.shape, h.shape
    ((5, 4), (4,))
    """

    def __init__(self, nin: int, nhidden: int, bias: bool = True, batch_first: bool = False, seed=None):
        super().__init__()
        self.nin, self.nhidden, self.batch_first = int(nin), int(nhidden), bool(batch_first)
        _params(self, self.nin, self.nhidden, bias, seed, "_l0")

    def forward(self, xs, h0=None):
        steps = self._steps(xs)
        who = f"RNN({self.nin}, {self.nhidden})"
        h, hs = h0, []
        for t, x in enumerate(steps):
            h = rnn_step(x, h, self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0,
                         f"{who} at step {t}")
            h.label = f"h{t + 1}"
            hs.append(h)
        outputs = stack(hs, axis=1 if self.batch_first and hs[0].ndim == 2 else 0)
        return outputs, h

    def _steps(self, xs):
        if isinstance(xs, (list, tuple)):
            if not xs:
                raise ShapeError("RNN: got an empty sequence")
            return list(xs)
        xs = xs if isinstance(xs, Value) else np.asarray(xs, dtype=np.result_type(xs, np.float32))
        if xs.ndim not in (2, 3) or xs.shape[-1] != self.nin:
            layout = "(batch, seq, nin)" if self.batch_first else "(seq, batch, nin)"
            raise ShapeError(f"RNN({self.nin}, {self.nhidden}): expects a sequence of shape {layout} "
                             f"or (seq, nin) with nin={self.nin}, got shape {xs.shape}")
        seq_axis = 1 if self.batch_first and xs.ndim == 3 else 0
        if xs.shape[seq_axis] == 0:
            raise ShapeError(f"RNN: got an empty sequence (shape {xs.shape})")
        if seq_axis == 1:
            return [xs[:, t] for t in range(xs.shape[1])]
        return [xs[t] for t in range(xs.shape[0])]

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nhidden}" + (", batch_first=True" if self.batch_first else "")
