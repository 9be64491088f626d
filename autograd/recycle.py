"""Large result arrays recycled across training steps, once nothing holds them any more.

A plain training loop builds a new graph every step: a layer's output, its activation and their
gradients are fresh arrays, all alive until the step's graph goes, then freed together. Under
glibc's default malloc settings an array of 128 KiB or more is mmapped, or the heap grows for it
and shrinks back when the step frees a few MiB at once, and either way every page of it is
faulted in again, every step (the digits MLP at batch 256, float64: ~460 page faults a step,
+60% time). `empty(shape, dtype)` hands out such an array from a small pool instead, when the
pool has one whose only references are the pool's own: the graph that used it is gone, nobody
(no Value, no view, no user variable) can see it change. Small arrays are left to malloc.

Pooled arrays start on a cache line (autograd.alignment). Only results that are overwritten
whole use it (`linear`, `tanh` and their rules); the numbers are those of the same numpy calls
with `out=`.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from . import alignment

MIN_BYTES = 128 << 10  # glibc's default mmap threshold: smaller arrays come from malloc's free lists
MAX_BYTES = 32 << 20  # the most the pools keep, over all shapes (then arrays are plain np.empty)
MAX_PER_SHAPE = 16  # a step of the digits MLP uses 8 of one shape; more only scans longer (graphs kept alive)
_POOLS: dict = {}  # (shape, dtype, order) -> the arrays kept for that shape and layout
_KEPT = [0]  # bytes in the pools
_IDS: set = set()  # id() of every pooled array (kept alive by its pool, so no id is reused meanwhile)
_refs = sys.getrefcount


def _free_counts() -> tuple:
    """What `empty` and `is_pooled` read of a pooled array nobody else holds: (the array's count in
    empty's loop, its byte buffer's there, the buffer's in is_pooled) -- (3, 2, 3) on CPython
    3.10-3.13 -- measured once in their own ways, not assumed: an interpreter that borrows references
    for locals counts fewer, and must never see a held array as free (alignment.align_data does so too)."""
    pool = [alignment.empty(1, np.uint8)]
    for a in pool:
        free, free_buffer = _refs(a), _refs(a.base)
        base = a.base
        return free, free_buffer, _refs(base)


_FREE, _FREE_BUFFER, _ALONE_BUFFER = _free_counts()


def empty(shape: tuple, dtype, order: str = "C") -> np.ndarray:
    """np.empty(shape, dtype, order=order), from the pool when it holds such an array nobody else holds.

    Callers use it only for arrays of MIN_BYTES or more (see `big`)."""
    key = (shape, dtype, order)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = []
    for a in pool:
        # the pool's list, this loop's name, getrefcount's argument: no one else holds it; and its byte
        # buffer only it and getrefcount's argument: no view of it either (a view's .base is that buffer)
        if _refs(a) == _FREE and _refs(a.base) == _FREE_BUFFER:
            return a
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if len(pool) >= MAX_PER_SHAPE or _KEPT[0] + nbytes > MAX_BYTES:
        return np.empty(shape, dtype, order=order)  # (not kept: an array of its own, as a .grad may keep it)
    # on a cache line, unlike an mmapped np.empty (16 bytes past a page): the backward's products read
    # these (digits step at batch 256: float64 -30 us, float32 -11 us; see autograd.alignment)
    a = alignment.empty(shape, dtype, order)
    pool.append(a)
    _IDS.add(id(a))
    _KEPT[0] += nbytes
    return a


def is_pooled(a: np.ndarray) -> bool:
    """True when `a` is one of the pools' arrays and no view of it exists: a .grad may then keep it as it
    is (storing._own), since the pool hands it out again only once nothing holds it."""
    if id(a) not in _IDS:  # (a set, not a scan of the pools: storing asks it of every view it is given)
        return False
    base = a.base  # (its byte buffer: `a`'s .base, this name, getrefcount's argument, and no view's .base)
    return _refs(base) == _ALONE_BUFFER


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b (arrays), into a recycled array when both are 2-D of one dtype and the result is large."""
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] * b.shape[1] * a.itemsize >= MIN_BYTES and a.dtype == b.dtype:
        return np.matmul(a, b, out=empty((a.shape[0], b.shape[1]), a.dtype))
    return a @ b


def clear() -> None:
    """Let the pools go (their arrays are freed once nothing else holds them)."""
    _POOLS.clear()
    _IDS.clear()
    _KEPT[0] = 0
