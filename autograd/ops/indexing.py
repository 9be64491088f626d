"""Gathering and scattering: gather, scatter_add, masked_fill, one_hot, nonzero, masked_select; einsum."""
from __future__ import annotations

import numpy as np  # noqa: F401

from . import call, data, defop, shape  # noqa: F401
