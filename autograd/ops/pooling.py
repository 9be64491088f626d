"""Pooling over images (NCHW): max_pool2d, avg_pool2d, adaptive_avg_pool2d."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
