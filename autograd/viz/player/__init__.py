"""The backprop player: every step of a backward pass, on one layout, as one HTML page.

    steps.py     the recorder: a Value's backward pass as a list of steps
    explain.py   the step text: node names, formulas filled with numbers
    page.py      the layout and the self-contained HTML player (`player`, `Player`)
    template.py  the player page's HTML and CSS
    script.py    its script: frames, step text, inspector, heatmaps, a view that follows the step
    heatmap.py   matrices and images as the numbers the page paints (embedded once)
    frames.py    the same steps as SVG/PNG frames
    gif.py       the frames as an animated GIF
"""
from .explain import preview
from .frames import save_frames, save_gif
from .page import Layout, Player, layout, player, save_player
from .steps import Recording, record

__all__ = ["record", "Recording", "preview", "player", "Player", "save_player", "layout", "Layout",
           "save_frames", "save_gif"]
