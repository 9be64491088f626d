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

from autograd import recycle
from autograd.mode import enable_grad, replayable
from autograd.value import Value


def _copy(x):
    """x with its arrays copied (through lists, tuples and dicts)."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, (list, tuple)):
        return type(x)(_copy(v) for v in x)
    if isinstance(x, dict):
        return {k: _copy(v) for k, v in x.items()}
    return x


class Optimizer:
    """Holds `param_groups` (dicts of "params" and options), the per-parameter `state` and
    `defaults`. Subclasses give the defaults and `_update(w, g, group, state)`, which changes
    the array w in place (a Python-float parameter is passed as a 0-d array and written back)."""

    def __init__(self, params, defaults):
        if not isinstance(defaults, dict):  # Optimizer(params, lr), this class's older signature
            defaults = {"lr": _positive_lr(type(self).__name__, defaults)}
        self.defaults = dict(defaults)
        self.state: dict = {}  # parameter -> its buffers, created at its first update
        self.param_groups: list = []
        params = params.parameters() if hasattr(params, "parameters") else params
        if isinstance(params, (Value, np.ndarray)) or not hasattr(params, "__iter__"):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Values or of dicts "
                            f"(model.parameters()), got a {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: parameters must be in an ordered collection (a list), not a set")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group: {"params": [...], option: value, ...}; options it omits take the defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got a {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be in an ordered collection (a list), not a set")
        params, names = ([params] if isinstance(params, Value) else list(params)), None
        if params and isinstance(params[0], tuple):  # model.named_parameters()
            names, params = [n for n, _ in params], [p for _, p in params]
        where = f"group {len(self.param_groups)}'s parameter" if self.param_groups else "parameter"
        kept, seen = [], set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"{name}: {where} #{i} is a {type(p).__name__}, not a Value")
            if not p.requires_grad:
                raise ValueError(f"{name}: {where} #{i} ({p.label or 'unnamed'}) has "
                                 "requires_grad=False; nothing would ever update it")
            if id(p) not in seen:
                seen.add(id(p))
                kept.append(p)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in kept):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group = {k: v for k, v in param_group.items() if k != "params"}
        group["params"] = kept
        if names is not None:
            group["param_names"] = names
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        if not group["lr"] >= 0:
            raise ValueError(f"{name}: a group's learning rate must be >= 0, got {group['lr']}")
        self.param_groups.append(group)

    @property
    def params(self) -> list:
        """Every parameter, group after group."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate; setting it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    @replayable  # inside a jitted training step, each replay runs it again
    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p._grad is None:
                    p._grad = None  # what the .grad setter does for None, without its checks
                else:
                    p._grad = 0.0 if type(p.data) is float else np.zeros_like(p.data)

    @replayable
    def step(self, closure=None):
        """One update of every parameter that has a gradient (one the loss did not reach is left
        alone, as in PyTorch). closure, if given, re-evaluates the loss (returned)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._step()
        return loss

    def _step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad  # not .grad, which would make zeros for a parameter without one
                if g is None:
                    continue
                if group.get("maximize"):
                    g = -g
                state = self.state.get(p)
                fresh = state is None
                state = {} if fresh else state
                w = p.data
                if type(w) is float:
                    w = np.array(w)
                    self._update(w, np.asarray(g, dtype=float), group, state)
                    p.data = float(w)
                else:
                    self._update(w, g, group, state)
                if fresh and state:  # (plain SGD keeps no state, as in PyTorch)
                    self.state[p] = state

    def _update(self, w, g, group: dict, state: dict) -> None:
        raise NotImplementedError

    # -- saving and loading, in PyTorch's layout ---------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: buffers}, "param_groups": [options + "params": [indices]]}; parameters
        are numbered in group order. Arrays are copies."""
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _copy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: _copy(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take the options and buffers of state_dict() (this class's or torch.optim's, arrays or
        tensors) for this optimizer's parameters, matched by position."""
        name = type(self).__name__
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved)} parameter groups "
                             f"but this optimizer has {len(self.param_groups)}")
        by_index = {}
        for k, (group, old) in enumerate(zip(self.param_groups, saved)):
            if len(group["params"]) != len(old["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {k} has {len(old['params'])} "
                                 f"parameters in the state dict but {len(group['params'])} here")
            by_index.update(zip(old["params"], group["params"]))
        state = {}
        for i, buffers in state_dict["state"].items():
            p = by_index.get(i)
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, which no group lists")
            state[p] = {key: _loaded(name, key, value, p) for key, value in buffers.items()}
        for group, old in zip(self.param_groups, saved):
            params = group["params"]
            group.clear()
            group.update({k: _copy(v) for k, v in old.items() if k != "params"}, params=params)
        self.state.clear()
        self.state.update(state)

    def __repr__(self):
        options = ", ".join(f"{k}={v}" for k, v in self.defaults.items()
                            if k not in ("foreach", "differentiable", "fused", "capturable"))
        return f"{type(self).__name__}({len(self.params)} parameters, {options})"


def _loaded(optimizer: str, key: str, value, p: Value):
    """A saved buffer as this parameter's: "step" a number, arrays (or tensors) copied in its dtype."""
    if key == "step":
        return int(float(value))
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    dtype = float if type(p.data) is float else p.data.dtype
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.array(value, dtype=dtype)
    if array.shape != np.shape(p.data):
        raise ValueError(f"{optimizer}.load_state_dict: {key!r} of {p.label or 'a parameter'} has shape "
                         f"{array.shape} but the parameter has shape {np.shape(p.data)}")
    if type(p.data) is np.ndarray and array.ndim == 2 and p.data.flags.f_contiguous and not array.flags.f_contiguous:
        # the parameter's layout (nn.Layer's weight is column-major; saved copies are row-major): a step
        # mixing layouts is several times slower (Adam at (128, 128) float32: 35 -> 93 us)
        array = np.asfortranarray(array)
    return array


def _positive_lr(name: str, lr) -> float:
    if not lr > 0:
        raise ValueError(f"{name}: learning rate must be positive, got {lr}")
    return float(lr)


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
        scratch = self.__dict__.setdefault("_scratch", {})  # id(parameter) -> the array lr·g goes to
        for group in self.param_groups:
            lr = group["lr"]
            big = recycle.MIN_BYTES if type(lr) is float else math.inf  # (the test per parameter: one compare)
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                d = p.data
                if type(d) is not np.ndarray:  # a float (or a numpy scalar, an int set by hand): a new number
                    p.data = float(d - lr * g) if type(d) is float else d - lr * g
                elif type(g) is not np.ndarray or g.nbytes < big:
                    d -= lr * g  # in place: d is p.data
                else:
                    # lr·g into a kept array: no temporary per parameter per step (its mmap + page faults
                    # at 128 KiB and up under glibc's defaults); smaller ones come from malloc's free lists
                    s = scratch.get(id(p))  # (checked: a numpy lr may change the dtype, .grad its shape)
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
