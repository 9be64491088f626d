"""Training views: weights, losses and gradient flow over many steps.

    recorder.py  `TrainingRecorder`: losses, gradient norms and weight snapshots per step
    network.py   `network_view`: neurons and weights of a dense model as a drawing
    plots.py     matplotlib plots: loss, gradient norms, update ratios, decision boundary
    page.py      `training_player`: the snapshots as one HTML page
    template.py  that page's HTML, CSS and script
"""
from .network import network_view
from .page import TrainingPlayer, save_training_player, training_player
from .plots import (decision_grid, plot_decision_boundary, plot_grad_norms, plot_gradient_flow, plot_loss,
                    plot_update_ratios, save_figure)
from .recorder import TrainingRecorder

__all__ = ["TrainingRecorder", "network_view", "TrainingPlayer", "training_player", "save_training_player",
           "plot_loss", "plot_grad_norms", "plot_update_ratios", "plot_gradient_flow", "plot_decision_boundary",
           "decision_grid", "save_figure"]
