"""Normalisation layers as one readable node each: batch_norm (vision) and layer_norm (sequence)."""
from __future__ import annotations

import math

import numpy as np

from ..arguments import ShapeError
from . import call, data, defmethod, defop, expose, reshape, shape, sum_

# ---- batch norm (over the batch and spatial axes, per channel) ---------------------------
# (the vision family: conv nets)
#
#   x̂ = (x - μ) / √(σ² + eps),   y = x̂·γ + β      μ, σ² per channel c = axis 1
#
# training: μ and σ² are the batch's (σ² biased: / M, M = values per channel); the running
# variance is updated with the unbiased one (/ (M - 1)), as PyTorch. eval: the running ones.
# The backward, with sums over the M values of each channel:
#   dβ = Σ g      dγ = Σ g·x̂      dx = γ/√(σ²+eps) · (g - Σ g / M - x̂ · Σ g·x̂ / M)    (training)
#                                  dx = γ/√(σ²+eps) · g                               (eval: μ, σ² constant)


def _bn_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _per_channel(v, ndim):
    """A (C,) vector shaped to broadcast against (N, C, ...)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_sums(a, b=None):
    """Σ a (or Σ a·b) per channel of (N, C, ...) arrays, as (C,): einsum over the flattened
    spatial axis is one pass without temporaries (measured ~2× faster than add.reduce over axes (0, 2, 3))."""
    a3 = a.reshape(a.shape[0], a.shape[1], -1)
    if b is None:
        return np.einsum("nci->c", a3)
    return np.einsum("nci,nci->c", a3, b.reshape(a3.shape))


def _batch_norm(x, *wb, training=False, running_mean=None, running_var=None, momentum=0.1, eps=1e-5,
                affine=(False, False)):
    nd = x.ndim
    if training:
        m = x.size // x.shape[1]
        mean = _channel_sums(x) / m
        centred = x - _per_channel(mean.astype(x.dtype, copy=False), nd)
        var = _channel_sums(centred, centred) / m  # biased: normalises
        if running_mean is not None:  # in place, as PyTorch: (1 - momentum)·running + momentum·batch
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (m / (m - 1))  # unbiased
    else:
        var = running_var
        centred = x - _per_channel(running_mean.astype(x.dtype, copy=False), nd)
    invstd = _per_channel((1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False), nd)
    xhat = centred
    xhat *= invstd  # in place: centred is not needed any more
    wb = list(wb)
    if not affine[0] and not affine[1]:
        return xhat.copy(), (xhat, invstd)
    out = xhat * _per_channel(wb.pop(0), nd) if affine[0] else xhat.copy()
    if affine[1]:
        out += _per_channel(wb.pop(0), nd)
    return out, (xhat, invstd)


def _batch_norm_grad(g, out, x, *wb, training=False, running_mean=None, running_var=None, momentum=0.1,
                     eps=1e-5, affine=(False, False), saved=None):
    axes, nd = _bn_axes(len(shape(x))), len(shape(x))
    m = math.prod(shape(x)) // shape(x)[1]
    if saved is not None:
        xhat, invstd = saved
    elif training:  # recompute (on Values with create_graph=True: every step recorded)
        mean = sum_(x, axis=axes, keepdims=True) / m
        centred = x - mean
        invstd = (sum_(centred * centred, axis=axes, keepdims=True) / m + eps) ** -0.5
        xhat = centred * invstd
    else:
        invstd = _per_channel(1.0 / np.sqrt(running_var + eps), nd).astype(np.dtype(data(x).dtype), copy=False)
        xhat = (x - _per_channel(running_mean, nd).astype(np.dtype(data(x).dtype), copy=False)) * invstd
    w = wb[0] if affine[0] else None
    if saved is not None and type(g) is np.ndarray:  # the first-order path: fewer passes over the batch
        gb, gw = _channel_sums(g).astype(g.dtype, copy=False), _channel_sums(g, xhat).astype(g.dtype, copy=False)
        scale = invstd if w is None else invstd * _per_channel(w, nd)
        if training:  # Σ(g·γ) = γ·dβ and Σ(g·γ·x̂) = γ·dγ: the sums above, reused
            gx = xhat * _per_channel(gw / -m, nd)
            gx += g
            gx -= _per_channel(gb / m, nd)
            gx *= scale
        else:
            gx = g * scale
        return (gx,) + ((gw,) if affine[0] else ()) + ((gb,) if affine[1] else ())
    gw = sum_(g * xhat, axis=axes) if affine[0] else None
    gb = sum_(g, axis=axes) if affine[1] else None
    gy = g if w is None else g * reshape(w, (1, -1) + (1,) * (nd - 2))
    if training:
        sum_g = sum_(gy, axis=axes, keepdims=True)
        sum_gx = sum_(gy * xhat, axis=axes, keepdims=True)
        gx = (gy - sum_g / m - xhat * (sum_gx / m)) * invstd
    else:
        gx = gy * invstd
    return (gx,) + ((gw,) if affine[0] else ()) + ((gb,) if affine[1] else ())


defop("batch_norm", _batch_norm, _batch_norm_grad, "batch norm",
      ("γ/√(σ²+eps) · (g - mean(g) - x̂·mean(g·x̂)) (eval: γ/√(σ²+eps) · g)", "Σ g·x̂ per channel",
       "Σ g per channel"),
      elementwise=False, saves=True,
      doc="(x - μ) / √(σ² + eps) · γ + β per channel (axis 1): batch statistics when training, running ones in eval")


def _batch_norm_args(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
                     eps=1e-5):
    from ..value import const
    x = const(x)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expects an input of shape (N, C) or (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    stats = []
    for name, v in (("running_mean", running_mean), ("running_var", running_var)):
        if v is not None:
            v = v.data if hasattr(v, "data") and not isinstance(v, np.ndarray) else v
            if not isinstance(v, np.ndarray) or v.shape != (c,):
                raise ShapeError(f"batch_norm: {name} must be a numpy array of shape ({c},) for an input of shape "
                                 f"{x.shape}, got {getattr(v, 'shape', type(v).__name__)}")
        stats.append(v)
    if not training and (stats[0] is None or stats[1] is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    from ..mode import MODE
    if training and (stats[0] is not None or stats[1] is not None) and MODE.capture is not None:
        raise NotImplementedError("jit: batch_norm in training mode updates its running statistics in place, "
                                  "which a replayed step would not do; train this model without jit (a jitted "
                                  "evaluation in eval mode, model.eval(), is fine)")
    if training and x.size // c <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {x.shape}")
    inputs = [x]
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None:
            v = const(v)
            if v.shape != (c,):
                raise ShapeError(f"batch_norm: {name} of shape {v.shape} does not fit an input of shape {x.shape}; "
                                 f"it must be ({c},), one number per channel")
            inputs.append(v)
    return tuple(inputs), {"training": bool(training), "running_mean": stats[0], "running_var": stats[1],
                           "momentum": float(momentum), "eps": float(eps),
                           "affine": (weight is not None, bias is not None)}


expose("batch_norm", function=True, args=_batch_norm_args)


# ---- layer norm (over the last axes, per example) -----------------------------------------
# (the sequence family: transformers)


def _layer_axes(x, k):
    return tuple(range(np.ndim(data(x)) - k, np.ndim(data(x))))


_ONES = {}  # (n, dtype) -> np.ones(n, dtype)


def _ones(n, dtype):
    ones = _ONES.get((n, dtype))
    if ones is None:
        ones = _ONES[n, dtype] = np.ones(n, dtype)
    return ones


# The sums over each row's n features are matrix-vector products (rows @ ones, rows @ w): numpy's
# mean or reduce over a short last axis loops per row (2048 rows of 64 float32: 27-31 µs, a product
# 5 µs). Measured on the demo's (32, 32, 64) float32, one thread: forward 181 -> 113 µs, backward
# 244 -> 145 µs (the weight's and bias's sums over the rows included, which the engine did before).


def _layer_norm(x, *params, k=1, eps=1e-5, affine=""):
    """(x̂·w + b, (x̂, rstd)) with x̂ = (x - mean) / √(var + eps) over the last k axes."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim > k and all(p.dtype == x.dtype for p in params):
        n = int(np.prod(x.shape[x.ndim - k:]))
        rows = x.reshape(-1, n)
        ones = _ones(n, x.dtype)
        xhat = rows - (rows @ ones * (1.0 / n))[:, None]
        var = (xhat * xhat) @ ones
        var *= 1.0 / n
        var += eps
        rstd = np.sqrt(var, out=var)
        np.divide(1.0, rstd, out=rstd)
        xhat *= rstd[:, None]
        out = xhat * params[0].reshape(n) if "w" in affine else xhat.copy() if affine else xhat
        if "b" in affine:
            out += params[-1].reshape(n)
        lead = x.shape[:x.ndim - k]
        return out.reshape(x.shape), (xhat.reshape(x.shape), rstd.reshape(lead + (1,) * k))
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


def _layer_norm_grad_arrays(g, x, params, k, affine, xhat, rstd):
    """The rule below on arrays, its sums as matrix-vector products: over each row's n features
    (Σ g·w = g @ w, Σ g·w·x̂ = (g·x̂) @ w) and, for the weight and bias, over the rows."""
    n = int(np.prod(x.shape[x.ndim - k:]))
    g2, xh = g.reshape(-1, n), xhat.reshape(-1, n)
    gx = g2 * xh  # g·x̂: the weight's gradient, row by row
    w = params[0].reshape(n) if "w" in affine else _ones(n, g.dtype)
    mean_gh = g2 @ w
    mean_gh *= 1.0 / n
    mean_ghx = gx @ w
    mean_ghx *= 1.0 / n
    dx = g2 * w if "w" in affine else g2.copy()  # ĝ = g·w
    dx -= mean_gh[:, None]
    dx -= xh * mean_ghx[:, None]
    dx *= rstd.reshape(-1, 1)
    grads = [dx.reshape(x.shape)]
    rows = np.ones(g2.shape[0], g.dtype)  # (not cached: one per batch size)
    if "w" in affine:
        grads.append((rows @ gx).reshape(params[0].shape))
    if "b" in affine:
        grads.append((rows @ g2).reshape(params[-1].shape))
    return tuple(grads)


def _layer_norm_grad(g, out, x, *params, k=1, eps=1e-5, affine="", saved=None):
    from . import sum_
    if saved is not None and type(g) is np.ndarray and g.dtype == x.dtype and g.flags.c_contiguous \
            and all(p.dtype == g.dtype for p in params):
        return _layer_norm_grad_arrays(g, x, params, k, affine, *saved)
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
