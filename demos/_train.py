"""Small training loops shared by the demos (tensor path: one matrix product per layer)."""
from __future__ import annotations

import numpy as np

import nn
from autograd.mode import no_grad


def scores(model, X) -> np.ndarray:
    """The model's raw outputs on a batch, as a flat array (no graph recorded)."""
    with no_grad():
        return model(X).numpy().ravel()


def accuracy(model, X, y, threshold: float = 0.0) -> float:
    """Fraction of points on the right side of `threshold` (score > threshold means class 1)."""
    return float(np.mean((scores(model, X) > threshold) == (np.asarray(y) == 1)))


def fit_binary(model, X, y, steps: int = 300, lr: float = 0.05, progress=None) -> np.ndarray:
    """Fit logits to 0/1 labels with binary cross-entropy and Adam, full batch; returns the losses.

    progress: optional wrapper for the step range (e.g. tqdm) to show a bar.
    """
    opt = nn.Adam(model.parameters(), lr=lr)
    targets = np.asarray(y, dtype=float)
    losses = []
    for _ in (progress or iter)(range(steps)):
        loss = nn.binary_cross_entropy_with_logits(model(X).reshape(-1), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


def fit_hinge(model, X, y, steps: int = 100, alpha: float = 1e-4, opt=None, recorder=None,
              progress=None) -> np.ndarray:
    """micrograd's moons recipe: max-margin loss + alpha·L2, SGD with lr 1.0 − 0.9·k/steps.

    opt: the optimizer (default: a new nn.SGD with lr 1.0); recorder: an optional
    autograd.viz.training.TrainingRecorder, given every step's loss after backward().
    """
    opt = opt or nn.SGD(model.parameters(), lr=1.0)
    schedule = nn.LambdaLR(opt, lambda k: 1.0 - 0.9 * k / steps)
    signs = 2.0 * np.asarray(y) - 1.0
    losses = []
    for _ in (progress or iter)(range(steps)):
        loss = nn.hinge(model(X).reshape(-1), signs) + nn.l2_penalty(model, alpha)
        opt.zero_grad()
        loss.backward()
        if recorder is not None:
            recorder.step(loss)
        opt.step()
        schedule.step()
        losses.append(loss.item())
    return np.array(losses)
