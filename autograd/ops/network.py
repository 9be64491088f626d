"""Matrix products and the ops networks are built from: `matmul`, `neuron` (one weighted
sum per neuron, example mode), and the fused ops of batch mode: `linear` (x @ Wᵀ + b as one node) and
`cross_entropy` (logsumexp - the target's logit, row by row, as one node whose backward
is softmax - onehot). Registered in the op table like every other op (autograd.ops).
"""
from __future__ import annotations

import math

import numpy as np

from .. import recycle
from . import call, data, defop, reshape, shape, sum_, swap_last


def _linear(x, w, b=None):
    if x.ndim > 2:  # (..., in) as one (rows, in) product: numpy runs x3d @ w.T as a slow loop (50× at (32, 32, 64))
        out = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
    elif len(x) * len(w) * x.itemsize < recycle.MIN_BYTES:  # a small batch (no test of recycle.matmul's)
        out = x @ w.T
    else:
        out = recycle.matmul(x, w.T)
    if b is None:
        return out
    if b.dtype == out.dtype or out.dtype == np.result_type(out, b):  # then in place: no second array
        out += b
        return out
    return out + b


def _rows(t):  # (n, features): batch axes flattened, a vector as one row
    return t if t.ndim == 2 else reshape(t, (-1, shape(t)[-1]))


def _linear_grad(g, out, x, w, b=None, needs=(True, True, True)):
    """(g @ W, gᵀ @ x, Σ g over the batch); first order, each of its input's own shape and dtype (fresh=True)."""
    if g.ndim != 2 and type(g) is np.ndarray and g.ndim > 1:  # (..., out): one 2-D product (see _linear)
        gx = (_rows(g) @ w).reshape(g.shape[:-1] + (w.shape[1],)) if needs[0] else None
    elif type(g) is np.ndarray:  # (first order: large results into recycled arrays, see autograd.recycle)
        # (skipped for an input batch: one matrix product less)
        gx = (_input_grad(g, w, recycle.matmul) if w.flags.f_contiguous else recycle.matmul(g, w)) if needs[0] else None
    else:
        gx = g @ w if needs[0] else None
    if g.ndim != 2:  # (..., out): the weight gradient sums over every leading axis
        g, x = _rows(g), _rows(x)
    if not needs[1]:
        gw = None
    elif type(g) is not np.ndarray:
        gw = g.T @ x
    else:
        gw = _weight_grad(g, x, w) if w.flags.f_contiguous else recycle.matmul(g.T, x)
    grads = (gx, gw) if b is None else (gx, gw, column_sums(g) if needs[2] else None)
    if type(g) is np.ndarray and (not (g.dtype is x.dtype is w.dtype) or b is not None and b.dtype is not g.dtype):
        # mixed dtypes (a float64 batch into a float32 layer): each gradient in its input's dtype, as
        # fresh=True promises the engine (which then skips its own fit)
        grads = tuple(c if c is None or c.dtype is t.dtype else c.astype(t.dtype) for c, t in zip(grads, (x, w, b)))
    return grads


def _linear_first(g, out, node):
    """_linear_grad as backprop's fresh path calls it (g: an array of out's shape and dtype, see autograd.ops).
    A layer's 2-D batch of one dtype whose input gradient is under recycle's threshold (the digits
    step's three layers) takes its products as they are: no size tests but W's, no keyword call,
    the bias's ones looked up here (digits step, float32 batch 32: ~3 µs less with tanh's and the loss's).
    The same products as _linear_grad's, into the same kinds of arrays, so the same bits."""
    if node._p0 is None:  # (x, W, bias) for a layer, all in _p1 (a bias-free one has two inputs: _p0, _p1)
        x, w, b = node._p1
        xd, wd, bd = x.data, w.data, b.data
        if xd.ndim == 2 and xd.nbytes < recycle.MIN_BYTES and g.dtype is xd.dtype is wd.dtype is bd.dtype:
            if wd.flags.f_contiguous:  # a column-major weight (nn.Layer's on some BLAS): as _linear_grad's products
                gx = _input_grad(g, wd) if x.requires_grad else None
                gw = _weight_grad(g, xd, wd) if w.requires_grad else None
            else:
                gx = g @ wd if x.requires_grad else None
                gw = None
                if w.requires_grad:  # (a large one into a recycled array, as recycle.matmul's)
                    gw = g.T @ xd if wd.nbytes < recycle.MIN_BYTES else \
                        np.matmul(g.T, xd, out=recycle.empty(wd.shape, g.dtype))
            if not b.requires_grad:
                return gx, gw, None
            ones = _ONES.get((g.shape[0], g.dtype))
            return gx, gw, (ones @ g if ones is not None else column_sums(g))
        return _linear_grad(g, out, xd, wd, bd, needs=(x.requires_grad, w.requires_grad, b.requires_grad))
    x, w = node._p0, node._p1
    return _linear_grad(g, out, x.data, w.data, needs=(x.requires_grad, w.requires_grad))


def _weight_grad(g, x, w):
    """gᵀ @ x (2-D g and x) for a column-major W, in W's own layout: an update w -= lr·g across
    layouts is ~10× slower (float32 (128, 128): 40 vs 4 µs). An array of its own (not the view (xᵀ @ g)ᵀ),
    so that .grad keeps it without a copy (a view would be copied)."""
    shape = (g.shape[1], x.shape[1])
    if not (g.dtype is x.dtype is w.dtype):
        # mixed dtypes: in the product's dtype (the caller casts it to W's when they differ, keeping the
        # layout), into an array of its own too: (x.T @ g).T would be a view kept as .grad when no cast is due
        out = np.empty(shape, np.result_type(x, g), order="F")
        np.matmul(x.T, g, out=out.T)
        return out
    if shape[0] * shape[1] * g.itemsize < recycle.MIN_BYTES:
        # (numpy allocates the column-major result and runs the same product: the same bits, a call less
        # than np.empty and out=, ~0.4 µs isolated at (128, 128))
        return np.matmul(g.T, x, order="F")
    out = recycle.empty(shape, g.dtype, "F")
    np.matmul(x.T, g, out=out.T)
    return out


SMALL_PRODUCT = 1 << 19  # rows·out·in up to which g @ W (W column-major) runs on a copy of g or of W
NARROW = 16  # out features under which g @ W (W column-major) runs on a row-major copy of W at any size


def input_grad_copy(rows: int, w) -> str | None:
    """Which operand g @ W (g (rows, out) row-major, W (out, in) column-major) runs on a copy of:
    "W" (row-major), "g" (column-major) or None (neither), for _input_grad and the jit's Linear kernel
    alike (so a replay keeps the eager bits). In a small product a copy pays, and the smaller
    one is taken (W's when in <= rows); above it only a narrow W's does."""
    small = rows * w.size <= SMALL_PRODUCT
    if w.shape[1] <= rows and (small or len(w) < NARROW):
        return "W"
    return "g" if small else None


def _input_grad(g, w, matmul=np.matmul):
    """g @ W for a column-major W (2-D g). With both operands column-major, OpenBLAS's small-matrix
    kernels take the product on one thread; g row-major makes it a two-thread product whose second
    thread then spins ~0.1 s, slowing all the code after it. Up to
    SMALL_PRODUCT a copy of one operand pays: of g, column-major (float32 (32, 128) @ (128, 128): 17.9
    -> 8.8 us, the row-major weight's g @ W 8.5 us), or of W, row-major, when it is the smaller (in <=
    rows: float32 (256, 10) @ (10, 128): 11.3 us with g's copy, 9.2 us with none, 6.6 us with W's;
    (128, 32) @ (32, 128): 9.9, 27.7 and 8.6 us). Above it neither pays ((64, 128) @ (128, 128): 25.9 us
    without, 32.5 us with g's), except W's for a narrow W (under NARROW rows: float32 (256, 10) @
    (10, 256) 34.1 -> 12.3 us). benchmarks/layout.py part 3 times the three ways by width."""
    copy = input_grad_copy(len(g), w) if g.ndim == 2 else None
    if copy == "W":
        return matmul(g, np.ascontiguousarray(w))
    if copy == "g":
        return matmul(np.asfortranarray(g), w)
    return matmul(g, w)


_ONES = {}  # (rows, dtype) -> np.ones(rows, dtype), for column_sums


def column_sums(g):
    """g summed over its rows (a bias gradient), as the matrix-vector product ones @ g: BLAS's gemv
    beats np.add.reduce over axis 0, 0.6 vs 1.25 µs at (32, 128) and 1.7 vs 5.7 µs at (256, 128) float32.
    (autograd.jit's Linear kernel sums the same way: a replay matches the eager step bit for bit.)"""
    if type(g) is not np.ndarray or g.ndim != 2 or g.dtype.kind != "f":
        return sum_(g, axis=0)
    key = (g.shape[0], g.dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:  # (batch sizes seen: a handful; never a growing cache)
            _ONES.clear()
        ones = _ONES[key] = np.ones(g.shape[0], g.dtype)
    return ones @ g


SHORT = 32  # rows of up to this many classes get their maxima from a transposed copy (at 64: about even)


def _cross_entropy(a, key, reduction="mean"):
    """(loss, softmax(a)): the softmax is saved, so the backward skips its row maxima and sums.

    As PyTorch's (log_softmax, then the target's entry): a row whose maximum is +inf, or all -inf,
    or nan, has a nan loss and a nan softmax, hence nan in the mean and a nan gradient row (numpy warns
    "invalid value" on the way; PyTorch is silent). torch.logsumexp's own convention (inf) is
    autograd.logsumexp's, not this loss's."""
    if type(a) is not np.ndarray:
        a = np.asarray(a)
    # ufunc.reduce rather than a.max() / a.sum(): the same, without numpy's Python wrapper
    if a.ndim == 2 and a.shape[1] <= SHORT:
        # short rows' maxima as maxima down the columns of a transposed copy: numpy reduces a short last
        # axis row by row (float32 (32, 10): 2.0 -> 1.3 us, (256, 10): 10.8 -> 2.0 us); a maximum is exact,
        # so the same numbers (the jit's kernel takes them the same way)
        m = np.maximum.reduce(a.T.copy(), axis=0, keepdims=True).T
    else:
        m = np.maximum.reduce(a, axis=-1, keepdims=True)
    e = np.subtract(a, m)
    np.exp(e, out=e)  # in place: one (n, classes) temporary less
    total = np.add.reduce(e, axis=-1, keepdims=True)
    per_row = (np.log(total) + m)[..., 0] - a[key]  # logsumexp(a) - a[target], row by row
    n = per_row.size if reduction == "mean" else 1  # the mean as sum / n: .mean() costs ~1 µs more
    if reduction == "none":
        loss = per_row
    else:  # an empty batch's mean is nan, as PyTorch's (without numpy's 0/0 warning)
        loss = np.add.reduce(per_row, axis=None) / n if n else per_row.dtype.type("nan")
    e /= total  # now the softmax, in place
    return loss, e


def _cross_entropy_grad(g, out, a, key, reduction="mean", saved=None):
    if reduction == "mean":  # (the usual case tested first)
        n = a.shape[0] if type(a) is np.ndarray and a.ndim == 2 else math.prod(shape(a)[:-1])  # (rows; a call less)
        g = g / n if n else g  # the mean over n rows: g / n (no rows: an empty gradient, as PyTorch's)
    elif reduction == "none" and len(shape(a)) > 1:
        g = reshape(g, shape(g) + (1,))  # one upstream gradient per row
    if saved is None:  # recompute (a recorded op with create_graph=True)
        p = call("softmax", a, axis=-1)
        onehot = np.zeros(shape(p), data(p).dtype)
        onehot[key] = 1
        return ((p - onehot) * g,)
    p = saved.copy()  # softmax - onehot, on a copy: a graph may be differentiated twice
    p[key] -= 1
    p *= g
    return (p,)


def _cross_entropy_first(g, out, node):
    """_cross_entropy_grad as backprop's fresh path calls it (g: an array of out's shape and dtype, or a float
    for a float loss)."""
    if type(g) is not float and not g.ndim:  # a numpy scalar for the loss's 0-d gradient: g / n then skips numpy's array machinery (~0.4 µs)
        g = g[()]
    extra, attrs = node._details.extra, node._details.attrs
    return _cross_entropy_grad(g, out, node._p0.data, attrs["key"], attrs.get("reduction", "mean"),
                               None if extra is None else extra.get("saved"))


defop("linear", _linear, _linear_grad,
      "x·Wᵀ + b", ("g @ W", "gᵀ @ x", "Σ g over the batch"), elementwise=False, needs=True, fresh=True,
      first_order=_linear_first,
      doc="a layer on a batch: x @ Wᵀ + bias for inputs a = x (..., in), b = W (out, in), bias (out,)")
defop("cross_entropy", _cross_entropy, _cross_entropy_grad,
      "cross-entropy", ("g·(softmax(a) - onehot) / n",), elementwise=False, saves=True, fresh=True,
      first_order=_cross_entropy_first,
      doc="logsumexp(a) - a[key] per row, averaged over the n rows (reduction=\"mean\"): cross-entropy "
          "from logits a; key (np.arange(n), targets) picks each row's target class")


def _neuron(w, b, *xs, row=None):
    wr = w if row is None else w[row]
    br = b if row is None else b[row]
    return float(np.dot(wr, xs) + br) if wr.dtype == np.float64 else np.dot(wr, xs) + br


def _matmul_grad(g, out, a, b, needs=(True, True)):
    sa, sb = shape(a), shape(b)
    if len(sa) == 2 and len(sb) == 2:  # the common case: no reshapes, and skip what nobody needs
        return g @ swap_last(b) if needs[0] else None, swap_last(a) @ g if needs[1] else None
    if len(sa) == 1 and len(sb) == 1:
        return g * b, g * a
    a2 = reshape(a, (1,) + sa) if len(sa) == 1 else a
    b2 = reshape(b, sb + (1,)) if len(sb) == 1 else b
    g2 = g
    if len(sa) == 1:
        g2 = reshape(g, shape(g)[:-1] + (1, shape(g)[-1]))
    elif len(sb) == 1:
        g2 = reshape(g, shape(g) + (1,))
    ga, gb = g2 @ swap_last(b2), swap_last(a2) @ g2
    if len(sa) == 1:
        ga = reshape(ga, shape(ga)[:-2] + sa)
    if len(sb) == 1:
        gb = reshape(gb, shape(gb)[:-2] + sb)
    return ga, gb


def _neuron_grad(g, out, w, b, *xs, row=None):
    wr = w if row is None else w[row]
    xv = call("stack", *xs, axis=0)
    gw = g * xv if row is None else call("scatter", g * xv, key=row, shape=shape(w))
    gb = g if row is None else call("scatter", g, key=row, shape=shape(b))
    return (gw, gb) + tuple(g * wr[i] for i in range(len(xs)))


# fmt: off
defop("matmul", lambda a, b: a @ b, _matmul_grad,
      "@", ("g @ bᵀ", "aᵀ @ g"), elementwise=False, doc="matrix product a @ b", needs=True)
defop("neuron", _neuron, _neuron_grad,
      "Σ w·x + b", ("x", "1", "w"), doc="weighted sum of inputs plus bias: one neuron")
# fmt: on


def _binary_cross_entropy(p, target):
    with np.errstate(divide="ignore"):  # log 0 = -inf, clamped at -100 as PyTorch
        return -(target * np.maximum(np.log(p), -100.0) + (1.0 - target) * np.maximum(np.log1p(-p), -100.0))


def _binary_cross_entropy_grad(g, out, p, target):
    """PyTorch's rule: g·(p - y) / max(p·(1 - p), 1e-12) (finite at p = 0 and 1)."""
    denom = (1.0 - p) * p
    return (g * (p - target) / call("where", denom, 1e-12, cond=data(denom) >= 1e-12),)


defop("binary_cross_entropy", _binary_cross_entropy, _binary_cross_entropy_grad,
      "BCE", ("(a - y) / (a·(1 - a))",), doc="-[y·log a + (1-y)·log(1-a)] per element, logs clamped at -100")
