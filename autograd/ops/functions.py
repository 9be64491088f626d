"""Elementwise math functions: trigonometric and hyperbolic, erf, logs and exponentials in other bases, rounding, clamping and pairwise extremes."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
