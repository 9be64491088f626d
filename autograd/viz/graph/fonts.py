"""The font metrics the drawings assume: DejaVu Sans, what most Linux systems render with.

Graphviz sizes a cell by its own idea of the font; a browser then draws the text with
whatever font it has. When the two disagree the text clips ("layers.0.weig"). So the
drawings name DejaVu Sans first (the widest of the common sans fonts: Helvetica, Arial and
Liberation Sans are narrower and fit too) and size every name cell from the advance
widths below, measured from DejaVu Sans 2.37 (DejaVuSans.ttf, DejaVuSans-Bold.ttf) in
thousandths of an em, so the cell fits whichever renderer lays it out.

>>> round(text_width("layers.0.weight", 12, bold=True), 1)
104.9
"""
from __future__ import annotations

# advance widths of ASCII 32..126 ("space" to "~"), 1/1000 em
_REGULAR = (318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
            636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
            770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
            684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
            634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
            525, 636, 337, 636, 838)
_BOLD = (348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
         696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830,
         683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103,
         771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343,
         665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365,
         712, 838)
# symbols the names and formulas use (regular, bold)
_SYMBOLS = {"·": (318, 380), "−": (838, 838), "ŷ": (592, 652), "²": (401, 438), "³": (401, 438),
            "Σ": (632, 683), "⊙": (838, 838), "∂": (517, 544), "ᵀ": (385, 430), "×": (838, 838),
            "…": (1000, 1000), "→": (838, 838)}
_OTHER = 1000  # any other character: a full em, so an unknown glyph never clips

SANS = "DejaVu Sans"
MONO_FAMILY = "DejaVu Sans Mono"
MONO_ADVANCE = 602  # every glyph of DejaVu Sans Mono (Liberation Mono, Courier: 600)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Points `text` takes in DejaVu Sans (Bold) at `size` points."""
    table = _BOLD if bold else _REGULAR
    total = 0
    for ch in str(text):
        code = ord(ch)
        if 32 <= code <= 126:
            total += table[code - 32]
        else:
            total += _SYMBOLS.get(ch, (_OTHER, _OTHER))[bold]
    return total * size / 1000
