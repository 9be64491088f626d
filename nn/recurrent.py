"""Recurrent networks: a layer with an internal memory h, unrolled over a sequence.

    RNN   h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)
    LSTM  i, f, g, o = σ, σ, tanh, σ of (x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), in that order
          c_t = f·c_{t-1} + i·g,   h_t = o·tanh(c_t)
    GRU   r, z = σ(x_t W_irᵀ + b_ir + h W_hrᵀ + b_hr), σ(...);  n = tanh(x_t W_inᵀ + b_in + r·(h W_hnᵀ + b_hn))
          h_t = (1 - z)·n + z·h_{t-1}

The LSTM and the GRU first project every step's input in one `linear` node per layer (as PyTorch
does); then every step is recorded as ordinary nodes (linear, the gate slices, σ, tanh, ·, +; the
LSTM's gates and memory update as one "LSTM step" node, autograd.ops.sequence), so the graph is
an ordinary (long) DAG, `backward()` is backpropagation through time, and the hidden states are
labelled h1, h2, ... (c1, c2, ... for the LSTM's cell; "l0.h3" for the lower layers of a stack) so
that a drawing or `grad(loss, hs)` can find them. Names, shapes, gate order, initialisation
(uniform ±1/√hidden_size) and return values are PyTorch's: (output, h_n) with h_n of shape
(num_layers, batch, hidden_size), and (output, (h_n, c_n)) for the LSTM.
"""
from __future__ import annotations

import math

import numpy as np

from autograd.arguments import ShapeError
from autograd.functional import linear, stack
from autograd.ops.lstm import transposed
from autograd.ops.sequence import lstm_cell, lstm_step
from autograd.value import Value, const

from .init import rng_from
from .layers import as_batch
from .module import Module


def _uniform(rng, shape, hidden):
    k = 1.0 / math.sqrt(hidden)
    return rng.uniform(-k, k, size=shape)


def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, who: str, nonlinearity: str = "tanh") -> Value:
    """One RNN step; h=None means a zero initial state (its product is skipped, b_hh kept)."""
    x = as_batch(x)
    nin, nhidden = w_ih.shape[1], w_ih.shape[0]
    if x.ndim not in (1, 2) or x.shape[-1] != nin:
        raise ShapeError(f"{who}: expects inputs of shape (batch, {nin}) or ({nin},) "
                         f"(weight_ih shape {w_ih.shape}), got shape {x.shape}")
    z = linear(x, w_ih, b_ih)
    if h is not None:
        h = as_batch(h)
        if h.shape != z.shape:
            raise ShapeError(f"{who}: hidden state must have shape {z.shape} for inputs of shape {x.shape} "
                             f"({nhidden} hidden units), got {h.shape}")
        z = z + linear(h, w_hh, b_hh)
    elif b_hh is not None:
        z = z + b_hh
    return z.tanh() if nonlinearity == "tanh" else z.relu()


class _AtStep:
    """"LSTM(32, 128) at step 3" for an error message, built only if one is raised (an f-string per
    step cost ~1.5 µs, 32 a layer per forward)."""
    __slots__ = ("module", "t")

    def __init__(self, module, t):
        self.module, self.t = module, t

    def __str__(self):
        return f"{self.module._who()} at step {self.t}"


class RNNCell(Module):
    """One step of a tanh RNN: `h = cell(x, h)`, like torch.nn.RNNCell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", seed=None):
        super().__init__()
        self.nin = self.input_size = int(input_size)
        self.nhidden = self.hidden_size = int(hidden_size)
        self.nonlinearity = _check_nonlinearity(nonlinearity)
        rng = rng_from(seed)
        self.weight_ih = Value(_uniform(rng, (self.nhidden, self.nin), self.nhidden), label="weight_ih")
        self.weight_hh = Value(_uniform(rng, (self.nhidden, self.nhidden), self.nhidden), label="weight_hh")
        self.bias_ih = Value(_uniform(rng, (self.nhidden,), self.nhidden), label="bias_ih") if bias else None
        self.bias_hh = Value(_uniform(rng, (self.nhidden,), self.nhidden), label="bias_hh") if bias else None

    def forward(self, x, h=None):
        return rnn_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                        f"RNNCell({self.nin}, {self.nhidden})", self.nonlinearity)

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nhidden}"


def _check_nonlinearity(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


class _Recurrent(Module):
    """The part RNN, LSTM and GRU share: parameters per layer, input and state checks, the
    loop over layers and time. Subclasses give GATES (rows of W per hidden unit) and `_cell`."""

    GATES = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, seed=None):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        if self.input_size < 1 or self.hidden_size < 1 or self.num_layers < 1:
            raise ValueError(f"{type(self).__name__}: input_size, hidden_size and num_layers must be positive, got "
                             f"{input_size}, {hidden_size}, {num_layers}")
        if dropout or bidirectional:
            raise NotImplementedError(f"{type(self).__name__}: dropout between layers and bidirectional are not "
                                      "supported; pass dropout=0.0 and bidirectional=False")
        self.dropout, self.bidirectional = 0.0, False
        rng, H, G = rng_from(seed), self.hidden_size, self.GATES
        for k in range(self.num_layers):
            nin = self.input_size if k == 0 else H
            setattr(self, f"weight_ih_l{k}", Value(_uniform(rng, (G * H, nin), H), label=f"weight_ih_l{k}"))
            setattr(self, f"weight_hh_l{k}", Value(_uniform(rng, (G * H, H), H), label=f"weight_hh_l{k}"))
            for name in ("bias_ih", "bias_hh"):
                setattr(self, f"{name}_l{k}", Value(_uniform(rng, (G * H,), H), label=f"{name}_l{k}") if bias else None)

    def forward(self, input, hx=None):
        """(output, h_n) for RNN and GRU, whose state is h alone (LSTM's forward adds c)."""
        steps, batched = self._steps(input)
        states = [(h,) for h in self._state(hx, steps[0], batched)]
        output, finals = self._run(steps, batched, states, self._whole(input))
        return output, stack([s[0] for s in finals], axis=0)

    # older names of the one-layer RNN
    nin = property(lambda self: self.input_size)
    nhidden = property(lambda self: self.hidden_size)

    def _who(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}" + \
            (f", num_layers={self.num_layers})" if self.num_layers != 1 else ")")

    def layer(self, k):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of layer k."""
        return tuple(getattr(self, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    # ---- input and state ------------------------------------------------------------------
    def _steps(self, xs):
        """(list of per-step inputs, batched?) from (seq, batch, in) / (batch, seq, in) / (seq, in) / a list."""
        who, layout = self._who(), "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
        if isinstance(xs, (list, tuple)):
            if not xs:
                raise ShapeError(f"{who}: got an empty sequence")
            steps = [as_batch(x) for x in xs]
            for t, x in enumerate(steps):
                if x.ndim not in (1, 2) or x.shape[-1] != self.input_size or x.shape != steps[0].shape:
                    raise ShapeError(f"{who}: step {t} of the list has shape {x.shape}; every step must be "
                                     f"(batch, {self.input_size}) or ({self.input_size},), all the same")
            return steps, steps[0].ndim == 2
        xs = xs if isinstance(xs, Value) else np.asarray(xs, dtype=np.result_type(xs, np.float32))
        if xs.ndim not in (2, 3) or xs.shape[-1] != self.input_size:
            fix = (" (for (seq, batch, features) pass batch_first=False)" if self.batch_first else
                   " (for (batch, seq, features) pass batch_first=True)")
            raise ShapeError(f"{who}: expects a sequence of shape {layout} or (seq, input_size) unbatched, with "
                             f"input_size={self.input_size}; got shape {xs.shape}{fix if xs.ndim == 3 else ''}")
        seq_axis = 1 if self.batch_first and xs.ndim == 3 else 0
        if xs.shape[seq_axis] == 0:
            raise ShapeError(f"{who}: got an empty sequence (shape {xs.shape})")
        if isinstance(xs, Value) and not xs.requires_grad:
            xs = xs.data
        if isinstance(xs, np.ndarray):  # constants: plain views, no getitem nodes
            steps = [const(np.ascontiguousarray(xs[:, t])) if seq_axis else const(xs[t])
                     for t in range(xs.shape[seq_axis])]
        else:
            steps = [xs[:, t] if seq_axis else xs[t] for t in range(xs.shape[seq_axis])]
        return steps, xs.ndim == 3

    def _state(self, h0, x0, batched, name="h0"):
        """Per-layer initial states from (num_layers, batch, hidden) (or (num_layers, hidden)); None: None."""
        if h0 is None:
            return [None] * self.num_layers
        h0 = as_batch(h0)
        lead = (x0.shape[0],) if batched else ()
        want = (self.num_layers,) + lead + (self.hidden_size,)
        if h0.shape == want[1:] and self.num_layers == 1 and type(self) is RNN:
            return [h0]  # the one-layer RNN's older form: h0 of shape (batch, hidden)
        if h0.shape != want:
            raise ShapeError(f"{self._who()}: {name} must have shape {want} = (num_layers, "
                             f"{'batch, ' if batched else ''}hidden_size) for inputs of shape {x0.shape} per "
                             f"step, got {h0.shape}")
        return [h0[k] if h0.requires_grad else const(h0.data[k]) for k in range(self.num_layers)]

    # ---- the loop ---------------------------------------------------------------------------
    def _run(self, steps, batched, states, whole=None):
        """Run every layer over every step; states: per layer, the cell's state tuple (or Nones);
        whole: (the input sequence as one Value, its step axis), for LSTM._inputs."""
        finals = []
        for k in range(self.num_layers):
            params, state, outs = self.layer(k), states[k], []
            prefix = "" if k == self.num_layers - 1 else f"l{k}."
            for t, x in enumerate(self._inputs(steps, params, prefix, whole if k == 0 else None)):
                state = self._cell(x, state, params, _AtStep(self, t))
                for s, letter in zip(state, "hc"):
                    s.label = f"{prefix}{letter}{t + 1}"
                outs.append(state[0])
            finals.append(state)
            steps = outs
        axis = 1 if self.batch_first and batched else 0
        return stack(steps, axis=axis), finals

    def _inputs(self, steps, params, prefix, whole=None):
        """What each step's cell receives: the inputs themselves (see LSTM._inputs)."""
        return steps

    def _projected(self, steps, params, prefix, whole=None, both_biases=False):
        """Every step's x·W_ihᵀ + b_ih (+ b_hh: both_biases) from one product over the whole sequence, as
        PyTorch's LSTM and GRU: `whole` (a Value of shape (seq, ..., in) or (batch, seq, in), its step
        axis) as it came, else the steps stacked. One node per layer instead of one per step."""
        w_ih, _, b_ih, b_hh = params
        if whole is not None:
            xs, axis = whole
        elif any(x.requires_grad for x in steps):
            xs = stack(steps, axis=0)
        else:  # constants: one array, no node
            xs = const(np.stack([x.data for x in steps]))
        if b_ih is not None and both_biases:  # both biases are the same every step: one bias b_ih + b_hh, added once, here
            # (one add of two vectors, not of the (seq, batch, 4H) projection: its gradient is 2 MB a layer)
            bias = b_ih + b_hh
            bias.label = f"{prefix}b_ih + b_hh"
        else:
            bias = b_ih
        projected = linear(xs, w_ih, bias)
        projected.label = f"{prefix}x·W_ihᵀ + b" if both_biases else f"{prefix}x·W_ihᵀ + b_ih"
        if whole is not None and axis == 1:
            return [projected[:, t] for t in range(len(steps))]
        return [projected[t] for t in range(len(steps))]

    def _whole(self, input):
        """A sequence that requires grad, with its step axis: projected as it is (see _projected)."""
        if isinstance(input, Value) and input.requires_grad:
            return input, 1 if self.batch_first and input.ndim == 3 else 0
        return None

    def _check_h(self, h, z, who):
        """h must be z's shape with hidden_size features (z: the gates, (..., GATES·hidden))."""
        want = z.shape[:-1] + (self.hidden_size,)
        if h is not None and h.shape != want:
            raise ShapeError(f"{who}: hidden state must have shape {want} for inputs of shape "
                             f"{z.shape[:-1] + (self.input_size,)} ({self.hidden_size} hidden units), got {h.shape}")

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        return text + (", batch_first=True" if self.batch_first else "")


class RNN(_Recurrent):
    """A tanh (or ReLU) RNN unrolled over a sequence, like torch.nn.RNN.

    `forward(input, hx=None)` takes input of shape (seq, batch, input_size) — (batch, seq,
    input_size) with batch_first=True — or (seq, input_size) for one sequence, or a list of
    per-step inputs; returns (output, h_n): the last layer's hidden state at every step, and every
    layer's last state, shape (num_layers, batch, hidden_size).

    >>> rnn = RNN(1, 4, seed=0); out, h = rnn(np.zeros((5, 1))); out.shape, h.shape
    ((5, 4), (1, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, seed=None):
        self.__dict__["nonlinearity"] = _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, seed)

    def _cell(self, x, state, params, who):
        return (rnn_step(x, state[0], *params, who, self.nonlinearity),)


class LSTM(_Recurrent):
    """Long short-term memory, like torch.nn.LSTM: gates i, f, g, o (in that order in weight_ih_l0's
    rows), c_t = f·c + i·g, h_t = o·tanh(c_t). forward(input, (h0, c0)=None) -> (output, (h_n, c_n)).

    As PyTorch, each layer first projects every step's input in ONE product, x·W_ihᵀ + b_ih + b_hh
    (one `linear` node over the whole sequence, labelled "x·W_ihᵀ + b"); then each step records
    its slice of that and ONE "LSTM step" node (autograd.ops.sequence.lstm_step: h·W_hhᵀ, the four
    gates and the memory update; "LSTM cell" at a zero initial state), whose stacked (h, c) is sliced
    into h_t and c_t. One node per step rather than one per layer: the player still walks the
    recurrence step by step, and every h_t and c_t is a node that grad() can ask about."""

    GATES = 4

    def _inputs(self, steps, params, prefix, whole=None):
        return self._projected(steps, params, prefix, whole, both_biases=True)

    def _cell(self, p, state, params, who):
        h, c = state
        self._check_h(h, p, who)
        if h is None:  # a zero initial state: no h·W_hhᵀ, no f·c
            hc = lstm_cell(p)
        else:
            hc = lstm_step(p, h, c, params[1])  # h·W_hhᵀ, the gates and the memory update as one node
        return hc[0], hc[1]

    def forward(self, input, hx=None):
        steps, batched = self._steps(input)
        if hx is None:
            states = [(None, None)] * self.num_layers
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._who()}: the initial state is a pair (h0, c0), each of shape (num_layers, "
                                f"batch, hidden_size); got {type(hx).__name__}")
            states = list(zip(self._state(hx[0], steps[0], batched, "h0"),
                              self._state(hx[1], steps[0], batched, "c0")))
        with transposed(*(self.layer(k)[1].data for k in range(self.num_layers))):  # W_hhᵀ once per forward
            output, finals = self._run(steps, batched, states, self._whole(input))
        return output, (stack([s[0] for s in finals], axis=0), stack([s[1] for s in finals], axis=0))


class GRU(_Recurrent):
    """Gated recurrent unit, like torch.nn.GRU: gates r, z, n (in that order), with the n gate's
    r·(h W_hnᵀ + b_hn); h_t = (1 - z)·n + z·h. forward(input, h0=None) -> (output, h_n)."""

    GATES = 3

    def _cell(self, x, state, params, who):
        _, w_hh, _, b_hh = params
        h, H, gi = state[0], self.hidden_size, x  # x: this step's x·W_ihᵀ + b_ih (_inputs)
        self._check_h(h, gi, who)
        gh = linear(h, w_hh, b_hh) if h is not None else b_hh  # a zero state: only the bias is left
        if gh is None:
            r_in, z_in, n_h = gi[..., :H], gi[..., H:2 * H], None
        else:
            r_in, z_in, n_h = gi[..., :H] + gh[..., :H], gi[..., H:2 * H] + gh[..., H:2 * H], gh[..., 2 * H:]
        r, z = r_in.sigmoid(), z_in.sigmoid()
        n = (gi[..., 2 * H:] if n_h is None else gi[..., 2 * H:] + r * n_h).tanh()
        return (n - z * n if h is None else n + z * (h - n)),

    def _inputs(self, steps, params, prefix, whole=None):
        return self._projected(steps, params, prefix, whole)  # b_hh stays per step: r·(h·W_hnᵀ + b_hn)
