"""`to_torch(module)`: the same network as a torch.nn.Module, carrying the same weights.

The torch module mirrors the tree and the parameter names, so
`torch_model.state_dict()` has exactly the keys of `module.state_dict()` and either
loads into the other. Everything is float64, like tracegrad's parameters.
PyTorch is optional: it is imported only when converting (`pip install 'tracegrad[torch]'`).
The torch classes live in nn.torch_modules, so converted models pickle and `torch.save` whole.
"""
from __future__ import annotations

import numpy as np

from autograd.extras import require

from .activations import Identity, ReLU, Sigmoid, Tanh
from .layers import MLP, Layer, Neuron, Sequential
from .module import ModuleList
from .recurrent import RNN, RNNCell
from .torch_trace import ConversionError

CONVERTERS = {}  # tracegrad Module class -> fn(module, torch) -> torch.nn.Module (see `converts`)


def converts(cls):
    """Register fn(module, torch) -> an empty torch module of the same shape, for `cls`
    (and its subclasses that keep its forward). Modules of new layer families register theirs
    beside them; a class defined at module level pickles with the converted model:

        @converts(Conv2d)
        def _(m, torch): return torch.nn.Conv2d(m.in_channels, ..., dtype=torch.float64)
    """
    def register(fn):
        CONVERTERS[cls] = fn
        return fn
    return register


def require_torch():
    """The torch module, or an error naming the extra: pip install 'tracegrad[torch]'."""
    return require("torch", "torch", "to_torch")


DDP_PREFIX = "module."


def strip_ddp_prefix(state, prefix: str = DDP_PREFIX) -> dict:
    """`state` with DistributedDataParallel's `module.` removed from the front of its keys.

    DDP wraps the model, so `ddp_model.state_dict()` has keys `module.layers.0.weight`, ...;
    `model.load_state_dict(strip_ddp_prefix(state))` takes them back (`load_state_dict`
    also does it by itself when every key has the prefix and the module's keys do not).
    Keys without the prefix are kept as they are.
    """
    return {(key[len(prefix):] if key.startswith(prefix) else key): value for key, value in dict(state).items()}


def _ddp_state(state: dict, own) -> dict:
    """`state` unchanged, or stripped of `module.` when every key has it and no key of `own` does."""
    if state and all(k.startswith(DDP_PREFIX) for k in state) and not any(k.startswith(DDP_PREFIX) for k in own):
        return strip_ddp_prefix(state)
    return state


_SIMPLE = {Tanh: "Tanh", ReLU: "ReLU", Sigmoid: "Sigmoid", Identity: "Identity"}
_STRUCTURAL = (Layer, Neuron, MLP, Sequential, ModuleList, RNNCell, RNN)


def _keeps_forward(m, cls) -> bool:
    """True when `m`'s class runs `cls`'s own forward (not one a subclass wrote)."""
    return getattr(type(m), "forward", None) is getattr(cls, "forward", None)


def _registered(m):
    for klass in type(m).__mro__:
        if klass in CONVERTERS and _keeps_forward(m, klass):
            return CONVERTERS[klass]
    return None


def _structural(m) -> bool:
    """Converted class by class (no recording): a known class with its own forward, all the way down."""
    if _registered(m) is not None or type(m) in _SIMPLE:
        return True
    known = next((cls for cls in _STRUCTURAL if isinstance(m, cls) and _keeps_forward(m, cls)), None)
    if known is None:
        return False
    if known in (MLP, Sequential, ModuleList):
        return all(_structural(child) for child in (m.layers if known is MLP else m))
    return True


def _convert(m, torch):
    from . import torch_modules as tm

    tnn = torch.nn
    registered = _registered(m)
    if registered is not None:
        return registered(m, torch)
    if isinstance(m, Layer):
        return tm.TorchLayer(m.nin, m.nout, m.activation, m.bias is not None)
    if isinstance(m, Neuron):
        return tm.TorchNeuron(m.nin, m.activation)
    if isinstance(m, MLP):
        return tm.TorchMLP([_convert(layer, torch) for layer in m.layers])
    if isinstance(m, Sequential):
        return tnn.Sequential(*[_convert(c, torch) for c in m])
    if isinstance(m, ModuleList):
        return tnn.ModuleList([_convert(c, torch) for c in m])
    if isinstance(m, RNNCell):
        return tnn.RNNCell(m.nin, m.nhidden, bias=m.bias_ih is not None, dtype=torch.float64)
    if isinstance(m, RNN):
        return tnn.RNN(m.nin, m.nhidden, bias=m.bias_ih_l0 is not None, batch_first=m.batch_first,
                       dtype=torch.float64)
    if type(m) in _SIMPLE:
        return getattr(tnn, _SIMPLE[type(m)])()
    raise TypeError(f"to_torch: no PyTorch equivalent for {type(m).__name__}; supported: Layer, Linear, "
                    "Neuron, MLP, Sequential, ModuleList, RNNCell, RNN, Tanh, ReLU, Sigmoid, Identity, the "
                    "classes registered with @converts, and any Module with its own forward given example=")


def _guess_example(module):
    """A small input batch for `module`, from the input width of its first layer (None: no guess)."""
    for _, m in module.named_modules():
        if isinstance(m, (Layer, Neuron)) and not isinstance(m, (RNNCell, RNN)):
            return np.random.default_rng(0).normal(size=(3, m.nin))
        if isinstance(m, (RNNCell, RNN)):
            return None
    return None


def to_torch(module, example=None):
    """An equivalent torch.nn.Module (float64) with a copy of `module`'s weights.

    >>> tmodel = to_torch(MLP(2, [4, 1], seed=0))  # doctest: +SKIP
    >>> tmodel(torch.tensor([[0.5, -1.0]], dtype=torch.float64))  # doctest: +SKIP

    Known layers convert class by class (to nn.torch_modules' classes, which pickle). A Module
    with its own `forward` (anywhere in the tree) is recorded on `example`, an input (or a tuple
    of inputs; default: a batch of 3 as wide as its first layer's input) and replayed with torch
    ops as a torch.fx GraphModule (see nn.torch_trace); what cannot be replayed is refused by name.
    """
    torch = require_torch()
    if not _structural(module):
        from .torch_trace import trace

        if example is not None:
            return trace(module, example, torch)
        name, guess = type(module).__name__, _guess_example(module)
        if guess is None:
            raise ConversionError(f"to_torch: {name} has its own forward(), which to_torch records on an input: "
                                  "pass example= (an input batch, or a tuple of inputs)")
        try:  # no example: a batch as wide as the first layer's input
            return trace(module, guess, torch)
        except ConversionError:
            raise  # a real obstacle in forward, found on the guessed batch
        except Exception as error:  # the guess does not fit this forward: ask for an input
            raise ConversionError(f"to_torch: {name} has its own forward(), which to_torch records on an input; "
                                  f"a batch of shape {guess.shape} did not fit it ({type(error).__name__}: "
                                  f"{error}): pass example=") from error
    tmodule = _convert(module, torch)
    state = {k: torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in module.state_dict().items()}
    tmodule.load_state_dict(state, strict=True)
    return tmodule
