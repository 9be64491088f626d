"""What the two offline HTML pages (the backprop player, the training player) share."""
from __future__ import annotations

import re


def fill(template: str, parts: dict) -> str:
    """Replace every marker of `parts` in one pass, so inserted text (an SVG, JSON data) is never
    scanned again and can never be taken for a marker."""
    return re.sub("|".join(map(re.escape, parts)), lambda m: parts[m.group(0)], template)
