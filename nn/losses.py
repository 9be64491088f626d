"""Loss functions built from engine ops, so their gradients flow (and can be drawn).

Every loss takes predictions as a Value (or a list of scalar Values from
example-mode networks) and targets as numbers/arrays, checks their shapes and
dtypes, and reduces with `reduction` = "mean" (default), "sum" or "none".
"""
from __future__ import annotations

import numpy as np

from autograd.arguments import ShapeError
from autograd.functional import stack
from autograd.value import Value, apply

REDUCTIONS = ("mean", "sum", "none")


def _pred(x, loss: str) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, Value) for v in x):
        return stack(x)
    try:
        return Value(x, requires_grad=False)
    except TypeError as e:
        raise TypeError(f"{loss}: predictions must be a Value, a list of Values or an array ({e})") from None


def _target(y, loss: str) -> np.ndarray:
    y = np.asarray(y.data if isinstance(y, Value) else y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{loss}: targets must be numbers, got an array of dtype {y.dtype}")
    return y


def _same_shape(pred: Value, y: np.ndarray, loss: str) -> None:
    if pred.shape != y.shape:
        hint = ""
        if pred.size == y.size:
            hint = f"; reshape one of them, e.g. pred.reshape({y.shape}) (no silent broadcasting)"
        raise ShapeError(f"{loss}: predictions of shape {pred.shape} and targets of shape {y.shape} "
                         f"must have the same shape{hint}")


def _reduce(per_item: Value, reduction: str, loss: str) -> Value:
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    if reduction == "none":
        return per_item
    raise ValueError(f"{loss}: unknown reduction {reduction!r}; use one of {REDUCTIONS}")


def mse(pred, target, reduction: str = "mean") -> Value:
    """Mean squared error: mean((pred - target)²)."""
    pred, y = _pred(pred, "mse"), _target(target, "mse")
    _same_shape(pred, y, "mse")
    diff = pred - y
    return _reduce(diff * diff, reduction, "mse")


def binary_cross_entropy(logits, targets, reduction: str = "mean") -> Value:
    """-[y·log σ(z) + (1-y)·log(1-σ(z))] from logits z, computed without overflow.

    Written as max(z, 0) - z·y + log(1 + e^-|z|), with max(z, 0) = (z + |z|)/2 so
    that the gradient at z = 0 is σ(0) - y = 0.5 - y (relu's and abs's zero
    subgradients at 0 would otherwise lose the 0.5).
    """
    z, y = _pred(logits, "binary_cross_entropy"), _target(targets, "binary_cross_entropy")
    _same_shape(z, y, "binary_cross_entropy")
    if y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"binary_cross_entropy: targets must lie in [0, 1], got values from {y.min()} to "
                         f"{y.max()}; for ±1 labels use (y + 1) / 2")
    a = z.abs()
    per_item = (z + a) * 0.5 - z * y + ((-a).exp() + 1.0).log()
    return _reduce(per_item, reduction, "binary_cross_entropy")


def cross_entropy(logits, targets, reduction: str = "mean") -> Value:
    """-log softmax(logits)[target] for integer class targets (stable log-softmax).

    logits: (batch, classes) with targets (batch,), or (classes,) with one integer.
    """
    z = logits if type(logits) is Value else _pred(logits, "cross_entropy")
    y = targets if type(targets) is np.ndarray else np.asarray(targets.data if isinstance(targets, Value) else targets)
    if y.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {y.dtype}; use "
                        f"targets.astype(int) (for one-hot rows, targets.argmax(axis=1))")
    zshape = z.shape
    if len(zshape) not in (1, 2) or y.shape != zshape[:-1]:
        raise ShapeError(f"cross_entropy: logits of shape {zshape} need targets of shape {zshape[:-1]} "
                         f"(one class index per row), got targets of shape {y.shape}")
    classes = zshape[-1]
    # One pass finds both kinds of bad index: seen as unsigned, a negative one is huge.
    if y.size and np.maximum.reduce(y.view(y.dtype.str.replace("i", "u")), axis=None) >= classes:
        raise ValueError(f"cross_entropy: class indices must lie in [0, {classes}) for {classes} logits, "
                         f"got values from {y.min()} to {y.max()}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: unknown reduction {reduction!r}; use one of {REDUCTIONS}")
    # One fused node, logsumexp(z) - z[target] per row, whose backward is softmax(z) - onehot.
    key = (_row_numbers(len(y)), y) if len(zshape) == 2 else (int(y),)
    return apply("cross_entropy", (z,), {"key": key, "reduction": reduction})


_ROWS = np.arange(0)


def _row_numbers(n: int) -> np.ndarray:
    """0, 1, ..., n-1 as a read-only view of one shared array (a fresh arange costs a step ~2 µs)."""
    global _ROWS
    if n > len(_ROWS):
        _ROWS = np.arange(max(n, 2 * len(_ROWS)))
        _ROWS.flags.writeable = False
    return _ROWS[:n]


def hinge(scores, targets, reduction: str = "mean") -> Value:
    """Max-margin loss of micrograd's demo: mean(relu(1 - y·score)) for labels y = ±1."""
    s, y = _pred(scores, "hinge"), _target(targets, "hinge")
    _same_shape(s, y, "hinge")
    if not np.all((y == 1) | (y == -1)):
        raise ValueError("hinge: targets must be -1 or +1; for 0/1 labels use 2 * y - 1")
    return _reduce((1.0 - s * y).relu(), reduction, "hinge")


def l2_penalty(params, alpha: float = 1.0) -> Value:
    """alpha · Σ p² over all parameters (a Module or an iterable of Values)."""
    params = params.parameters() if hasattr(params, "parameters") else list(params)
    if not params:
        raise ValueError("l2_penalty: got no parameters")
    total = None
    for p in params:
        sq = p * p
        sq = sq.sum() if sq.ndim else sq
        total = sq if total is None else total + sq
    return total * alpha
