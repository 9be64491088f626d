"""Watch autograd work: graph drawings and a step-by-step backprop player.

One subpackage per picture: `graph/` draws a Value's graph, `player/` records a backward
pass and plays it step by step, `training/` shows many training steps, `cli/` is the
command line (`python -m autograd.viz`).

>>> from autograd import Value
>>> from autograd.viz import draw, player
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> L = (x * w).tanh(); L.backward()
>>> graph = draw(L)       # graphviz Digraph: inline in Jupyter, .render("g.svg")
>>> page = player(L)      # one self-contained HTML file: page.save("backprop.html")

`render` is the rendering module (`render.pipe`, `render.render`, `render.find_dot`):
it works with a system Graphviz `dot` or, without one, with the pip package graphviz-pure.

Training views: `network_view(model)` draws neurons and weights, `TrainingRecorder` keeps
losses, gradient norms and weight snapshots, `training_player(recorder, X, y)` plays them.
"""
from .graph import Digraph, GraphTooLargeError, RenderError, draw, pipe, render
from .player import Player, Recording, player, preview, record, save_frames, save_gif, save_player
from .training import (TrainingPlayer, TrainingRecorder, decision_grid, network_view, plot_decision_boundary,
                       plot_grad_norms, plot_gradient_flow, plot_loss, plot_update_ratios, save_figure,
                       save_training_player, training_player)

__all__ = ["draw", "record", "Recording", "player", "Player", "save_player", "save_frames",
           "save_gif", "render", "pipe", "preview", "Digraph", "RenderError", "GraphTooLargeError",
           "network_view", "TrainingRecorder", "TrainingPlayer", "training_player", "save_training_player",
           "plot_loss", "plot_grad_norms", "plot_update_ratios", "plot_gradient_flow", "plot_decision_boundary",
           "decision_grid", "save_figure"]
