"""Module-level functions: those over several Values (concat, stack, where, neuron, linear),
and one per op-table binding that names a function (softmax, logsumexp, ...: generated below
from `autograd.ops.BINDINGS`, so each op is still written once)."""
from __future__ import annotations

import numpy as np

from .arguments import UNSET, synonym
from .ops import BINDINGS, Binding
from .value import ShapeError, Value, _record, apply, bound, const


def _many(name, xs):
    xs = [const(x) for x in xs]
    if not xs:
        raise ValueError(f"{name}: needs at least one input")
    return xs


def concat(xs, axis: int = 0, *, dim=UNSET) -> Value:
    """Join tensors along an existing axis (numpy.concatenate; dim= is PyTorch's name for axis)."""
    axis = synonym("concat", "axis", axis, "dim", dim, 0)
    xs = _many("concat", xs)
    ndim = xs[0].ndim
    if ndim == 0 or any(x.ndim != ndim for x in xs) or not -ndim <= axis < ndim:
        raise ShapeError(f"concat: axis {axis} does not fit shapes {', '.join(str(x.shape) for x in xs)}")
    return apply("concat", xs, {"axis": axis % ndim})


def stack(xs, axis: int = 0, *, dim=UNSET) -> Value:
    """Stack same-shaped Values along a new axis (numpy.stack; dim= is PyTorch's name for axis)."""
    axis = synonym("stack", "axis", axis, "dim", dim, 0)
    xs = _many("stack", xs)
    ndim = xs[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ShapeError(f"stack: axis {axis} is out of range for {ndim - 1}-d inputs")
    return apply("stack", xs, {"axis": axis % ndim})


def where(cond, a, b) -> Value:
    """a where cond is true, b elsewhere; gradients flow to the chosen side only."""
    cond = np.asarray(cond.data if isinstance(cond, Value) else cond)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: cond must be boolean, got dtype {cond.dtype}")
    try:
        np.broadcast_shapes(cond.shape, np.shape(a.data if isinstance(a, Value) else a),
                            np.shape(b.data if isinstance(b, Value) else b))
    except ValueError:
        raise ShapeError(f"where: cond of shape {cond.shape}, a of shape {np.shape(getattr(a, 'data', a))} and "
                         f"b of shape {np.shape(getattr(b, 'data', b))} do not broadcast together; shapes must "
                         "be equal or 1, compared from the right") from None
    return apply("where", (a, b), {"cond": cond})


def neuron(w, b, xs, row: int | None = None) -> Value:
    """One neuron's weighted sum Σ w[i]·x[i] + b as a single graph node.

    `w` is the weight vector (or a weight matrix with `row` picking the neuron), `b`
    the bias (or bias vector), `xs` the scalar inputs. Drawn as one node, not 2n.
    """
    w, b = const(w), const(b)
    xs = [x if type(x) is Value else const(x) for x in xs]
    wshape = w.shape if row is None else w.shape[1:]
    # (the float test first: example mode calls this once per neuron, ~1/4 of its forward)
    if len(wshape) != 1 or wshape[0] != len(xs) or (not all([type(x.data) is float for x in xs])
                                                     and any(x.ndim for x in xs)):
        raise ShapeError(f"neuron: weights of shape {w.shape} (row {row}) do not fit {len(xs)} scalar inputs")
    return apply("neuron", (w, b, *xs), {"row": row} if row is not None else None)


def neurons(w, b, xs) -> list:
    """[neuron(w, b, xs, row=j) for every row j of the weight matrix w]: the same nodes, built
    with what a layer's neurons share (the inputs' numbers as one array, one parents tuple)
    made once per layer instead of once per neuron (moons in example mode: ~10% of a step)."""
    w, b = const(w), const(b)
    xs = [x if type(x) is Value else const(x) for x in xs]
    xd = [x.data for x in xs]
    W, B = w.data, b.data
    if (type(W) is not np.ndarray or W.ndim != 2 or W.shape[1] != len(xs) or W.dtype != np.float64
            or type(B) is not np.ndarray or B.shape != W.shape[:1] or B.dtype != np.float64
            or not all([type(d) is float for d in xd])):
        return [neuron(w, b, xs, row=j) for j in range(len(W))]  # the general path (and its errors)
    xv = np.array(xd)  # what np.dot(w[j], xs) makes of the numbers, per neuron: the same float64s
    pn = (w, b, *xs)
    requires_grad = w.requires_grad or b.requires_grad or True in [x.requires_grad for x in xs]
    # each node as apply("neuron", ...) records it, its forward the table's (_neuron): dot + bias
    return [_record("neuron", float(np.dot(W[j], xv) + B[j]), None, None, pn, {"row": j}, requires_grad)
            for j in range(len(W))]


def linear(x, weight, bias=None) -> Value:
    """x @ weight.T + bias as ONE graph node, like torch.nn.functional.linear.

    x is (..., in) — a batch of rows or one example —, weight (out, in), bias (out,) or None.
    The backward skips the gradient of x when x does not require one (an input batch).

    >>> y = linear(np.ones((4, 3)), Value(np.ones((2, 3))), Value(np.zeros(2)))   # shape (4, 2)
    """
    x, weight = const(x), const(weight)
    xs, ws = x.shape, weight.shape
    if not xs or len(ws) != 2 or xs[-1] != ws[1]:
        raise ShapeError(f"linear: input of shape {xs} does not fit weight of shape {ws}; "
                         f"the weight must be (out, in) with in = the input's last axis")
    if bias is None:
        return apply("linear", (x, weight))
    bias = const(bias)
    if bias.shape != ws[:1]:
        raise ShapeError(f"linear: bias of shape {bias.shape} does not fit weight of shape {ws}; "
                         f"it must be ({ws[0]},), one number per output")
    return apply("linear", (x, weight, bias))


def _function(b: Binding):
    method = bound(b)
    if b.impl is not None and not b.method:  # a function only (einsum, one_hot): its own arguments
        return b.impl

    def function(x, *args, **kwargs):
        return method(const(x), *args, **kwargs)

    function.__name__ = function.__qualname__ = b.function
    function.__doc__ = b.doc
    return function


GENERATED = [b.function for b in BINDINGS if b.function]  # the names autograd exports from the table
globals().update({b.function: _function(b) for b in BINDINGS if b.function})
