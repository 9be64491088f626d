"""Finite-difference check of analytic gradients."""
from __future__ import annotations

import numpy as np

from .engine import grad
from .value import Value


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Compare grad(fn(*inputs)) with central differences, element by element.

    `fn` returns a Value (reduced with .sum() if it is not a scalar). On mismatch
    raises GradcheckError naming the input, the worst element, analytic vs numeric.
    """
    inputs = [x if isinstance(x, Value) else Value(x) for x in inputs]

    def scalar_out():
        out = fn(*inputs)
        return out if out.size == 1 else out.sum()

    analytic = [np.asarray(0.0 if g is None else g.data, dtype=np.float64)
                for g in grad(scalar_out(), inputs, allow_unused=True)]
    for k, x in enumerate(inputs):
        original = x.data
        flat = np.array(original, dtype=np.float64).reshape(-1)

        def f_at(i, delta):
            bumped = flat.copy()
            bumped[i] += delta
            # numeric side in float64 even for float32 inputs (a 1e-6 step vanishes in float32)
            x.data = float(bumped[0]) if type(original) is float else bumped.reshape(original.shape)
            return float(np.sum(fn(*inputs).data))

        try:
            numeric = np.array([(f_at(i, eps) - f_at(i, -eps)) / (2 * eps) for i in range(flat.size)])
        finally:
            x.data = original
        a = analytic[k].reshape(-1) if analytic[k].ndim else np.full(flat.size, float(analytic[k]))
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(err > 0) or not np.all(np.isfinite(a) == np.isfinite(numeric)):
            worst = int(np.argmax(np.where(np.isfinite(err), err, np.inf)))
            index = tuple(int(i) for i in np.unravel_index(worst, np.shape(original))) if np.ndim(original) else ()
            raise GradcheckError(
                f"gradient mismatch for input #{k} ({x.label or 'unnamed'}, shape {np.shape(original)}) "
                f"at index {index}: analytic {a[worst]:.8g} vs numeric {numeric[worst]:.8g} "
                f"(atol={atol}, rtol={rtol})")
    return True
