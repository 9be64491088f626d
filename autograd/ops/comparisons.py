"""Comparisons and tests: == != < <= > >=, isclose, isinf, isnan, logical ops. Their results are boolean masks, never recorded and never requiring grad."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
