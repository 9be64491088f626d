"""Dropout: zero each element with probability p and scale the rest by 1/(1-p), one node."""
from __future__ import annotations

import numpy as np

from . import defop, expose

# The mask is drawn when the op is called (training=True) and kept on the node as an attribute,
# so the backward lets the gradient through exactly where the forward let the values through:
#   out = x · mask / (1 - p),   dx = g · mask / (1 - p)


def _dropout(x, mask, p):
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return x * (mask * np.asarray(scale, dtype=x.dtype))


def _dropout_grad(g, out, x, mask, p):
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return (g * (mask * np.asarray(scale, dtype=np.dtype(getattr(g, "dtype", np.float64)))),)


defop("dropout", _dropout, _dropout_grad, "dropout", ("mask / (1 - p)",), elementwise=False,
      doc="x · mask / (1 - p), mask[i] = 0 with probability p (training only; eval returns x)")

_RNG = np.random.default_rng()  # the default when no generator is given (like torch's global one)


def _dropout_args(x, p=0.5, training=True, generator=None):
    from ..value import const
    x = const(x)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    rng = generator if isinstance(generator, np.random.Generator) else (
        _RNG if generator is None else np.random.default_rng(generator))
    from ..mode import MODE
    if training and p > 0 and MODE.capture is not None:
        raise NotImplementedError("jit: dropout draws a new mask on every call, but a replayed step would reuse "
                                  "the first one; train this model without jit (or call model.eval() first)")
    mask = (rng.random(x.shape) >= p) if training else np.ones(x.shape, dtype=bool)
    return (x,), {"mask": mask, "p": float(p) if training else 0.0}


expose("dropout", function=True, args=_dropout_args)
