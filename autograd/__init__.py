"""tracegrad's autograd: a `Value` (scalar or numpy tensor) that records every op,
and reverse-mode differentiation over the recorded graph.

>>> from autograd import Value
>>> x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.88, label="b")
>>> y = (x * w + b).tanh(); y.backward()
"""
from .value import ShapeError, Value  # noqa: I001  (value first: value, ops, engine import each other)
from .engine import backprop, grad, topological_order
from .functional import GENERATED, concat, linear, neuron, stack, where
from . import functional as _functional
from .gradcheck import GradcheckError, gradcheck
from .mode import AnomalyError, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .ops import OPS, Op
from .jit import Jit, JitError, JitWarning, jit, replayable

__all__ = [
    "Value", "ShapeError", "grad", "backprop", "topological_order", "no_grad", "enable_grad",
    "is_grad_enabled", "detect_anomaly", "AnomalyError", "gradcheck", "GradcheckError",
    "concat", "stack", "where", "neuron", "linear", "OPS", "Op",
    "jit", "Jit", "JitError", "JitWarning", "replayable",
]
# one function per op-table binding that names one (softmax, logsumexp, ...: autograd.ops.expose)
globals().update({name: getattr(_functional, name) for name in GENERATED})
__all__ += GENERATED

# HIPS autograd installed into this same folder (it overwrote, or was overwritten by, this file):
# its code does `from autograd import grad`, so its names win here; tracegrad's are in `tracegrad`.
from . import clash as _clash  # noqa: E402
if _clash.hips_beside():
    globals().update(_clash.hips_namespace())
    _clash.warn_if_shared(stacklevel=2)
