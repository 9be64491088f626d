"""Convolutional layers, shaped like PyTorch's: Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten.

Each forward is one op-table node (`conv2d`, `max_pool2d`, ...) on NCHW batches; a single
image (C, H, W) is accepted too and comes back without the batch axis, as in PyTorch.
Parameters have PyTorch's names, shapes and initialisation, so
`load_state_dict(torch_model.state_dict())` and `to_torch` work both ways.
"""
from __future__ import annotations

import math

import numpy as np

from autograd.arguments import ShapeError
from autograd.functional import adaptive_avg_pool2d, avg_pool2d, conv2d
from autograd.functional import max_pool2d as _max_pool2d
from autograd.ops.pooling import max_indices
from autograd.ops.convolution import conv_geometry, pair
from autograd.value import Value, const

from .init import rng_from
from .module import Module
from .torch_bridge import converts


def _batched(module, x, check):
    """x as an (N, C, H, W) Value and whether it was one (C, H, W) image; `check(shape)` raises."""
    x = const(x)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{module._who()}: expects an input of shape (N, C, H, W) or (C, H, W), got shape {x.shape}; "
                         f"a flat batch of images needs x.reshape(N, C, H, W) first")
    single = x.ndim == 3
    if single:
        x = x.reshape((1,) + x.shape)
    check(x.shape)
    return x, single


class Conv2d(Module):
    """out[n, o] = bias[o] + Σ_c weight[o, c] ⋆ x[n, c] (cross-correlation), like torch.nn.Conv2d.

    weight (out_channels, in_channels/groups, KH, KW) and bias (out_channels,) start uniform in
    ±1/√fan_in (PyTorch's kaiming_uniform_(a=√5)), fan_in = in_channels/groups · KH · KW.

    >>> conv = Conv2d(1, 8, kernel_size=3, padding=1, seed=0)
    >>> conv(np.zeros((4, 1, 8, 8))).shape
    (4, 8, 8, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None,
                 seed=None):
        super().__init__()
        name = "Conv2d"
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported; only 'zeros'")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride = pair(stride, "stride", name, 1)
        self.dilation = pair(dilation, "dilation", name, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (as PyTorch)")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", name)
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype or np.float64)
        fan_in = self.in_channels // self.groups * math.prod(self.kernel_size)
        bound, rng = 1 / math.sqrt(fan_in), rng_from(seed)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Value(rng.uniform(-bound, bound, shape).astype(dtype), label="weight")
        self.bias = Value(rng.uniform(-bound, bound, self.out_channels).astype(dtype), label="bias") if bias else None

    def _pads(self):
        if self.padding == "valid":
            return (0, 0)
        if self.padding == "same":
            return tuple(d * (k - 1) // 2 for k, d in zip(self.kernel_size, self.dilation))
        return self.padding

    def forward(self, x):
        x, single = _batched(self, x, lambda s: conv_geometry(self._who(), s, self.weight.shape, self.stride,
                                                               self._pads(), self.dilation, self.groups))
        out = conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.weight.label.endswith(".weight"):  # the feature maps, named after the layer in the drawing
            out.label = self.weight.label[:-len("weight")] + "out"
        return out.reshape(out.shape[1:]) if single else out

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")

    def _who(self) -> str:
        where = self.weight.label[:-len(".weight")] if self.weight.label.endswith(".weight") else ""
        return f"{type(self).__name__}({self.extra_repr()})" + (f" {where!r}" if where else "")


class _Pool(Module):
    @staticmethod
    def _check_window(name, kernel_size, stride, padding, dilation=1):
        """Refuse a bad kernel_size, stride, padding or dilation when the layer is made, as PyTorch."""
        k = pair(kernel_size, "kernel_size", name, 1)
        if stride is not None:
            pair(stride, "stride", name, 1)
        p = pair(padding, "padding", name)
        pair(dilation, "dilation", name, 1)
        if any(pi > ki // 2 for pi, ki in zip(p, k)):
            raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel_size} "
                             f"(as PyTorch)")

    def _check(self, shape, padding, dilation=(1, 1)):
        from autograd.ops.pooling import pool_geometry
        pool_geometry(self._who(), shape, pair(self.kernel_size, "kernel_size", "pool", 1),
                      self._stride(), padding, dilation, self.ceil_mode)

    def _stride(self):
        return pair(self.kernel_size if self.stride is None else self.stride, "stride", type(self).__name__, 1)

    def _who(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class MaxPool2d(_Pool):
    """The maximum of each kernel_size window (stride defaults to kernel_size), like torch.nn.MaxPool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self._check_window("MaxPool2d", kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        x, single = _batched(self, x, lambda s: self._check(s, pair(self.padding, "padding", "pool"),
                                                             pair(self.dilation, "dilation", "pool", 1)))
        out = max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                         self.return_indices)
        if self.return_indices:
            out, indices = out
            return (out.reshape(out.shape[1:]), indices[0]) if single else (out, indices)
        return out.reshape(out.shape[1:]) if single else out

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self._stride_repr()}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def _stride_repr(self):
        return self.kernel_size if self.stride is None else self.stride


class AvgPool2d(_Pool):
    """The mean of each kernel_size window, padding counted as zeros by default, like torch.nn.AvgPool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self._check_window("AvgPool2d", kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x):
        x, single = _batched(self, x, lambda s: self._check(s, pair(self.padding, "padding", "pool")))
        out = avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                         self.divisor_override)
        return out.reshape(out.shape[1:]) if single else out

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}" + (
            ", ceil_mode=True" if self.ceil_mode else "")


class AdaptiveAvgPool2d(Module):
    """The mean over output_size windows that tile each plane (1: global average pooling)."""

    def __init__(self, output_size):
        super().__init__()
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
        pair(tuple(1 if s is None else s for s in sizes), "output_size", "AdaptiveAvgPool2d", 1)
        self.output_size = output_size

    def forward(self, x):
        x, single = _batched(self, x, lambda s: None)
        out = adaptive_avg_pool2d(x, self.output_size)
        return out.reshape(out.shape[1:]) if single else out

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def _who(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of each kernel_size window; with return_indices, also where it was (int64, per plane)."""
    x = const(input)
    out = _max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return out
    return out, max_indices(x.data, **out.attrs)  # (found again: the op keeps them for its backward only)


def flatten(x, start_dim: int = 1, end_dim: int = -1) -> Value:
    """Merge the axes start_dim..end_dim into one (torch.flatten); one `reshape` node."""
    x = const(x)
    nd = max(x.ndim, 1)
    if not (-nd <= start_dim < nd and -nd <= end_dim < nd):
        raise IndexError(f"flatten: dims {start_dim}..{end_dim} are out of range for shape {x.shape}")
    s, e = start_dim % nd, end_dim % nd
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})")
    shape = x.shape if x.ndim else (1,)
    return x.reshape(shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])


class Flatten(Module):
    """Merge axes start_dim..end_dim into one, like torch.nn.Flatten (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# ---- to_torch ---------------------------------------------------------------------------


@converts(Conv2d)
def _conv2d_to_torch(m, torch):
    return torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                           m.groups, bias=m.bias is not None, dtype=torch.float64)


@converts(MaxPool2d)
def _max_pool_to_torch(m, torch):
    return torch.nn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation, m.return_indices, m.ceil_mode)


@converts(AvgPool2d)
def _avg_pool_to_torch(m, torch):
    return torch.nn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                              m.divisor_override)


@converts(AdaptiveAvgPool2d)
def _adaptive_to_torch(m, torch):
    return torch.nn.AdaptiveAvgPool2d(m.output_size)


@converts(Flatten)
def _flatten_to_torch(m, torch):
    return torch.nn.Flatten(m.start_dim, m.end_dim)
