"""`nll_loss`: the negative log-likelihood of class targets, with PyTorch's class weights,
ignore_index and label smoothing, as ONE node whose attributes hold the targets.

Every number that depends on the targets (which rows count, each row's class weight, the mean's
denominator) is computed from them inside the op, on each call. Built from several nodes with
those numbers as constants, a jitted step (autograd.jit) replayed the first batch's numbers for
every later batch; as the op's attribute `target` the jit follows the new targets in.

With A the (rows, classes) coefficients — w[y]·(1 - ε) at each counted row's target, plus
ε·w_c / C on its every class (ε the smoothing; an ignored row all 0) — a row's loss is -Σ_c A·logp
(written without the 0·(-inf) of dense products), the mean divides by Σ w[y] over counted rows,
and the gradient is -g·A (-g·A / Σ w[y] for the mean): constant in logp.
"""
from __future__ import annotations

import numpy as np

from . import defop, reshape


def _counted(target, weight, ignore_index, dtype):
    """(keep, safe, wy): which rows count, the targets with ignored ones made 0 (a valid index), and
    each row's class weight (0 where ignored), in the logits' dtype."""
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    wy = (np.ones(len(target), dtype) if weight is None else weight[safe].astype(dtype, copy=False)) * keep
    return keep, safe, wy


def _nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    n, classes = logp.shape
    keep, safe, wy = _counted(target, weight, ignore_index, logp.dtype)
    picked = np.where(keep, logp[np.arange(n), safe], 0)  # (an ignored row's -inf counts for nothing)
    per_row = -(picked * wy)
    if smoothing:
        every = (logp if weight is None else logp * weight.astype(logp.dtype, copy=False)).sum(axis=1)
        per_row = per_row * (1.0 - smoothing) - np.where(keep, every, 0) * (smoothing / classes)
    if reduction == "none":
        return per_row
    total = per_row.sum()
    if reduction == "sum":
        return total
    counted = wy.sum()
    return total / counted if counted else logp.dtype.type("nan")  # nothing counted: nan, as PyTorch's


def _nll_loss_grad(g, out, logp, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    n, classes = logp.shape
    keep, safe, wy = _counted(target, weight, ignore_index, logp.dtype)
    a = np.zeros((n, classes), logp.dtype)
    if smoothing:
        w = np.ones(classes, logp.dtype) if weight is None else weight.astype(logp.dtype, copy=False)
        a += keep[:, None] * w * (smoothing / classes)
    a[np.arange(n), safe] += wy * (1.0 - smoothing)
    if reduction == "mean":
        counted = wy.sum()
        a *= -1.0 / counted if counted else 0.0  # nothing counted: a zero gradient, as PyTorch's
    else:
        a = -a
    if reduction == "none":
        g = reshape(g, (n, 1))  # one upstream gradient per row
    return (g * a,)


defop("nll_loss", _nll_loss, _nll_loss_grad,
      "NLL", ("-g·A (A: w[y]·(1 - ε) at each target, ε·w / C on every class; / Σ w[y] for the mean)",),
      elementwise=False,
      doc="negative log-likelihood of class targets from log-probabilities (rows, classes), with class "
          "weights, an ignored class and label smoothing, as torch.nn.functional.nll_loss / cross_entropy")
