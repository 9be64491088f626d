"""Sequence models: embedding lookup and scaled-dot-product attention."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
