"""`Module`: the base of every layer and network, shaped like `torch.nn.Module`.

A module's parameters are the `Value`s assigned to its attributes (leaves with
requires_grad=True); its children are the modules assigned to its attributes.
Both are found in assignment order, so `parameters()` and `state_dict()` come out
in the order the network computes, with PyTorch's dotted names ("layers.0.weight").
"""
from __future__ import annotations

import numpy as np

from autograd import alignment
from autograd.mode import replayable
from autograd.value import Value


class StateDictError(ValueError):
    """A state dict (or saved file) that does not fit the module; names every bad key."""


def _as_array(v, key):
    """A state-dict entry as a numpy array (numpy, numbers, Values or torch tensors)."""
    if isinstance(v, Value):
        v = v.data
    if hasattr(v, "detach") and hasattr(v, "cpu"):  # a torch.Tensor, without importing torch
        v = v.detach().cpu().numpy()
    arr = np.asarray(v)
    if arr.dtype.kind not in "biuf":
        raise StateDictError(f"load_state_dict: entry {key!r} has dtype {arr.dtype}; only numeric arrays can be loaded")
    return arr


class Module:
    """Base class: subclasses assign parameters and sub-modules in `__init__`, define `forward`."""

    training = True

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})

    def __setattr__(self, name, value):
        params, modules = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if params is None:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                               "before assigning attributes")
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers:  # a buffer stays a buffer: a numpy array (or None)
            buffers[name] = None if value is None else np.asarray(value.data if isinstance(value, Value) else value)
            object.__setattr__(self, name, buffers[name])
            return
        params.pop(name, None)
        modules.pop(name, None)
        if isinstance(value, Value) and value.requires_grad and value.is_leaf:
            params[name] = value
            # its array on a cache line, unless someone else holds it: the BLAS kernels' vector loads then
            # never span two lines (digits step: float32 -5 us, float64 -13 us; see autograd.alignment)
            alignment.align_data(value)
        elif isinstance(value, Module):
            modules[name] = value
            value._relabel(name)
        elif isinstance(value, (list, tuple)) and any(isinstance(v, (Module, Value)) for v in value):
            raise TypeError(f"{type(self).__name__}.{name}: a plain {type(value).__name__} hides its modules and "
                            f"parameters from parameters() and state_dict(); use ModuleList([...]) for modules "
                            f"or assign each parameter to its own attribute")
        object.__setattr__(self, name, value)

    def _relabel(self, prefix: str) -> None:
        """Label every parameter with its dotted name under `prefix` (what a drawing shows)."""
        for name, p in self.named_parameters():
            p.label = f"{prefix}.{name}"

    # ---- traversal -------------------------------------------------------------
    def named_modules(self, prefix: str = ""):
        """(dotted name, module) for this module and every descendant, parents first."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            stack.extend(reversed([(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()]))

    def children(self):
        return list(self._modules.values())

    def named_parameters(self, prefix: str = ""):
        """(dotted name, parameter) in computation order, each parameter once."""
        seen = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self) -> list:
        return [p for _, p in self.named_parameters()]

    # ---- buffers: state that is not learned (batch norm's running statistics) ---------
    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Keep array `tensor` as `self.<name>`: saved in state_dict() (if persistent) and loaded
        back, converted by to(), but not a parameter (no gradient, not in parameters())."""
        if "_buffers" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() before register_buffer")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: buffer name must be a non-empty string without '.', got {name!r}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: attribute {name!r} already exists as a parameter or module")
        self._buffers[name] = None
        if not persistent:
            object.__setattr__(self, "_non_persistent", self.__dict__.get("_non_persistent", set()) | {name})
        setattr(self, name, tensor)

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """(dotted name, numpy array) for every buffer (not None), module by module."""
        for mname, m in (self.named_modules(prefix) if recurse else [(prefix, self)]):
            for bname, b in m.__dict__.get("_buffers", {}).items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self) -> list:
        return [b for _, b in self.named_buffers()]

    def _named_state(self):
        """(dotted name, array or parameter) in PyTorch's state_dict order: each module's
        parameters, then its persistent buffers, then its children's."""
        seen = set()
        for mname, m in self.named_modules():
            skip = m.__dict__.get("_non_persistent", ())
            entries = list(m._parameters.items()) + [(k, b) for k, b in m.__dict__.get("_buffers", {}).items()
                                                     if b is not None and k not in skip]
            for name, v in entries:
                if id(v) not in seen:
                    seen.add(id(v))
                    yield (f"{mname}.{name}" if mname else name), v

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # ---- training helpers ------------------------------------------------------
    @replayable  # inside a jitted step, each replay runs it again
    def zero_grad(self) -> None:
        """Forget every parameter's gradient (the next backward starts from zero)."""
        for p in self.parameters():
            p._grad = None  # what the .grad setter does for None, without its checks

    def train(self, mode: bool = True) -> "Module":
        for _, m in self.named_modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Convert every parameter to `dtype` (np.float32 or np.float64), in place."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"to(): parameters must be floating point, got {dtype}")
        for _, m in self.named_modules():  # floating-point buffers follow (running statistics); counts stay ints
            for k, b in m.__dict__.get("_buffers", {}).items():
                if b is not None and b.dtype.kind == "f" and b.dtype != dtype:
                    setattr(m, k, b.astype(dtype))
        for p in self.parameters():
            if type(p.data) is float:
                if dtype != np.float64:
                    p.data = np.asarray(p.data, dtype=dtype)
            elif p.data.dtype != dtype:  # (into an array on a cache line, as __setattr__ puts it)
                p.data = float(p.data) if dtype == np.float64 and p.data.ndim == 0 else alignment.copy(p.data, dtype)
            p.grad = None
        return self

    # ---- state -----------------------------------------------------------------
    def state_dict(self) -> dict:
        """{dotted name: numpy copy of the parameter or buffer}, in PyTorch's order (a module's
        parameters, then its buffers such as running_mean, then its children). The copies are
        row-major (C order) whatever the parameter's own layout (nn.Layer may keep its weight
        column-major, see autograd.blas), so saved files hold the usual byte order."""
        return {name: np.array(v.data if isinstance(v, Value) else v, order="C") for name, v in self._named_state()}

    def load_state_dict(self, state, strict: bool = True) -> "Module":
        """Copy arrays (numpy, numbers or torch tensors) into the parameters and buffers of the same names.

        A DistributedDataParallel state dict (every key prefixed `module.`) loads as it is
        (see nn.strip_ddp_prefix).

        Everything is checked before anything is assigned: on any missing key,
        unexpected key or shape mismatch the module is left unchanged and a
        StateDictError lists all of them.
        """
        from .torch_bridge import _ddp_state  # a DDP model's keys `module.x` load as `x`

        own = dict(self._named_state())
        arrays = {k: _as_array(v, k) for k, v in _ddp_state(dict(state), own).items()}
        missing = [k for k in own if k not in arrays]
        unexpected = [k for k in arrays if k not in own]
        wrong = [f"{k}: expected shape {own[k].shape}, got {arrays[k].shape}"
                 for k in own if k in arrays and arrays[k].shape != own[k].shape]
        problems = []
        if missing and strict:
            problems.append(f"missing keys {missing}")
        if unexpected and strict:
            problems.append(f"unexpected keys {unexpected}")
        if wrong:
            problems.append("shape mismatches: " + "; ".join(wrong))
        if problems:
            raise StateDictError(f"load_state_dict into {type(self).__name__}: " + ", ".join(problems) +
                                 ". The state comes from a different architecture; nothing was loaded.")
        for k, p in own.items():
            if k not in arrays:
                continue
            if not isinstance(p, Value):  # a buffer: copied in place (batch norm's forward updates it in place)
                np.copyto(p, arrays[k], casting="unsafe")
                continue
            if type(p.data) is float:
                p.data = float(arrays[k])
            else:
                np.copyto(p.data, arrays[k], casting="unsafe")
            p.grad = None
        return self

    # ---- calling and printing ----------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs:  # model(x): a plain call (unpacking *args, **kwargs costs ~50 ns)
            return self.forward(args[0])
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's one-line repr."""
        return ""

    def __repr__(self):
        return self._repr(root=True)

    def _repr(self, root: bool) -> str:
        """PyTorch-style nested repr; parameter counts on leaf modules and the whole model."""
        total = self.num_parameters()
        count = f"  # {total} params" if total and (root or not self._modules) else ""
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")" + count
        lines = [head]
        for name, child in self._modules.items():
            text = child._repr(root=False).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)" + count


class ModuleList(Module):
    """A list of modules, named "0", "1", ... (so state-dict keys read "layers.0.weight")."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self._modules.values())[i]
        n = len(self._modules)
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__} index {i} out of range for {n} modules")
        return self._modules[str(i % n)]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, *args, **kwargs):
        raise TypeError("a ModuleList is a container: call its modules, or use Sequential to chain them")
