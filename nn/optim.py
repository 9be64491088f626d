"""Optimizers and learning-rate schedules, with PyTorch's update rules.

Updates work on the raw `p.data` (numpy arrays in place, Python floats by
reassignment), so no graph is recorded. Typical loop:

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for xb, yb in batches(X, y, 32):
        loss = cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
"""
from __future__ import annotations

import math

import numpy as np

from autograd.mode import replayable
from autograd.value import Value


class Optimizer:
    """Holds the parameters (each once) and the learning rate `lr`."""

    def __init__(self, params, lr: float):
        params = params.parameters() if hasattr(params, "parameters") else params
        self.params, seen = [], set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"{type(self).__name__}: parameter #{i} is a {type(p).__name__}, not a Value")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: parameter #{i} ({p.label or 'unnamed'}) has "
                                 "requires_grad=False; nothing would ever update it")
            if id(p) not in seen:
                seen.add(id(p))
                self.params.append(p)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be positive, got {lr}")
        self.lr = float(lr)
        self.steps = 0
        self.state = [{} for _ in self.params]

    @replayable  # inside a jitted training step, each replay runs it again
    def zero_grad(self) -> None:
        for p in self.params:
            p._grad = None  # what the .grad setter does for None, without its checks

    @replayable
    def step(self) -> None:
        """One update of every parameter that has a gradient (one the loss did not reach is left
        alone, as in PyTorch)."""
        self._step()

    def _step(self) -> None:
        self.steps += 1
        for p, state in zip(self.params, self.state):
            g = p._grad  # not .grad, which would make zeros for a parameter without one
            if g is None:
                continue
            w = p.data
            if type(w) is float:
                p.data = float(w - self._update(float(g), w, state))
            else:
                w -= self._update(g, w, state)  # in place; a float64 step casts into float32 weights

    def _update(self, g, w, state):
        """The amount to subtract from w (g is the gradient, state this parameter's buffers)."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr:g})"


class SGD(Optimizer):
    """w -= lr·v, v = momentum·v + (g + weight_decay·w) (v = g on the first step), as torch.optim.SGD."""

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got {momentum}, {weight_decay}")
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)

    def _step(self) -> None:
        if self.momentum or self.weight_decay:
            return super()._step()
        # plain SGD, w -= lr·g, without the per-parameter _update call (a training step's hot loop)
        self.steps += 1
        lr = self.lr
        for p in self.params:
            g = p._grad
            if g is None:
                continue
            if type(p.data) is float:
                p.data = float(p.data - lr * g)
            else:
                p.data -= lr * g

    def _update(self, g, w, state):
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            buf = state.get("momentum")
            g = state["momentum"] = np.array(g) if buf is None else self.momentum * buf + g
        return self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), bias-corrected, L2 weight decay added to the gradient, as torch.optim.Adam."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = (float(b1), float(b2)), float(eps), float(weight_decay)

    def _update(self, g, w, state):
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * w
        m = state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** self.steps)
        v_hat = v / (1 - b2 ** self.steps)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# ---- learning-rate schedules: call .step() once per optimizer step ----------------


class LRSchedule:
    """Sets optimizer.lr = base_lr · factor(k) where k counts calls to step() (0 at creation)."""

    def __init__(self, optimizer: Optimizer):
        self.optimizer, self.base_lr, self.last_step = optimizer, optimizer.lr, 0
        optimizer.lr = self.lr_at(0)

    def factor(self, k: int) -> float:
        raise NotImplementedError

    def lr_at(self, k: int) -> float:
        return self.base_lr * float(self.factor(k))

    @replayable
    def step(self) -> float:
        self.last_step += 1
        self.optimizer.lr = self.lr_at(self.last_step)
        return self.optimizer.lr

    def get_last_lr(self) -> float:
        return self.optimizer.lr


class StepLR(LRSchedule):
    """lr = base_lr · gamma^(k // step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def factor(self, k):
        return self.gamma ** (k // self.step_size)


class CosineLR(LRSchedule):
    """lr = min_lr + (base_lr - min_lr)·(1 + cos(π·k/total_steps))/2, then min_lr after total_steps."""

    def __init__(self, optimizer, total_steps: int, min_lr: float = 0.0):
        if total_steps < 1:
            raise ValueError(f"CosineLR: total_steps must be >= 1, got {total_steps}")
        self.total_steps, self.min_lr = int(total_steps), float(min_lr)
        super().__init__(optimizer)

    def lr_at(self, k):
        t = min(k, self.total_steps) / self.total_steps
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * t)) / 2


class LambdaLR(LRSchedule):
    """lr = base_lr · fn(k) for any callable fn of the step (e.g. lambda k: 1.0 - 0.9 * k / 100)."""

    def __init__(self, optimizer, fn):
        if not callable(fn):
            raise TypeError(f"LambdaLR: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        super().__init__(optimizer)

    def factor(self, k):
        return self.fn(k)
