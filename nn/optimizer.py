"""The base of nn's optimizers: `Optimizer` holds the parameter groups, the per-parameter state and
PyTorch's state_dict layout, and runs `zero_grad()`/`step()`; the update rules (SGD, Adam, AdamW,
RMSprop) are in nn.optim.
"""
from __future__ import annotations

import numpy as np

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
        # the parameter's layout (nn.Layer's weight may be column-major; saved copies are row-major): a step
        # mixing layouts is several times slower (Adam at (128, 128) float32: 35 -> 93 us)
        array = np.asfortranarray(array)
    return array


def _positive_lr(name: str, lr) -> float:
    if not lr > 0:
        raise ValueError(f"{name}: learning rate must be positive, got {lr}")
    return float(lr)
