"""to_torch for the activation modules of nn.activations: each becomes its torch.nn twin
with the same arguments (registered with torch_bridge.converts)."""
from __future__ import annotations

from . import activations as act
from .torch_bridge import converts

_NAMES = {act.GELU: "GELU", act.SiLU: "SiLU", act.Mish: "Mish", act.SELU: "SELU", act.ReLU6: "ReLU6",
          act.Hardsigmoid: "Hardsigmoid", act.Hardswish: "Hardswish", act.LeakyReLU: "LeakyReLU",
          act.Softplus: "Softplus", act.ELU: "ELU", act.CELU: "CELU", act.Hardtanh: "Hardtanh",
          act.Softsign: "Softsign", act.LogSigmoid: "LogSigmoid", act.Softmin: "Softmin"}


def _register(cls, name):
    @converts(cls)
    def convert(m, torch):
        return getattr(torch.nn, name)(**{k: getattr(m, k) for k in cls.arguments})
    return convert


for _cls, _name in _NAMES.items():
    _register(_cls, _name)
