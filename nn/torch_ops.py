"""tracegrad op name -> the same computation with torch, for replaying a recorded forward (nn.torch_trace).

Each entry takes the op's inputs as tensors and its attributes as keywords (as recorded
in `node.attrs`), in the order of `node.parents`. Entries are module-level functions so
that a torch.fx GraphModule calling them pickles and loads in a fresh process.
An op missing here cannot be replayed: `to_torch` names it in its refusal.
"""
from __future__ import annotations

import operator

import torch
import torch.nn.functional as F


def _dims(a, axis):
    """numpy's axis (None, an int or a tuple) as torch's dim (a tuple of every dim for None)."""
    if axis is None:
        return tuple(range(a.dim()))
    return tuple(axis) if isinstance(axis, (tuple, list)) else axis


def pow_(a, exponent):
    return a ** exponent


def sum_(a, axis=None, keepdims=False):
    return torch.sum(a, dim=_dims(a, axis), keepdim=keepdims)


def mean(a, axis=None, keepdims=False):
    return torch.mean(a, dim=_dims(a, axis), keepdim=keepdims)


def max_(a, axis=None, keepdims=False):
    return torch.amax(a, dim=_dims(a, axis), keepdim=keepdims)


def logsumexp(a, axis=None, keepdims=False):
    return torch.logsumexp(a, dim=_dims(a, axis), keepdim=keepdims)


def softmax(a, axis=-1):
    return torch.softmax(a, dim=axis)


def log_softmax(a, axis=-1):
    return torch.log_softmax(a, dim=axis)


def broadcast_to(a, shape):
    return torch.broadcast_to(a, tuple(shape))


def reshape(a, shape):
    return torch.reshape(a, tuple(shape))


def transpose(a, axes=None):
    return a.permute(*(tuple(axes) if axes is not None else reversed(range(a.dim()))))


def getitem(a, key):
    return a[key]


def concat(*inputs, axis=0):
    return torch.cat(inputs, dim=axis)


def stack(*inputs, axis=0):
    return torch.stack(inputs, dim=axis)


def linear(x, weight, bias=None):
    return F.linear(x, weight, bias)


def where(a, b, cond):
    return torch.where(cond, a, b)


def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    target = torch.as_tensor(target, dtype=torch.long)
    if weight is not None:  # (a tensor when traced; the node's own read-only array is copied, not shared)
        weight = weight.to(logp.dtype) if isinstance(weight, torch.Tensor) else torch.tensor(weight, dtype=logp.dtype)
    if not smoothing:
        return F.nll_loss(logp, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    # (cross_entropy's smoothing on log-probabilities: their log_softmax is themselves)
    return F.cross_entropy(logp, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=smoothing)


TORCH_OPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "pow": pow_, "pow_value": operator.pow, "exp": torch.exp, "log": torch.log,
    "sqrt": torch.sqrt, "abs": torch.abs, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
    "sum": sum_, "mean": mean, "max": max_, "logsumexp": logsumexp, "softmax": softmax,
    "log_softmax": log_softmax, "broadcast_to": broadcast_to, "reshape": reshape, "transpose": transpose,
    "getitem": getitem, "concat": concat, "stack": stack, "linear": linear, "matmul": torch.matmul,
    "where": where, "nll_loss": nll_loss,
}
