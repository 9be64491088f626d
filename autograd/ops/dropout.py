"""Dropout: zero each element with probability p and scale the rest by 1/(1-p), one node."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
