"""Normalisation layers as one readable node each: batch_norm (vision) and layer_norm (sequence)."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401

# ---- batch norm (over the batch and spatial axes, per channel) ---------------------------
# (the vision family: conv nets)


# ---- layer norm (over the last axes, per example) -----------------------------------------
# (the sequence family: transformers)
from . import defmethod


def _layer_axes(x, k):
    return tuple(range(np.ndim(data(x)) - k, np.ndim(data(x))))


def _layer_norm(x, *params, k=1, eps=1e-5, affine=""):
    """(x̂·w + b, (x̂, rstd)) with x̂ = (x - mean) / √(var + eps) over the last k axes."""
    axes = _layer_axes(x, k)
    xc = x - np.mean(x, axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(np.mean(xc * xc, axis=axes, keepdims=True) + eps)
    xhat = xc * rstd
    out = xhat
    if "w" in affine:
        out = out * params[0]
    if "b" in affine:
        out = out + params[-1]
    return out, (xhat, rstd)


def _layer_norm_grad(g, out, x, *params, k=1, eps=1e-5, affine="", saved=None):
    from . import sum_
    axes = _layer_axes(x, k)
    n = int(np.prod([shape(x)[a] for a in axes]))
    if saved is None:  # recompute, recorded (create_graph=True)
        xc = x - sum_(x, axis=axes, keepdims=True) * (1.0 / n)
        rstd = 1.0 / call("sqrt", sum_(xc * xc, axis=axes, keepdims=True) * (1.0 / n) + eps)
        xhat = xc * rstd
    else:
        xhat, rstd = saved
    gh = g * params[0] if "w" in affine else g  # the gradient reaching x̂
    mean_gh = sum_(gh, axis=axes, keepdims=True) * (1.0 / n)
    mean_ghx = sum_(gh * xhat, axis=axes, keepdims=True) * (1.0 / n)
    grads = [rstd * (gh - mean_gh - xhat * mean_ghx)]
    if "w" in affine:
        grads.append(g * xhat)  # summed over the leading axes by the engine (engine.fit)
    if "b" in affine:
        grads.append(g)
    return tuple(grads)


defop("layer_norm", _layer_norm, _layer_norm_grad,
      "LayerNorm", ("rstd·(ĝ - mean ĝ - x̂·mean(ĝ·x̂)), ĝ = g·w", "Σ g·x̂ over the leading axes",
                    "Σ g over the leading axes"), elementwise=False, saves=True,
      doc="(x - mean) / √(var + eps) · weight + bias over the last axes (biased variance), one node")


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.layer_norm: normalise x over its last len(normalized_shape) axes."""
    from ..arguments import ShapeError
    from ..value import apply, const
    x = const(x)
    normalized_shape = (int(normalized_shape),) if np.ndim(normalized_shape) == 0 else tuple(
        int(n) for n in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or x.shape[x.ndim - k:] != normalized_shape or x.ndim < k:
        raise ShapeError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape "
                         f"{normalized_shape}; normalized_shape must be the input's last axes, e.g. "
                         f"{x.shape[-1:]} for features on the last axis")
    inputs, affine = [x], ""
    for tag, p in (("w", weight), ("b", bias)):
        if p is not None:
            p = const(p)
            if p.shape != normalized_shape:
                raise ShapeError(f"layer_norm: {'weight' if tag == 'w' else 'bias'} of shape {p.shape} does not fit "
                                 f"normalized_shape {normalized_shape}; it needs exactly that shape")
            inputs.append(p)
            affine += tag
    return apply("layer_norm", tuple(inputs), {"k": k, "eps": float(eps), "affine": affine})


defmethod("layer_norm", layer_norm, method=False)
