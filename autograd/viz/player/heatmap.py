"""Tensors as small pictures: the numbers a heatmap in the player page is drawn from.

A matrix (H, W), an image (C, H, W) or a batch of images (N, C, H, W) is embedded
once, as a few samples and channels of at most `MAX_SIDE` × `MAX_SIDE` values
(larger sides are strided, and the page says so), rounded to 4 significant digits.
The page script paints it on a canvas: one small image per channel, one row per
sample, with a colour scale (blue negative, white 0, red positive, symmetric in |v|).

>>> import numpy as np
>>> h = heat(np.arange(6.0).reshape(2, 3))
>>> h["shape"], h["grid"], h["v"]
([2, 3], [1, 1, 2, 3], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
"""
from __future__ import annotations

import numpy as np

MAX_SAMPLES = 4    # first samples of a batch of images
MAX_CHANNELS = 8   # first channels of each
MAX_SIDE = 32      # rows and columns of one image (strided beyond): at most 32,768 values an array
MAX_TOTAL = 1_000_000  # values of all heatmaps of one page (~7 MB of JSON); later ones are left out


def heat(a) -> dict | None:
    """{"shape": full shape, "grid": [samples, channels, rows, cols], "v": values row-major,
    "step": [row stride, col stride], "cut": what was left out, "absmax": the largest finite |value| of
    the whole array (the colour scale)} for a 2-, 3- or 4-D array, else None."""
    a = np.asarray(a)
    if a.ndim not in (2, 3, 4) or a.size == 0 or not np.issubdtype(a.dtype, np.number):
        return None
    full = a.reshape((1,) * (4 - a.ndim) + a.shape)
    n, c, h, w = full.shape
    rs, cs = -(-h // MAX_SIDE), -(-w // MAX_SIDE)
    part = full[:MAX_SAMPLES, :MAX_CHANNELS, ::rs, ::cs].astype(np.float64)
    cut = []
    if n > MAX_SAMPLES:
        cut.append(f"first {MAX_SAMPLES} of {n} samples")
    if c > MAX_CHANNELS:
        cut.append(f"first {MAX_CHANNELS} of {c} channels")
    if rs > 1 and cs > 1:
        cut.append(f"every {_nth(rs)} row, {_nth(cs)} column" if rs != cs else f"every {_nth(rs)} row and column")
    elif rs > 1 or cs > 1:
        cut.append(f"every {_nth(rs)} row" if rs > 1 else f"every {_nth(cs)} column")
    values = np.where(np.isfinite(part), part, 0.0)
    rounded = [float(f"{v:.4g}") for v in values.ravel().tolist()]
    finite = np.abs(full[np.isfinite(full)])  # the scale covers the whole tensor, not only the values shown
    return {"shape": list(a.shape), "grid": list(part.shape), "v": rounded, "step": [rs, cs],
            "cut": ", ".join(cut), "absmax": float(f"{finite.max():.4g}") if finite.size else 0.0}


def _nth(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


class Arrays:
    """The heatmaps of one page, each stored once: `add` returns its number in `.items`."""

    def __init__(self, budget: int = MAX_TOTAL):
        self.items: list = []
        self._seen: dict = {}
        self.budget = budget  # values still allowed

    def add(self, a) -> int | None:
        key = id(a)
        if key in self._seen and self._seen[key][0] is a:
            return self._seen[key][1]
        made = heat(a)
        if made is None or len(made["v"]) > self.budget:
            return None
        self.budget -= len(made["v"])
        self.items.append(made)
        self._seen[key] = (a, len(self.items) - 1)
        return len(self.items) - 1
