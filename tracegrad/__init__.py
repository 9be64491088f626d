"""tracegrad: an autograd engine you can watch, for scalars and numpy tensors. Import it from here.

>>> from tracegrad import Value, grad, no_grad, nn, viz
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> y = (x * w).tanh(); y.backward()
>>> graph = viz.draw(y)          # graphviz drawing: inline in Jupyter, graph.render("g.svg")
>>> page = viz.player(y)         # step-by-step backprop player: page.save("backprop.html")

`tracegrad.nn` is the `nn` package and `tracegrad.viz` is `autograd.viz` (the same module
objects). The code lives in the top-level packages `autograd` and `nn`; this package
imports their submodules only, never `autograd/__init__.py`, which HIPS autograd (PyPI's
`autograd`) also installs: with HIPS installed, either order, `tracegrad` keeps working and
a UserWarning names the clash (see `autograd.clash`).
"""
__version__ = "0.1.0"

import pathlib as _pathlib  # noqa: E402
import sys as _sys  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from autograd.value import ShapeError, Value  # noqa: E402,I001
from autograd.engine import backprop, grad, topological_order  # noqa: E402
from autograd.functional import GENERATED, concat, linear, neuron, stack, where  # noqa: E402
from autograd.gradcheck import GradcheckError, gradcheck  # noqa: E402
from autograd.mode import AnomalyError, detect_anomaly, enable_grad, is_grad_enabled, no_grad  # noqa: E402
from autograd.ops import OPS, Op  # noqa: E402
from autograd.jit import Jit, JitError, JitWarning, jit, replayable  # noqa: E402
import autograd.functional as _functional  # noqa: E402
import autograd.viz as viz  # noqa: E402
import nn  # noqa: E402
from autograd import clash as _clash  # noqa: E402

__all__ = [
    "Value", "ShapeError", "grad", "backprop", "topological_order", "no_grad", "enable_grad",
    "is_grad_enabled", "detect_anomaly", "AnomalyError", "gradcheck", "GradcheckError",
    "concat", "stack", "where", "neuron", "linear", "OPS", "Op",
    "jit", "Jit", "JitError", "JitWarning", "replayable", "nn", "viz", "__version__",
]
# one function per op-table binding that names one (softmax, logsumexp, ...), as in autograd/__init__
globals().update({_name: getattr(_functional, _name) for _name in GENERATED})
__all__ += GENERATED

# From a checkout (not an install) the repo's demos/ is tracegrad.demos too, as in the wheel
_here = _pathlib.Path(__file__).resolve().parent
if not (_here / "demos").is_dir() and (_here.parent / "demos" / "__init__.py").is_file() \
        and (_here.parent / "pyproject.toml").is_file():
    __path__.append(str(_here.parent))  # noqa: F821  (a package's __path__)

# `import tracegrad.nn`, `from tracegrad.viz import draw` work too, and give the same modules
_sys.modules.setdefault(__name__ + ".nn", nn)
_sys.modules.setdefault(__name__ + ".viz", viz)

_clash.warn_if_shared(stacklevel=2)

if TYPE_CHECKING:  # for type checkers: the generated functions above (softmax, logsumexp, ...)
    from typing import Callable

    def __getattr__(name: str) -> Callable[..., Value]: ...
