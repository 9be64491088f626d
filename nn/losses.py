"""Loss functions built from engine ops, so their gradients flow (and can be drawn).

Every loss takes predictions as a Value (or a list of scalar Values from
example-mode networks) and targets as numbers/arrays, checks their shapes and
dtypes, and reduces with `reduction` = "mean" (default), "sum" or "none".
"""
from __future__ import annotations

import numpy as np

from autograd.arguments import ShapeError
from autograd.functional import stack
from autograd.mode import MODE
from autograd.value import Value, apply, apply1

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


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Value:
    """-w·[pos_weight·y·log σ(z) + (1-y)·log(1-σ(z))] from logits z, computed without overflow
    (torch.nn.functional.binary_cross_entropy_with_logits).

    Written as max(z, 0) - z·y + log(1 + e^-|z|), with max(z, 0) = (z + |z|)/2 so
    that the gradient at z = 0 is σ(0) - y = 0.5 - y (relu's and abs's zero
    subgradients at 0 would otherwise lose the 0.5). `pos_weight` (broadcast over the last
    axis: one per class) weighs the positive term, `weight` each element.
    """
    loss = "binary_cross_entropy_with_logits"
    z, y = _pred(input, loss), _target(target, loss)
    _same_shape(z, y, loss)
    if y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{loss}: targets must lie in [0, 1], got values from {y.min()} to "
                         f"{y.max()}; for ±1 labels use (y + 1) / 2")
    a = z.abs()
    softplus_neg = ((-a).exp() + 1.0).log()  # log(1 + e^-|z|)
    if pos_weight is None:
        per_item = (z + a) * 0.5 - z * y + softplus_neg
    else:  # (1-y)·z + (pos_weight·y + 1 - y)·softplus(-z), PyTorch's formula
        pw = _weights(pos_weight, z, loss, "pos_weight")
        per_item = z * (1.0 - y) + (softplus_neg + (a - z) * 0.5) * ((pw - 1.0) * y + 1.0)
    if weight is not None:
        per_item = per_item * _weights(weight, z, loss, "weight")
    return _reduce(per_item, reduction, loss)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Value:
    """-w·[y·log p + (1-y)·log(1-p)] on probabilities p in [0, 1], each log clamped at -100 as
    PyTorch does (torch.nn.functional.binary_cross_entropy). One node per element; from logits
    use binary_cross_entropy_with_logits (stabler)."""
    loss = "binary_cross_entropy"
    p, y = _pred(input, loss), _target(target, loss)
    _same_shape(p, y, loss)
    if p.size and (np.min(p.data) < 0 or np.max(p.data) > 1):
        raise ValueError(f"{loss}: inputs are probabilities and must lie in [0, 1], got values from "
                         f"{np.min(p.data)} to {np.max(p.data)}; for logits use binary_cross_entropy_with_logits")
    if y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{loss}: targets must lie in [0, 1], got values from {y.min()} to {y.max()}")
    per_item = apply("binary_cross_entropy", (p,), {"target": y.astype(p.dtype)})
    if weight is not None:
        per_item = per_item * _weights(weight, p, loss, "weight")
    return _reduce(per_item, reduction, loss)


def _weights(w, x: Value, loss: str, name: str) -> np.ndarray:
    w = _target(w, loss).astype(x.dtype)
    try:
        np.broadcast_shapes(w.shape, x.shape)
    except ValueError:
        raise ShapeError(f"{loss}: {name} of shape {w.shape} does not broadcast against the input of shape "
                         f"{x.shape}") from None
    return w


_UNSIGNED = {}  # an integer dtype -> the unsigned one of its size


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Value:
    """-log softmax(input)[target] (torch.nn.functional.cross_entropy, the same arguments).

    input: logits (N, C), (C,) or (N, C, d1, ...); target: class indices (N,), () or (N, d1, ...)
    (those equal to `ignore_index` count for nothing), or class probabilities of input's shape
    (float). `weight` (C,) weighs each class; `label_smoothing` ε mixes the target with the
    uniform distribution: (1 - ε)·target + ε/C. The plain case (indices, (N, C) or (C,), no
    weight, nothing ignored, no smoothing) is one fused node whose backward is softmax - onehot.
    """
    if type(input) is Value and type(target) is np.ndarray and weight is None and ignore_index < 0 \
            and not label_smoothing and reduction in REDUCTIONS:
        # A training loop's case first, with only the checks it needs (digits step: ~2.5 µs less than the
        # general tests below, paired in-process A/B): logits (N, C), N > 0 integer targets of a dtype
        # seen before (_UNSIGNED), each in [0, C) (a negative one, seen as unsigned, is huge)
        a, unsigned = input.data, _UNSIGNED.get(target.dtype)
        if unsigned is not None and type(a) is np.ndarray and a.ndim == 2 and target.ndim == 1 \
                and len(target) == len(a) and len(a):
            u = target.view(unsigned)
            if u.item(u.argmax()) < a.shape[1]:
                key = (_row_numbers(len(target)), target)
                return apply1("cross_entropy", input, {"key": key, "reduction": reduction})
    z = input if type(input) is Value else _pred(input, "cross_entropy")
    y = target if type(target) is np.ndarray else np.asarray(target.data if isinstance(target, Value) else target)
    zshape, kind = z.shape, y.dtype.kind
    if kind == "f" and y.shape == zshape and zshape:
        return _soft_cross_entropy(z, y, weight, reduction, label_smoothing)
    if kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {y.dtype}; use "
                        f"targets.astype(int) (for one-hot rows, targets.argmax(axis=1); class probabilities "
                        f"need the logits' shape {zshape}, got {y.shape})")
    if weight is None and not label_smoothing and len(zshape) in (1, 2) and y.shape == zshape[:-1]:
        classes = zshape[-1]
        # One pass finds both kinds of bad index: seen as unsigned, a negative one is huge.
        # (ignore_index: negative by default, so it is never met there; a class number must be looked for)
        unsigned = _UNSIGNED.get(y.dtype)  # (made once per dtype: parsing "<u8" costs ~0.5 µs a step)
        if unsigned is None:
            unsigned = _UNSIGNED[y.dtype] = np.dtype(y.dtype.str.replace("i", "u"))
        u = y.view(unsigned)  # (its largest found by argmax: 0.7 -> 0.2 µs, a ufunc reduce's set-up skipped)
        # (an ignore_index a jit is capturing under: nll_loss's node, which looks for it in every batch)
        if (not y.size or u.item(u.argmax()) < classes) and \
                (ignore_index < 0 or MODE.capture is None and not (y == ignore_index).any()):
            if reduction not in REDUCTIONS:
                raise ValueError(f"cross_entropy: unknown reduction {reduction!r}; use one of {REDUCTIONS}")
            # One fused node, logsumexp(z) - z[target] per row, whose backward is softmax(z) - onehot.
            key = (_row_numbers(len(y)), y) if len(zshape) == 2 else (int(y),)
            return apply1("cross_entropy", z, {"key": key, "reduction": reduction})
    rows, y_rows = _class_rows(z, y, ignore_index, "cross_entropy")
    return _nll(rows.log_softmax(axis=-1), y_rows, y.shape, weight, ignore_index, reduction, label_smoothing,
                "cross_entropy")


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Value:
    """-input[target] from log-probabilities (torch.nn.functional.nll_loss): input (N, C), (C,) or
    (N, C, d1, ...), target class indices; `weight` per class, `ignore_index` counts for nothing."""
    z = _pred(input, "nll_loss")
    y = _target(target, "nll_loss")
    if y.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: targets must be integer class indices, got dtype {y.dtype}; use "
                        "targets.astype(int)")
    rows, y_rows = _class_rows(z, y, ignore_index, "nll_loss")
    return _nll(rows, y_rows, y.shape, weight, ignore_index, reduction, 0.0, "nll_loss")


def _class_rows(z: Value, y: np.ndarray, ignore_index: int, loss: str):
    """Scores (C,), (N, C) or (N, C, d1, ...) as rows (M, C) with their M targets, checked."""
    want = (z.shape[:1] + z.shape[2:]) if z.ndim > 1 else ()
    if z.ndim == 0 or y.shape != want:
        what = "logits" if loss == "cross_entropy" else "log-probabilities"
        raise ShapeError(f"{loss}: {what} of shape {z.shape} need targets of shape {want} (one class index per "
                         f"row: the class axis is axis 1, or 0 for one example), got targets of shape {y.shape}")
    classes = z.shape[1] if z.ndim > 1 else z.shape[0]
    kept = y[y != ignore_index]
    if kept.size and (kept.min() < 0 or kept.max() >= classes):
        raise ValueError(f"{loss}: class indices must lie in [0, {classes}) for {classes} classes (or equal "
                         f"ignore_index={ignore_index}), got values from {kept.min()} to {kept.max()}")
    if z.ndim == 1:
        return z.reshape(1, classes), y.reshape(1)
    if z.ndim > 2:  # the class axis last, every other position a row
        z = z.permute(0, *range(2, z.ndim), 1)
    return (z, y) if z.ndim == 2 else (z.reshape(-1, classes), y.reshape(-1))  # y itself: jit follows it


def _nll(logp: Value, y, shape, weight, ignore_index, reduction, smoothing, loss: str) -> Value:
    """PyTorch's nll_loss (with label smoothing as in its cross_entropy) on rows logp (M, C)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: unknown reduction {reduction!r}; use one of {REDUCTIONS}")
    # One node whose attributes hold the targets: which rows count, their class weights and the mean's
    # denominator come from them on every call, so autograd.jit follows a new batch's targets in
    # (built from several nodes, these numbers were constants a replay kept from the first batch).
    w = None if weight is None else _class_weights(weight, logp.shape[1], logp, loss)
    attrs = {"target": y, "weight": w, "ignore_index": ignore_index, "reduction": reduction,
             "smoothing": float(smoothing)}
    per_item = apply1("nll_loss", logp, attrs)
    return per_item.reshape(shape) if reduction == "none" else per_item


def _soft_cross_entropy(z: Value, y: np.ndarray, weight, reduction, smoothing) -> Value:
    """Cross-entropy against class probabilities y of z's shape: -Σ_c w_c·y_c·log softmax(z)_c."""
    axis = 1 if z.ndim > 1 else 0
    classes = z.shape[axis]
    if smoothing:
        y = y * (1.0 - smoothing) + smoothing / classes
    if weight is not None:
        y = y * _class_weights(weight, classes, z, "cross_entropy").reshape((classes,) + (1,) * (z.ndim - axis - 1))
    per_item = -(z.log_softmax(axis=axis) * y).sum(axis=axis)
    if reduction == "mean":
        n = z.size // classes if classes else 0
        if not n:  # an empty batch: nan with an empty gradient, as PyTorch's (and no 0/0 warning)
            return per_item.sum() * 0.0 + float("nan")
        return per_item.sum() / n
    return _reduce(per_item, reduction, "cross_entropy")


def _class_weights(weight, classes: int, z: Value, loss: str) -> np.ndarray:
    w = _target(weight, loss).astype(z.dtype)
    if w.shape != (classes,):
        raise ShapeError(f"{loss}: weight of shape {w.shape} must have one number per class: ({classes},)")
    w.flags.writeable = False  # (our own copy: autograd.jit keeps it as a constant without a warning)
    return w


_ROWS = np.arange(0)  # 0, 1, 2, ...: the row numbers of cross_entropy's keys (read-only, grown as needed)
_ROW_VIEWS = {}  # n -> the view _ROWS[:n] (kept: slicing one afresh costs ~0.15 µs a step)


def _row_numbers(n: int) -> np.ndarray:
    """0, 1, ..., n-1 as a read-only view of one shared array (a fresh arange costs a step ~2 µs)."""
    global _ROWS
    rows = _ROW_VIEWS.get(n)
    if rows is None:
        if n > len(_ROWS):
            _ROWS = np.arange(max(n, 2 * len(_ROWS)))
            _ROWS.flags.writeable = False
        if len(_ROW_VIEWS) >= 64:  # (batch sizes seen: a handful; never a growing cache)
            _ROW_VIEWS.clear()
        rows = _ROW_VIEWS[n] = _ROWS[:n]
    return rows


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
