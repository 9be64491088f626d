"""Which BLAS numpy runs on, for the one choice that depends on it: the memory order of
nn.Layer's weight (`weight_order`).

A weight of PyTorch's shape (out, in) can be stored row-major (PyTorch's own layout) or
column-major (the memory of an (in, out) kernel: x @ Wᵀ is then BLAS's untransposed product).
Which is faster depends on the BLAS kernels, not on the math:

* OpenBLAS's AVX-512 kernel families (SkylakeX, Cooperlake, SapphireRapids: the ones it runs on
  Intel's AVX-512 cores, and on AMD's Zen 4) have "direct" and small-matrix kernels that take small
  untransposed products on one thread without packing: on an Intel machine column-major weights
  made the digits step ~0.8x as long at batch 32 (float32 (32, 128) @ (128, 128): 16.8 -> 7.5 us,
  and no second BLAS thread left spinning).
* Elsewhere (its Haswell/Zen kernels; MKL; Accelerate) both layouts take the same packed path, and
  the column-major one only adds the copies and odd-layout products of the backward: on an AMD EPYC
  Zen 5 whose environment sets OPENBLAS_CORETYPE=Haswell (without it OpenBLAS 0.3.31 picks SkylakeX
  there), on those Haswell kernels, float64 batch 32, the
  plain loop 1.33 -> 1.21x and the jitted step 1.01 -> 0.95x hand-written numpy with row-major
  weights; batch 256 within 2% (benchmarks/layout.py parts 1-3 on either kind of machine).

So the weight is column-major only on the first kind. The choice is made once per process from the
kernel name OpenBLAS reports, never from a timing, so a machine with a given OpenBLAS always gets the
same layout and the same bits (an OpenBLAS that learns a new core may move it to the other family:
the layout follows); TRACEGRAD_WEIGHT_ORDER=F or C overrides it. Every rule works on either layout
(a weight a user assigns keeps whatever layout it has); only the speed differs.
"""
from __future__ import annotations

import functools
import os

# OpenBLAS kernel families with small-matrix/direct GEMM kernels for small untransposed products
SMALL_KERNEL_CORES = frozenset(("skylakex", "cooperlake", "sapphirerapids"))
_CORENAME_SYMBOLS = ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename64_", "openblas_get_corename")


@functools.cache
def openblas_core() -> str | None:
    """The kernel family numpy's OpenBLAS runs ('Haswell', 'SkylakeX', ...), or None when numpy's
    BLAS is not an OpenBLAS this can find (found in numpy's wheel folder or the process's maps).
    Never raises: nn.Layer asks it for every new weight's layout, which must not fail over a speed choice."""
    try:
        return _openblas_core()
    except Exception:  # no ctypes, an odd library path or name: no OpenBLAS found, row-major weights
        return None


def _openblas_core() -> str | None:
    import ctypes
    import glob

    import numpy as np

    folder = os.path.dirname(os.path.dirname(np.__file__))
    paths = glob.glob(os.path.join(folder, "numpy.libs", "*openblas*"))
    if not paths:  # a numpy built against a system OpenBLAS: the library this process has loaded
        try:  # (by path: Debian's is .../openblas-pthread/libblas.so.3)
            with open("/proc/self/maps") as maps:
                paths = sorted({line.split()[-1] for line in maps if "openblas" in line and ".so" in line})
        except OSError:
            return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in _CORENAME_SYMBOLS:
            corename = getattr(lib, symbol, None)
            if corename is not None:
                corename.restype = ctypes.c_char_p
                name = corename()
                return name.decode(errors="replace") if name else None
    return None


def order_for_core(core: str | None) -> str:
    """'F' (column-major) for an OpenBLAS kernel family with small-matrix kernels, else 'C'."""
    return "F" if core is not None and core.lower() in SMALL_KERNEL_CORES else "C"


@functools.cache
def weight_order() -> str:
    """'F' or 'C': the memory order nn.Layer stores a new weight in (see the module's docstring)."""
    chosen = os.environ.get("TRACEGRAD_WEIGHT_ORDER", "").strip().upper()
    if chosen in ("F", "C"):
        return chosen
    if chosen:
        raise ValueError(f"TRACEGRAD_WEIGHT_ORDER={chosen!r}: use F (column-major weights) or C (row-major), "
                         "or leave it unset to choose by numpy's BLAS")
    return order_for_core(openblas_core())
