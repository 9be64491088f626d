"""Convolution over images (NCHW): conv2d, one node, forward and backward with numpy.

How it is computed (im2col): every kernel-sized window of the padded input becomes one column
of a matrix `cols` (C·KH·KW, N·OH·OW), read through np.lib.stride_tricks.sliding_window_view
(a view, then one copy); the convolution is then ONE matrix product W (O, C·KH·KW) @ cols,
where BLAS does the work. The backward reuses `cols` (saved by the forward): dW = g @ colsᵀ,
and dcols = Wᵀ @ g is added back window by window ("col2im": KH·KW strided additions).
Measured on the demo's layers (batch 64, 8×8 digits, 3×3 kernels, 16-32 channels, one thread):
im2col + one matmul beat one matmul per kernel offset (KH·KW small products, each followed by
an addition over the whole output) and np.einsum over the 6-d window view (einsum does not
hand this contraction to BLAS); channels-first columns copy 5× faster than rows of one window
each (whole image rows move at once), and dcols with the batch innermost halves col2im.

The rules also run on Values (create_graph=True): the two gradients are themselves bilinear
maps, recorded as the ops `conv2d_input_grad` (a transposed convolution) and
`conv2d_weight_grad`, whose own rules are convolutions again.
"""
from __future__ import annotations

import numpy as np

from ..arguments import ShapeError
from . import call, defop, expose, shape

_sliding = np.lib.stride_tricks.sliding_window_view


def out_size(n, k, stride, padding, dilation):
    """Output length along one axis: ⌊(n + 2·padding - dilation·(k-1) - 1) / stride⌋ + 1."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def _cols(x, kh, kw, stride, padding, dilation):
    """(C·KH·KW, N·OH·OW): column m holds the window under output position m, and (OH, OW)."""
    n, c, h, w = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = out_size(h, kh, sh, ph, dh), out_size(w, kw, sw, pw, dw)
    win = _sliding(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    win = win[:, :, :sh * (oh - 1) + 1:sh, :sw * (ow - 1) + 1:sw, ::dh, ::dw]  # (N, C, OH, OW, KH, KW)
    # channels and kernel offsets first: the copy then moves whole image rows (measured 5× faster
    # than rows of KW numbers for the demo's first layer)
    cols = np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3))
    return cols.reshape(c * kh * kw, n * oh * ow), (oh, ow)


def _conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n = x.shape[0]
    o, _, kh, kw = w.shape
    cols, (oh, ow) = _cols(x, kh, kw, stride, padding, dilation)
    if groups == 1:
        out = w.reshape(o, -1) @ cols  # (O, N·OH·OW): the whole convolution, one matrix product
    else:  # one product per group of channels, stacked: (G, O/G, C/G·K) @ (G, C/G·K, M)
        out = (w.reshape(groups, o // groups, -1) @ cols.reshape(groups, -1, cols.shape[1])).reshape(o, -1)
    if b is not None:
        out += b.reshape(o, 1)
    out = out.reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(out), cols


def _col2im(dcols, x_shape, kh, kw, stride, padding, dilation, oh, ow):
    """The transpose of _cols: add each window's gradient back where the window was read.
    dcols is (C·KH·KW, OH·OW·N): with the batch innermost, each of the KH·KW strided additions
    moves runs of OW·N numbers (measured 2× faster than runs of OW with the batch outside)."""
    n, c, h, w = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    d = dcols.reshape(c, kh, kw, oh, ow, n)
    gx = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            gx[:, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += d[:, i, j]
    return np.ascontiguousarray(gx[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2))


def _columns(g):
    """(N, O, OH, OW) -> (O, N·OH·OW): one column per output position, as cols."""
    return g.transpose(1, 0, 2, 3).reshape(g.shape[1], -1)


def _input_grad(g, w, x_shape, stride, padding, dilation, groups):
    """dL/dx = the transposed convolution of g with w (raw arrays): col2im(Wᵀ @ g)."""
    o, _, kh, kw = w.shape
    oh, ow = g.shape[2:]
    gc = g.transpose(1, 2, 3, 0).reshape(o, -1)  # (O, OH·OW·N): the batch innermost, for _col2im
    if groups == 1:
        dcols = w.reshape(o, -1).T @ gc
    else:
        dcols = (w.reshape(groups, o // groups, -1).transpose(0, 2, 1) @ gc.reshape(groups, o // groups, -1))
        dcols = dcols.reshape(-1, gc.shape[1])
    return _col2im(dcols, x_shape, kh, kw, stride, padding, dilation, oh, ow)


def _weight_grad(g, cols, w_shape, groups):
    """dL/dW = g @ colsᵀ, per group (raw arrays)."""
    o = w_shape[0]
    gc = _columns(g)
    if groups == 1:
        return (gc @ cols.T).reshape(w_shape)
    m = cols.shape[1]
    return (gc.reshape(groups, o // groups, m) @ cols.reshape(groups, -1, m).transpose(0, 2, 1)).reshape(w_shape)


def _conv2d_grad(g, out, x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                 needs=(True, True, True), saved=None):
    conv = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    gb = (call("sum", g, axis=(0, 2, 3), keepdims=False) if needs[-1] else None) if b is not None else None
    if saved is None:  # Values (create_graph) or nothing saved: the recorded bilinear ops
        gx = call("conv2d_input_grad", g, w, x_shape=shape(x), **conv) if needs[0] else None
        gw = call("conv2d_weight_grad", g, x, w_shape=shape(w), **conv) if needs[1] else None
    else:
        gx = _input_grad(g, w, x.shape, **conv) if needs[0] else None
        gw = _weight_grad(g, saved, w.shape, groups) if needs[1] else None
    return (gx, gw) if b is None else (gx, gw, gb)


def _input_grad_op(g, w, x_shape, stride, padding, dilation, groups):
    return _input_grad(g, w, x_shape, stride, padding, dilation, groups)


def _weight_grad_op(g, x, w_shape, stride, padding, dilation, groups):
    cols, _ = _cols(x, w_shape[2], w_shape[3], stride, padding, dilation)
    return _weight_grad(g, cols, w_shape, groups)


# The three maps are bilinear, so each one's gradients are the other two:
#   y = conv(x, w):            dx = input_grad(g, w)     dw = weight_grad(g, x)
#   t = input_grad(g, w):      dg = conv(h, w)           dw = weight_grad(g, h)
#   u = weight_grad(g, x):     dg = conv(x, h)           dx = input_grad(g, h)
def _input_grad_grad(h, out, g, w, x_shape, **conv):
    return (call("conv2d", h, w, **conv), call("conv2d_weight_grad", g, h, w_shape=shape(w), **conv))


def _weight_grad_grad(h, out, g, x, w_shape, **conv):
    return (call("conv2d", x, h, **conv), call("conv2d_input_grad", g, h, x_shape=shape(x), **conv))


defop("conv2d", _conv2d, _conv2d_grad, "conv",
      ("transposed conv of g with W (col2im of Wᵀ @ g)", "Σ over batch and positions of g × input window",
       "Σ g over batch, height, width"),
      elementwise=False, needs=True, saves=True,
      doc="2-D convolution (cross-correlation) of x (N, C, H, W) with weight (O, C/groups, KH, KW), plus bias (O,)")
defop("conv2d_input_grad", _input_grad_op, _input_grad_grad, "conv input grad",
      ("conv(h, W)", "Σ g × windows of h"), elementwise=False,
      doc="the gradient of conv2d with respect to its input: a transposed convolution of g with W")
defop("conv2d_weight_grad", _weight_grad_op, _weight_grad_grad, "conv weight grad",
      ("conv(x, h)", "transposed conv of g with h"), elementwise=False,
      doc="the gradient of conv2d with respect to its weight: g correlated with the input windows")


# ---- arguments: PyTorch's, checked before anything runs -----------------------------------


def pair(v, name, op, minimum=0):
    """An int or a pair of ints (height, width), each >= minimum; anything else refused, naming `op`."""
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(vals) != 2 or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in vals):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints (height, width), got {v!r}")
    if any(a < minimum for a in vals):
        raise ValueError(f"{op}: {name} must be {'positive' if minimum else 'non-negative'}, got {v!r}")
    return tuple(int(a) for a in vals)


def conv_geometry(op, x_shape, w_shape, stride, padding, dilation, groups):
    """Check an (N, C, H, W) input against an (O, C/groups, KH, KW) weight; errors name `op`, both shapes and the fix."""
    if len(x_shape) != 4:
        raise ShapeError(f"{op}: expects an input of shape (N, C, H, W), got shape {x_shape}; "
                         f"for one image use x[None] (or x.reshape(1, C, H, W))")
    _, cg, kh, kw = w_shape
    if x_shape[1] != cg * groups:
        raise ShapeError(f"{op}: the input has {x_shape[1]} channels (shape {x_shape}) but the weight of shape "
                         f"{w_shape} expects {cg * groups} (in_channels={cg * groups}, groups={groups}); "
                         f"pass an input with {cg * groups} channels or build the layer with "
                         f"in_channels={x_shape[1]}")
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    hp, wp = x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1]
    if eh > hp or ew > wp:
        raise ShapeError(f"{op}: the kernel ({eh}×{ew} with dilation {dilation}, weight shape {w_shape}) is larger "
                         f"than the padded input ({hp}×{wp}: input shape {x_shape}, padding {padding}); use a "
                         f"smaller kernel, more padding, or a larger input")


def _same_padding(w_shape, dilation, stride):
    if stride != (1, 1):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions (as PyTorch)")
    pads = [d * (k - 1) for k, d in zip(w_shape[2:], dilation)]
    if any(p % 2 for p in pads):
        raise ValueError(f"conv2d: padding='same' with kernel {w_shape[2:]} and dilation {dilation} needs "
                         f"uneven padding; pick an odd kernel size")
    return tuple(p // 2 for p in pads)


def _conv2d_args(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    from ..value import const
    x, weight = const(x), const(weight)
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: the weight must be (out_channels, in_channels/groups, KH, KW), got shape "
                         f"{weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    if weight.shape[0] % groups:
        raise ValueError(f"conv2d: out_channels ({weight.shape[0]}) must be divisible by groups ({groups})")
    stride, dilation = pair(stride, "stride", "conv2d", 1), pair(dilation, "dilation", "conv2d", 1)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        padding = _same_padding(weight.shape, dilation, stride)
    else:
        padding = pair(padding, "padding", "conv2d")
    conv_geometry("conv2d", x.shape, weight.shape, stride, padding, dilation, int(groups))
    inputs = (x, weight)
    if bias is not None:
        bias = const(bias)
        if bias.shape != weight.shape[:1]:
            raise ShapeError(f"conv2d: bias of shape {bias.shape} does not fit weight of shape {weight.shape}; "
                             f"it must be ({weight.shape[0]},), one number per output channel")
        inputs += (bias,)
    return inputs, {"stride": stride, "padding": padding, "dilation": dilation, "groups": int(groups)}


expose("conv2d", function=True, args=_conv2d_args)
