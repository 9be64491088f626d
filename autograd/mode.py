"""Per-thread recording switches: `no_grad()` and `detect_anomaly()`."""
from __future__ import annotations

import functools
import os
import sys
import threading
from contextlib import contextmanager

import numpy as np


class _Mode(threading.local):
    grad_enabled = True
    anomaly = False
    capture = None  # a list while jit captures a call: backward() and @replayable calls note themselves


MODE = _Mode()
# How many no_grad()/enable_grad()/detect_anomaly() blocks and jit captures are open, in all threads
# together. While none is, every thread has the default mode, and the op path (value._record) skips two
# thread-local reads (~0.15 us each, a tenth of a scalar op), a training step four more.
ALTERED = [0]
_ALTERING = threading.Lock()


@contextmanager
def _altered(key: str, value: bool):
    """MODE.<key> = value for this thread inside the block, counted in ALTERED."""
    with _ALTERING:
        ALTERED[0] += 1
    before = getattr(MODE, key)
    setattr(MODE, key, value)
    try:
        yield
    finally:
        setattr(MODE, key, before)
        with _ALTERING:
            ALTERED[0] -= 1


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@contextmanager
def no_grad():
    """Run ops without recording them (results are leaves with requires_grad=False).

    >>> with no_grad():
    ...     w.data -= 0.1 * w.grad  # doctest: +SKIP
    """
    with _altered("grad_enabled", False):
        yield


@contextmanager
def enable_grad():
    """Turn recording back on inside a `no_grad()` block."""
    with _altered("grad_enabled", True):
        yield


@contextmanager
def noting(events: list):
    """MODE.capture = events inside the block (autograd.jit's capture of a call), counted in ALTERED."""
    with _altered("capture", events):
        yield


def replayable(method):
    """Mark a method whose effect a jitted function must repeat on every replay (an optimizer's
    `step` and `zero_grad`, a schedule's `step`, `Module.zero_grad`): called while `jit` captures
    a function, the call is noted (see autograd.jit.replay)."""
    @functools.wraps(method)
    def noted(self, *args, **kwargs):
        if ALTERED[0] and MODE.capture is not None:  # (no thread-local read outside a jit capture)
            MODE.capture.append(("call", functools.partial(method, self, *args, **kwargs)))
        # (without arguments a plain call: * and ** unpacking of empty ones costs ~50 ns, twice a training step)
        return method(self, *args, **kwargs) if args or kwargs else method(self)
    noted.replayable = True
    return noted


def is_grad_enabled() -> bool:
    return MODE.grad_enabled


class AnomalyError(FloatingPointError):
    """An op produced NaN or inf while `detect_anomaly()` was active."""


@contextmanager
def detect_anomaly():
    """Raise at the first op whose forward result or backward gradient is NaN/inf.

    The error names the op, the node's label and the file:line that created the node
    (recorded for nodes built inside this context).
    """
    with _altered("anomaly", True):
        yield


def caller_site() -> str:
    """file:line of the nearest frame outside the autograd package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def check_finite(x, what: str) -> None:
    """Raise AnomalyError(what) if x holds a NaN or an inf."""
    if not np.all(np.isfinite(x)):
        kind = "NaN" if np.any(np.isnan(x)) else "inf"
        raise AnomalyError(f"{kind} {what}")
