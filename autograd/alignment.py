"""Arrays that start on a 64-byte cache line, for the weights a model keeps from step to step.

numpy takes an array's memory from malloc, which promises 16 bytes of alignment, so an array
starts at 0, 16, 32 or 48 bytes into a cache line by chance. The BLAS product kernels load
64-byte vectors (AVX-512); when the weight does not start on a line, every such load spans two
lines. Measured on this project's Intel machine (OpenBLAS SkylakeX kernels, one thread), a
layer's forward x @ Wᵀ with a column-major W: float32 (32, 128) @ (128, 128) 8.5 us with W on a
line, 10.7 us off it; float64 14.4 vs 19.4 us (the other operands' offsets: within 0.5 us).
The digits training step, its six parameters moved on a line (paired in one process, two
models per offset): float32 ~151 vs ~156 us, float64 ~228 vs ~241 us; and which of the four
offsets a model drew was, before, a part of its step's run-to-run spread. PyTorch's CPU
allocator aligns every tensor to 64 bytes too; autograd.jit's buffers (jit.kernels.Placer) were
already placed so.

nn.Module puts a parameter's array on a line when it is assigned and nobody else holds that
array (see Module.__setattr__), and Module.to() converts into such arrays; `load_state_dict`
copies into them in place. autograd.recycle's pooled arrays start on lines too (an mmapped
np.empty starts 16 bytes past a page); a step's small temporaries are left to malloc (a pool
for them made the digits step slower: malloc hands back the chunk just freed, still in cache).
With row-major weights (other BLAS kernels' layout) the step gains less: float64 ~-4 us, float32
none. Where an array starts never changes its numbers (tests/test_alignment.py).
"""
from __future__ import annotations

import math
import sys

import numpy as np

LINE = 64  # bytes: a cache line, and an AVX-512 vector


def is_aligned(a: np.ndarray) -> bool:
    return a.__array_interface__["data"][0] % LINE == 0


def empty(shape, dtype, order: str = "C", offset: int = 0, modulo: int = LINE) -> np.ndarray:
    """np.empty(shape, dtype, order=order), starting on a cache line: at `offset` bytes past a
    multiple of `modulo` (autograd.jit's Placer picks offsets within a 4 KiB page). A view into
    a slightly larger byte buffer: its .base is that buffer, held by nothing else."""
    dtype = np.dtype(dtype)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    size = math.prod(shape) * dtype.itemsize
    raw = np.empty(size + modulo, np.uint8)
    start = (offset - raw.__array_interface__["data"][0]) % modulo
    flat = raw[start:start + size].view(dtype)
    return flat.reshape(shape[::-1]).T if order == "F" else flat.reshape(shape)


def copy(a: np.ndarray, dtype=None) -> np.ndarray:
    """a's values (converted to `dtype`, if given) in an array of its own that starts on a cache
    line, in a's layout (a column-major array stays column-major, anything else is row-major)."""
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    out = empty(a.shape, a.dtype if dtype is None else dtype, order)
    np.copyto(out, a, casting="unsafe")
    return out


class _Holder:
    __slots__ = ("data",)


def _count_alone() -> int:
    """What getrefcount says, in align_data's own way, of an array only its holder holds: the attribute,
    the local name, getrefcount's argument (3 on CPython 3.10-3.13), measured once, not assumed (an
    interpreter that borrows references for locals may count fewer)."""
    holder = _Holder()
    holder.data = np.empty(1)
    a = holder.data
    return sys.getrefcount(a)


_ALONE = _count_alone()


def align_data(value) -> None:
    """Move value.data (a Value's array) onto a cache line, when it is off one and nobody else holds
    it (an array a user also holds must stay the very array they hold; a view shares memory)."""
    a = value.data
    if type(a) is not np.ndarray or not a.size or is_aligned(a) or a.base is not None or not a.flags.writeable:
        return  # (a read-only array stays read-only: left as it is)
    # value.data, the name `a`, getrefcount's argument: no one else (counted on a local, not on an
    # argument, so that it does not depend on how the interpreter passes arguments)
    if sys.getrefcount(a) == _ALONE:
        value.data = copy(a)
