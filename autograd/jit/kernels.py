"""A replay's memory plan (autograd.jit.plan): the hottest ops' forward and rule as numpy calls
with out=, writing into one buffer per slot that every replay reuses. Each kernel gives the
same bits as the op's table entry (the same ufuncs and BLAS calls in the same order); only
where the result lands changes.

A buffer is only handed to a slot nobody outside the replay can hold: not the result, not a
gradient that becomes a .grad, and only read by ops listed in SAFE (whose forward and rule
never return their inputs, their output or their upstream gradient, or views of them).
"""
from __future__ import annotations

import math

import numpy as np

from ..ops.network import _cross_entropy
from ..value import _normalize

# ops whose forward and rule make new arrays from what they read (no pass-through, no views)
SAFE = {"linear", "tanh", "relu", "sigmoid", "cross_entropy"}


class Placer:
    """Makes the plan's buffers, each starting at its own place within a 4 KiB page, away from the
    arrays it will meet. An elementwise op whose input and output start at the same offset modulo
    4 KiB runs at about half speed on x86 ("4K aliasing": a load looks like it depends on an earlier
    store): np.multiply on two (32, 128) arrays took 2.2 us into such a buffer, 1.2 us into another.
    malloc gives arrays of one size nearly the same offset, so a hand-written step meets it often."""

    PAGE, LINE = 4096, 64

    def __init__(self, arrays=()):
        self.taken = [a.ctypes.data % self.PAGE for a in arrays if type(a) is np.ndarray]

    def empty(self, shape, dtype, avoid=()):
        """np.empty(shape, dtype) starting as far as can be from the offsets taken and `avoid`'s."""
        dtype = np.dtype(dtype)
        taken = self.taken + [a.ctypes.data % self.PAGE for a in avoid]
        gap = lambda c: min([min((c - t) % self.PAGE, (t - c) % self.PAGE) for t in taken] or [self.PAGE])  # noqa
        offset = max(range(0, self.PAGE, self.LINE), key=gap)
        size = int(np.prod(shape)) * dtype.itemsize
        raw = np.empty(size + self.PAGE, np.uint8)
        start = (offset - raw.ctypes.data) % self.PAGE
        self.taken.append(offset)
        return raw[start:start + size].view(dtype).reshape(shape)

    def like(self, template):
        """A buffer of a slot's shape and dtype (template: the plan's zero-stride stand-in)."""
        return self.empty(template.shape, template.dtype)


def forward_kernel(op: str, out, ins):
    """fn(*inputs) computing `op` into the buffer `out`, or None for an op without one (or for
    inputs, ins: their templates, that the table's forward treats otherwise)."""
    if any(type(t) is not np.ndarray for t in ins):
        return None
    if op == "linear" and ins[0].ndim == 2 and (len(ins) == 2 or ins[2].dtype == out.dtype):
        def linear(x, w, b=None):
            np.matmul(x, w.T, out=out)  # x @ wᵀ into the slot's buffer: no array per layer per step
            # (digits, pinned: 1.24× → 1.15–1.23× numpy's time with the other kernels; see ARCHITECTURE)
            if b is not None:
                np.add(out, b, out=out)
            return out
        return linear
    if op == "tanh":
        return lambda a: np.tanh(a, out=out)
    if op == "relu":
        return lambda a: np.maximum(a, 0, out=out)
    return None


def rule_kernel(op: str, buffers, needs, place):
    """fn(g, out, *inputs) giving the rule's contributions, those at position j into
    buffers[j] when it is an array (else a fresh array, as the table's rule), or None."""
    if op == "linear":
        def linear_grad(g, out, x, w, b=None):
            if g.ndim != 2:
                return None
            gx = np.matmul(g, w, out=buffers[0]) if needs[0] else None  # g @ w, as _linear_grad
            gw = np.matmul(g.T, x, out=buffers[1]) if needs[1] else None
            if b is None:
                return gx, gw
            return gx, gw, np.add.reduce(g, axis=0, out=buffers[2]) if needs[2] else None
        return linear_grad
    if op == "tanh" and buffers[0] is not None:
        t = buffers[0]

        def tanh_grad(g, out, a):  # g·(1 - out²) in one buffer: three arrays less per layer
            np.square(out, out=t)  # (the bits of out·out; ~1 us less than np.multiply at (32, 128))
            np.subtract(1.0, t, out=t)
            return (np.multiply(g, t, out=t),)
        return tanh_grad
    if op == "relu" and buffers[0] is not None:
        t, mask = buffers[0], place.empty(buffers[0].shape, bool)

        def relu_grad(g, out, a):  # g·(a > 0) into buffers: the mask and the product
            np.greater(a, 0, out=mask)
            return (np.multiply(g, mask, out=t),)
        return relu_grad
    return None


def cross_entropy_kernels(a, grad_buffer, place):
    """(forward, rule) for cross_entropy on logits like `a` (rows, classes), "mean" or "sum":
    _cross_entropy and its rule with out= into buffers, the softmax kept in one the rule reads
    (so its copy goes into `grad_buffer`, or a new array when the gradient may be kept)."""
    n, dtype = a.shape[0], a.dtype
    top, sums, per_row = place.empty((n, 1), dtype), place.empty((n, 1), dtype), place.empty(n, dtype)
    softmax, lse = place.empty(a.shape, dtype), place.empty((n, 1), dtype)

    rows_lse, number = lse[:, 0], float if dtype == np.float64 else _normalize  # (as Plan.forward keeps it)

    def cross_entropy(a, key, reduction="mean"):
        # as _cross_entropy, with no array made but a[key]; its check that the row maxima are finite
        # moved to the end (a loss that is not finite is computed again by the table): 2 calls less
        m = np.maximum.reduce(a, axis=-1, keepdims=True, out=top)
        e = np.exp(np.subtract(a, m, out=softmax), out=softmax)
        total = np.add.reduce(e, axis=-1, keepdims=True, out=sums)
        np.add(np.log(total, out=lse), m, out=lse)
        np.subtract(rows_lse, a[key], out=per_row)  # logsumexp(a) - a[target], row by row
        loss = np.add.reduce(per_row, axis=None) / (n if reduction == "mean" else 1)
        if not math.isfinite(loss):  # (an infinite or NaN row maximum always ends here)
            loss, e = _cross_entropy(a, key, reduction)
            softmax[...] = e
            return number(loss)
        np.divide(e, total, out=e)
        return number(loss)

    def cross_entropy_grad(g, out, a, key, reduction="mean"):
        if reduction == "mean":
            g = g / n
        if grad_buffer is None:
            p = softmax.copy()
        else:
            p = grad_buffer
            p[...] = softmax  # (np.copyto's Python wrapper costs ~0.5 us more)
        p[key] -= 1
        return (np.multiply(p, g, out=p),)
    return cross_entropy, cross_entropy_grad


def plan_memory(plan) -> None:
    """Give the plan's steps their kernels (step.kernel, step.rule) and buffers, after its first
    backward sorted each step's gradient targets into direct and general."""
    n_in, steps = plan.n_in, plan.steps
    place = Placer([node.data for node in plan.leaves])
    readers = {}  # slot -> the ops that read it
    for step in steps:
        for i in step.ins:
            readers.setdefault(i, set()).add(step.op.name)
    kept = {plan.result[1]} if plan.result[0] in ("slot", "detached") else set()
    for k, step in enumerate(steps):
        slot = n_in + k
        template, ins = plan.templates[slot].data, [plan.templates[i].data for i in step.ins]
        # a gradient buffer for input j: a direct target inside the graph whose own rule is a kernel
        direct = dict(step.direct)
        buffers = []
        for j, i in enumerate(step.ins):
            consumer = steps[i - n_in] if i >= n_in else None
            own = (j in direct and consumer is not None and consumer.op.name in SAFE
                   and type(plan.templates[i].data) is np.ndarray and plan.templates[i].data.ndim)
            buffers.append(place.like(plan.templates[i].data) if own else None)
        if step.op.name == "cross_entropy":  # (its loss is a new number each call: it may be the result)
            if (len(ins) == 1 and type(ins[0]) is np.ndarray and ins[0].ndim == 2 and ins[0].dtype.kind == "f"
                    and step.attrs.get("reduction") in ("mean", "sum")):
                step.kernel, step.rule = cross_entropy_kernels(ins[0], buffers[0], place)
            continue
        if type(template) is not np.ndarray or not template.ndim or step.attrs or step.bound:
            continue
        if slot not in kept and readers.get(slot, set()) <= SAFE:
            step.kernel = forward_kernel(step.op.name, place.like(template), ins)
        needs = step.keywords.get("needs", (True,) * len(step.ins))
        step.rule = rule_kernel(step.op.name, buffers, needs, place)
