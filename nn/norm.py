"""Batch normalisation and dropout, shaped like PyTorch's: BatchNorm1d, BatchNorm2d, Dropout.

Both behave differently in training and in evaluation: `model.train()` / `model.eval()` switch
them. BatchNorm keeps its running statistics as buffers (`running_mean`, `running_var`,
`num_batches_tracked`): in state_dict() and nn.save, loaded from PyTorch's, never parameters.
"""
from __future__ import annotations

import numpy as np

from autograd.arguments import ShapeError
from autograd.functional import batch_norm, dropout
from autograd.value import Value, const

from .init import rng_from
from .module import Module
from .torch_bridge import converts


class _BatchNorm(Module):
    _dims: tuple = ()
    _shapes = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = np.dtype(dtype or np.float64)
        if affine:
            self.weight = Value(np.ones(num_features, dtype), label="weight")
            self.bias = Value(np.zeros(num_features, dtype), label="bias") if bias else None
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def _who(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def forward(self, x):
        x = const(x)
        if x.ndim not in self._dims:
            raise ShapeError(f"{self._who()}: expects an input of shape {self._shapes}, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{self._who()}: the input has {x.shape[1]} channels on axis 1 (shape {x.shape}) but the "
                             f"layer normalises {self.num_features}; build it with num_features={x.shape[1]} or "
                             f"check the previous layer's out_channels / out_features")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1  # in place (the buffer stays the same array)
            if self.momentum is None:  # a cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        # training, or no running statistics to use: normalise with the batch's own
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if track else None, self.running_var if track else None,
                          self.weight, self.bias, use_batch, momentum, self.eps)

    def extra_repr(self) -> str:
        bias = "" if not self.affine or self.bias is not None else ", bias=False"
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}{bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalise each feature over the batch (and length): input (N, C) or (N, C, L), like torch.nn.BatchNorm1d."""
    _dims, _shapes = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Normalise each channel over the batch, height and width: input (N, C, H, W), like torch.nn.BatchNorm2d."""
    _dims, _shapes = (4,), "(N, C, H, W)"


class Dropout(Module):
    """In training, zero each element with probability p and scale the others by 1/(1-p); in eval, pass x on.

    `seed` (an int or a numpy Generator) makes the masks reproducible; PyTorch draws from its global generator.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, seed=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.inplace = float(p), inplace
        self._rng = rng_from(seed)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return const(x)
        return dropout(x, self.p, True, self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


# ---- to_torch ---------------------------------------------------------------------------


def _mode(m, tm):
    return tm.train(m.training)


@converts(BatchNorm1d)
def _bn1d_to_torch(m, torch):
    return _mode(m, torch.nn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats,
                                         dtype=torch.float64, bias=m.bias is not None))


@converts(BatchNorm2d)
def _bn2d_to_torch(m, torch):
    return _mode(m, torch.nn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats,
                                         dtype=torch.float64, bias=m.bias is not None))


@converts(Dropout)
def _dropout_to_torch(m, torch):
    return _mode(m, torch.nn.Dropout(m.p))
