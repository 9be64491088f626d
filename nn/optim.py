"""Optimizers with PyTorch's update rules, parameter groups and state_dict layout.

Updates work on the raw `p.data` (numpy arrays in place, Python floats by
reassignment), so no graph is recorded. Typical loop:

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for xb, yb in batches(X, y, 32):
        loss = cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()

Per-group options, as in PyTorch:
    AdamW([{"params": model.body.parameters()}, {"params": model.head.parameters(), "lr": 1e-2}], lr=1e-3)
Schedules live in nn.schedules (also reachable as nn.optim.lr_scheduler).
"""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer, _positive_lr

# glibc's largest dynamic mmap threshold (DEFAULT_MMAP_THRESHOLD_MAX, 64-bit): blocks of this size and up are
# always mapped afresh; smaller ones come from the heap once one of their size has been freed
ALWAYS_MAPPED = 32 << 20


def _torch_only_flags(name: str, **flags) -> dict:
    """foreach/fused/capturable/differentiable: accepted for PyTorch's signatures; numpy has one path."""
    for flag in ("differentiable", "fused", "capturable"):
        if flags.get(flag):
            raise ValueError(f"{name}: {flag}=True is a PyTorch-only mode; leave it at its default")
    return flags


class SGD(Optimizer):
    """v = momentum·v + (1 - dampening)·(g + weight_decay·w) (v = that gradient on the first step),
    w -= lr·(g + momentum·v if nesterov else v), as torch.optim.SGD."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None):
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got {momentum}, {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov=True needs a momentum > 0 and dampening=0")
        super().__init__(params, dict(
            lr=_positive_lr("SGD", lr), momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize,
            **_torch_only_flags("SGD", foreach=foreach, differentiable=differentiable, fused=fused)))

    def plain_groups(self):
        """param_groups while step() is w -= lr·g for every parameter (SGD's own update: no momentum,
        weight decay or maximize), else None. autograd.jit inlines such a step into a replay."""
        for g in self.param_groups:
            if g["momentum"] or g["weight_decay"] or g["maximize"]:
                return None
        return self.param_groups if type(self)._step is SGD._step else None

    def _step(self) -> None:
        for group in self.param_groups:
            if group["momentum"] or group["weight_decay"] or group["maximize"]:
                return super()._step()
        # plain SGD, w -= lr·g, without the per-parameter _update call (a training step's hot loop)
        ndarray = np.ndarray  # (a local: two attribute loads less per parameter)
        for group in self.param_groups:
            lr = group["lr"]
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                d = p.data
                if type(d) is not ndarray:  # a float (or a numpy scalar, an int set by hand): a new number
                    p.data = float(d - lr * g) if type(d) is float else d - lr * g
                elif type(g) is not ndarray or g.nbytes < ALWAYS_MAPPED or type(lr) is not float:
                    # lr·g as a temporary: malloc hands back the chunk the last one freed, still in cache (a
                    # kept array per parameter instead made the digits step, float64 batch 32, 3.7-7.2 us slower)
                    d -= lr * g
                else:
                    # lr·g into a kept array: glibc maps every block this big afresh (and unmaps it), whatever
                    # its history, so a temporary would cost its page faults every step
                    scratch = self.__dict__.setdefault("_scratch", {})  # id(parameter) -> the array lr·g goes to
                    s = scratch.get(id(p))  # (checked: .grad may change its shape or dtype)
                    if s is None or s.shape != g.shape or s.dtype != g.dtype:
                        s = scratch[id(p)] = np.empty_like(g)
                    d -= np.multiply(lr, g, out=s)

    def _update(self, w, g, group, state):
        momentum, decay = group["momentum"], group["weight_decay"]
        if decay:
            g = g + decay * w
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=w.dtype)  # a copy, never the gradient
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        w -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), bias-corrected, as torch.optim.Adam: weight_decay adds weight_decay·w to
    the gradient (L2), or with decoupled_weight_decay=True shrinks w by lr·weight_decay (AdamW);
    amsgrad divides by the largest second moment so far."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool = False):
        name = type(self).__name__
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"{name}: betas must lie in [0, 1), got {betas}")
        if eps < 0 or weight_decay < 0:
            raise ValueError(f"{name}: eps and weight_decay must be >= 0, got {eps}, {weight_decay}")
        super().__init__(params, dict(
            lr=_positive_lr(name, lr), betas=(b1, b2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
            **_torch_only_flags(name, foreach=foreach, capturable=capturable, differentiable=differentiable,
                                fused=fused)))

    def _update(self, w, g, group, state):
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        lr, (b1, b2), decay = group["lr"], group["betas"], group["weight_decay"]
        step = state["step"] = state["step"] + 1
        if decay and group["decoupled_weight_decay"]:
            w *= 1 - lr * decay
        elif decay:
            g = g + decay * w
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)  # torch's lerp toward g
        v *= b2
        v += (1 - b2) * g * g
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** step) + group["eps"]
        w -= (lr / (1 - b1 ** step)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): w *= 1 - lr·weight_decay before the
    Adam update, as torch.optim.AdamW (weight_decay defaults to 0.01)."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """s = alpha·s + (1 - alpha)·g², w -= lr·g / (√s + eps), as torch.optim.RMSprop; centered
    subtracts the squared running mean of g from s; momentum keeps a buffer of those steps."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False, differentiable: bool = False):
        if min(alpha, eps, weight_decay, momentum) < 0:
            raise ValueError("RMSprop: alpha, eps, weight_decay and momentum must be >= 0, got "
                             f"{alpha}, {eps}, {weight_decay}, {momentum}")
        super().__init__(params, dict(
            lr=_positive_lr("RMSprop", lr), momentum=momentum, alpha=alpha, eps=eps, centered=centered,
            weight_decay=weight_decay, maximize=maximize,
            **_torch_only_flags("RMSprop", capturable=capturable, foreach=foreach, differentiable=differentiable)))

    def _update(self, w, g, group, state):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            state.update(step=0, square_avg=np.zeros_like(w))
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        s = state["square_avg"]
        s *= alpha
        s += (1 - alpha) * g * g
        if group["centered"]:
            mean = state["grad_avg"]
            mean += (1 - alpha) * (g - mean)
            avg = np.sqrt(s - mean * mean)
        else:
            avg = np.sqrt(s)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            w -= group["lr"] * buf
        else:
            w -= group["lr"] * (g / avg)


from . import schedules as lr_scheduler  # noqa: E402,F401  (torch.optim.lr_scheduler's place)
from .schedules import (ConstantLR, CosineAnnealingLR, CosineLR, ExponentialLR, LambdaLR,  # noqa: E402,F401
                        LinearLR, LRSchedule, LRScheduler, MultiplicativeLR, MultiStepLR, OneCycleLR,
                        PolynomialLR, StepLR)
