"""Sorting and scans: sort, topk, argmax/argmin, cumsum, cumprod, cummax/cummin, logcumsumexp."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
