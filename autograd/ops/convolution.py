"""Convolution over images (NCHW): conv2d, one node, forward and backward with numpy."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
