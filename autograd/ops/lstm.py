"""The LSTM's ops: `lstm_cell` (the four gates and the memory update as one node) and `lstm_step`
(h·W_hhᵀ, then the cell: one node per step of nn.LSTM). Registered in the op table like every other
op (imported by sequence.py, their family)."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from ..arguments import ShapeError
from . import call, defop, reshape, shape, swap_last

# ---- the LSTM cell: four gates and the memory update as one node --------------------------
# The gates as separate nodes (a σ, four slices, a tanh, three products and a sum per step) made
# nn.LSTM's training step 3.4× PyTorch's, most of it per-node bookkeeping; as one node per step
# the step records 6 nodes instead of 13 (benchmarks/sequence.py). `lstm_step` (below) also takes
# in the recurrent product h·W_hhᵀ, as nn.LSTM projects every step's input in one product first.
# The RNN keeps its steps visible.


_GATE_SCALES = {}  # (H, dtype) -> (s, b): the gates are s·tanh(s·z) + b


def _gate_scales(H, dtype):
    key = (H, dtype)
    if key not in _GATE_SCALES:
        _GATE_SCALES[key] = (np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype), H),
                             np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype), H))
    return _GATE_SCALES[key]


def _lstm_cell(z, c=None, own=False):
    H = z.shape[-1] // 4
    # one tanh for all four gates: σ(x) = (1 + tanh(x/2)) / 2 (stable; 7× faster than a where-based σ),
    # i.e. gates = s·tanh(s·z) + b with s = ½ (1 for g) and b = ½ (0 for g), computed in place
    s, b = _gate_scales(H, z.dtype if z.dtype.kind == "f" else np.dtype(np.float64))
    t = np.multiply(z, s, out=z) if own else z * s  # own: z is this op's scratch (lstm_step's z)
    np.tanh(t, out=t)
    t *= s
    t += b
    i, f, g, o = t[..., :H], t[..., H:2 * H], t[..., 2 * H:3 * H], t[..., 3 * H:]
    out = np.empty((2,) + i.shape, np.result_type(z, np.float32) if c is None else np.result_type(z, c))
    h_new, c_new = out[0], out[1]  # written in place: no np.stack (~10 µs of Python per step)
    np.multiply(i, g, out=c_new)
    if c is not None:
        c_new += np.multiply(f, c, out=h_new)  # (h_new as scratch: no temporary)
    tc = np.tanh(c_new)
    np.multiply(o, tc, out=h_new)
    return out, (i, f, g, o, tc)


def _lstm_cell_grad(G, out, z, c=None, saved=None):
    H = shape(z)[-1] // 4
    if saved is None:  # recompute, recorded (create_graph=True)
        s = call("sigmoid", z)
        i, f, o = s[..., :H], s[..., H:2 * H], s[..., 3 * H:]
        g = call("tanh", z[..., 2 * H:3 * H])
        tc = call("tanh", i * g if c is None else f * c + i * g)
    elif type(G) is np.ndarray:
        return _lstm_cell_grad_arrays(G, c, H, *saved)
    else:
        i, f, g, o, tc = saved
    gh, gc = G[0], G[1]
    gc = gc + gh * o * (1 - tc * tc)  # the memory's gradient: from c_t directly and through h_t
    parts = (gc * g * i * (1 - i), (gc * c * f * (1 - f)) if c is not None else 0 * f,
             gc * i * (1 - g * g), gh * tc * o * (1 - o))
    axis = len(shape(z)) - 1
    if type(G) is np.ndarray:
        gz = np.concatenate(parts, axis=axis)
    else:
        gz = call("concat", *parts, axis=axis)
    return (gz,) if c is None else (gz, gc * f)


def _lstm_cell_grad_arrays(G, c, H, i, f, g, o, tc):
    """The rule above on arrays, written into one gz in place: fewer passes over small arrays and no
    concatenate (36 -> 31 µs a step at batch 32, hidden 128, float32, one thread)."""
    gh, gc = G[0], G[1]
    ghat = tc * tc
    np.subtract(1, ghat, out=ghat)
    ghat *= o
    ghat *= gh
    ghat += gc  # the memory's gradient: from c_t directly and through h_t
    gz = np.empty(i.shape[:-1] + (4 * H,), np.result_type(ghat, i))
    gi, gf, gg, go = gz[..., :H], gz[..., H:2 * H], gz[..., 2 * H:3 * H], gz[..., 3 * H:]
    np.multiply(ghat, g, out=gi)
    if c is not None:
        np.multiply(ghat, c, out=gf)
    else:
        gf[...] = 0
    np.multiply(ghat, i, out=gg)
    np.multiply(gh, tc, out=go)
    gates = i.base if i.base is not None and i.base.shape == gz.shape else np.concatenate((i, f, g, o), axis=-1)
    d = 1 - gates
    d *= gates  # σ' = σ(1 - σ) for i, f, o ...
    dg = d[..., 2 * H:3 * H]
    np.multiply(g, g, out=dg)
    np.subtract(1, dg, out=dg)  # ... and tanh' = 1 - g² for g
    gz *= d
    return (gz,) if c is None else (gz, ghat * f)


defop("lstm_cell", _lstm_cell, _lstm_cell_grad,
      "LSTM cell",
      ("[ĝ·c̃·i(1-i), ĝ·c·f(1-f), ĝ·i·(1-c̃²), g_h·tanh(c')·o(1-o)], ĝ = g_c + g_h·o·(1-tanh²c'), c̃ = tanh(z_g)", "ĝ·f"),
      elementwise=False, saves=True,
      doc="LSTM step from gate pre-activations z = (i, f, g, o): stack(h', c') with c' = σf·c + σi·tanh g, "
          "h' = σo·tanh c'")


def lstm_cell(z, c=None):
    """(h', c') from the gate pre-activations z (..., 4H) in PyTorch's order i, f, g, o and the
    cell state c (..., H) (None: zeros), as one node; returns the stacked (2, ..., H) Value."""
    from ..value import apply, const
    z = const(z)
    if z.ndim < 1 or z.shape[-1] % 4:
        raise ShapeError(f"lstm_cell: z of shape {z.shape} must end with 4·hidden gate pre-activations (i, f, g, o)")
    if c is None:
        return apply("lstm_cell", (z,))
    c = const(c)
    if c.shape != z.shape[:-1] + (z.shape[-1] // 4,):
        raise ShapeError(f"lstm_cell: cell state of shape {c.shape} does not fit gates of shape {z.shape}; it must be "
                         f"{z.shape[:-1] + (z.shape[-1] // 4,)}")
    return apply("lstm_cell", (z, c))


# ---- one LSTM step after the input projection: h·W_hhᵀ, the gates and the memory update ----------
# nn.LSTM computes x_t·W_ihᵀ + b_ih + b_hh for all steps in one `linear` node (as PyTorch does), so
# a step is a slice of it (whose gradient backprop adds in place: autograd.slices), this node and
# the two slices h_t, c_t: 4 nodes instead of 6, one small product instead of two. The demo's LSTM,
# one training step on the same loaded machine (benchmarks/sequence.py): 18.8 -> 14.2-15.6 ms CPU,
# 2.7x -> 2.05-2.3x PyTorch's. It stays one node per step, not one per layer (PyTorch's fused kernel),
# so that the player shows the recurrence step by step and h1, h2, c1, ... remain nodes
# (grad(loss, h3) works; the transformer demo measures the gradient through time that way).


_HELD = threading.local()  # .transposed: id(W_hh) -> (W_hh, its contiguous transpose), while `transposed` holds
# them, in this thread only: another thread's lstm_step (a jit replay, a call of its own) may run while
# W_hh changes, and must not see this forward's copy


@contextmanager
def transposed(*weights):
    """While this holds, lstm_step multiplies by one contiguous copy of each W_hhᵀ made here, instead of
    handing BLAS the transposed view h @ W_hh.T, a slower kernel: 62-99 µs vs 43 µs at batch 32, hidden
    128, float32. nn.LSTM.forward holds it over its steps, so the copy is made once per forward, not once
    per step, and nothing has to check that W_hh's numbers are unchanged (the weights do not change
    during a forward). The demo's LSTM step: 3.2-3.7% less CPU (benchmarks/sequence.py, alternating runs).
    (Also tried: a copy kept across steps and checked each time, +1.6%; scipy's gemm, -3%, but its
    second BLAS ignores threadpoolctl limits set before it loads: 118 ms wall instead of 15 on 2 busy
    cores. Neither kept.)"""
    held = _HELD.__dict__.setdefault("transposed", {})
    try:
        for w in weights:  # (inside the try: an exception midway leaves no copy behind)
            held[id(w)] = (w, np.ascontiguousarray(w.T))
        yield
    finally:
        for w in weights:
            held.pop(id(w), None)


def _lstm_step(p, h, c, w_hh):
    held = _HELD.__dict__.get("transposed")
    held = held.get(id(w_hh)) if held else None
    w_t = held[1] if held is not None and held[0] is w_hh else w_hh.T  # outside `transposed`: the view
    return _lstm_cell(p + h @ w_t, c, own=True)  # own: the fresh z becomes the gates in place


def _lstm_step_grad(G, out, p, h, c, w_hh, saved=None):
    z = p + call("matmul", h, swap_last(w_hh)) if saved is None else p  # recomputed only for create_graph
    gz, gc = _lstm_cell_grad(G, out, z, c, saved=saved)
    if len(shape(h)) == 1:  # one sequence, no batch: the weight's gradient is an outer product
        gw = reshape(gz, (-1, 1)) * reshape(h, (1, -1))
    else:
        gw = swap_last(gz) @ h
    return gz, gz @ w_hh, gc, gw


defop("lstm_step", _lstm_step, _lstm_step_grad,
      "LSTM step",
      ("ĝz", "ĝz·W_hh", "ĝ·f", "ĝzᵀ·h"),
      elementwise=False, saves=True,
      doc="LSTM step from the projected input p = x·W_ihᵀ + b: lstm_cell(p + h·W_hhᵀ, c), the stacked (h', c')")


def lstm_step(p, h, c, w_hh):
    """(h', c') stacked, shape (2, ..., H), from the projected input p (..., 4H) (x·W_ihᵀ + b_ih + b_hh,
    gates i, f, g, o), the previous h and c (..., H) and W_hh (4H, H): lstm_cell(p + h·W_hhᵀ, c), one node."""
    from ..value import apply, const
    p, h, c, w_hh = const(p), const(h), const(c), const(w_hh)
    H = h.shape[-1] if h.ndim else 0
    if (p.ndim not in (1, 2) or w_hh.shape != (4 * H, H) or p.shape != h.shape[:-1] + (4 * H,)
            or c.shape != h.shape):
        raise ShapeError(f"lstm_step: shapes p {p.shape}, h {h.shape}, c {c.shape}, w_hh {w_hh.shape} do not fit; "
                         f"they must be (batch, 4H) or (4H,), h and c (batch, H) or (H,), w_hh (4H, H)")
    return apply("lstm_step", (p, h, c, w_hh))
