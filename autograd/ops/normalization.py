"""Normalisation layers as one readable node each: batch_norm (vision) and layer_norm (sequence)."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401

# ---- batch norm (over the batch and spatial axes, per channel) ---------------------------
# (the vision family: conv nets)


# ---- layer norm (over the last axes, per example) -----------------------------------------
# (the sequence family: transformers)
