"""Detects HIPS `autograd` sharing the top-level name `autograd` with tracegrad, and says what to do.

PyPI's `autograd` distribution (HIPS autograd) installs into the same site-packages
folder `autograd/`. Only `autograd/__init__.py` is in both, so tracegrad never imports
it for itself (every internal import names a submodule) and `tracegrad` is the way in.
When HIPS is present, `autograd`'s top-level names are HIPS's whichever was installed
last (HIPS code does `from autograd import grad`), and a warning says so once.
"""
from __future__ import annotations

import importlib.metadata
import os
import warnings

# a file of HIPS autograd beside autograd/__init__.py (tracegrad has no module of that name)
HIPS_MARKER = "differential_operators.py"
# HIPS's own autograd/__init__.py, as of HIPS autograd 1.7-1.9
HIPS_NAMES = ("checkpoint", "deriv", "elementwise_grad", "grad", "grad_and_aux", "grad_named", "hessian",
              "hessian_tensor_product", "hessian_vector_product", "holomorphic_grad", "jacobian", "make_ggnvp",
              "make_hvp", "make_jvp", "make_vjp", "multigrad_dict", "tensor_jacobian_product", "value_and_grad",
              "vector_jacobian_product")

_warned = False


def hips_beside() -> bool:
    """True when HIPS autograd's files share this `autograd/` folder."""
    return os.path.exists(os.path.join(os.path.dirname(__file__), HIPS_MARKER))


def sharing_distributions() -> list[str]:
    """Installed distributions other than tracegrad that provide a top-level `autograd` package."""
    try:
        owners = importlib.metadata.packages_distributions().get("autograd", [])
    except Exception:  # a broken distribution's metadata must not stop the import
        owners = []
    return sorted({name for name in owners if name.lower() != "tracegrad"})


def message(owners) -> str:
    names = ", ".join(repr(name) for name in owners) or "'autograd'"
    return (f"tracegrad: HIPS autograd (pip distribution {names}) is installed too and shares the top-level "
            "`autograd` package with tracegrad (both install autograd/__init__.py), so `from autograd import "
            "grad` is HIPS's grad and uninstalling either deletes the other's autograd/__init__.py. "
            "Way out: import tracegrad from `tracegrad` (from tracegrad import Value, grad, nn, viz); "
            "HIPS code keeps working; after uninstalling either, reinstall the other with "
            "`pip install --force-reinstall --no-deps NAME`.")


def warn_if_shared(stacklevel: int = 3) -> bool:
    """Warn once (UserWarning) when another distribution provides `autograd`; True when it does."""
    global _warned
    owners = sharing_distributions()
    if not owners and hips_beside():
        owners = ["autograd"]
    if owners and not _warned:
        _warned = True
        warnings.warn(message(owners), UserWarning, stacklevel=stacklevel)
    return bool(owners)


def hips_namespace() -> dict:
    """HIPS autograd's public names (what its autograd/__init__.py exports), or {} without HIPS."""
    if not hips_beside():
        return {}
    from . import builtins as hips_builtins  # noqa: F401  (HIPS's modules, in this same folder)
    from . import core as hips_core
    from . import differential_operators as hips_ops

    names = {name: getattr(hips_ops, name) for name in HIPS_NAMES if hasattr(hips_ops, name)}
    names.update({name: getattr(hips_builtins, name) for name in ("dict", "isinstance", "list", "tuple", "type")
                  if hasattr(hips_builtins, name)})
    names["primitive"] = hips_core.primitive_with_deprecation_warnings
    return names
