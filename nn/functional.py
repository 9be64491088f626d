"""PyTorch's `torch.nn.functional` names for what tracegrad has: `import nn.functional as F`.

Every function here is the op table's (autograd) or a loss of `nn.losses`, under PyTorch's
name and argument order; nothing is computed twice. Grouped by family, as PyTorch's page is.
"""
from __future__ import annotations

from autograd.functional import linear, log_softmax, softmax  # noqa: F401

from .activations import relu, sigmoid, tanh  # noqa: F401

# ---- activations ------------------------------------------------------------------------
from .activations import (celu, elu, gelu, hardsigmoid, hardswish, hardtanh, leaky_relu, logsigmoid,  # noqa: F401
                          mish, relu6, selu, silu, softmin, softplus, softsign)

# ---- losses -----------------------------------------------------------------------------
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, nll_loss  # noqa: E402,F401
from .losses import mse as mse_loss  # noqa: E402,F401

# ---- reductions, shapes and indexing (autograd's ops under PyTorch's F names) -------------
from autograd.functional import normalize, one_hot, pad  # noqa: E402,F401

# ---- vision: convolution, pooling, normalisation, dropout (nn.conv, nn.norm) -------------
from autograd.functional import adaptive_avg_pool2d, avg_pool2d, batch_norm, conv2d  # noqa: E402,F401

from .conv import flatten, max_pool2d  # noqa: E402,F401


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """x · mask / (1 - p) in training (mask[i] = 0 with probability p); x itself otherwise."""
    from autograd.functional import dropout as _dropout
    from autograd.value import const
    if not training or p == 0:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        return const(input)
    return _dropout(input, p, True, generator)


# ---- sequence: embedding, layer norm, attention (nn.sequence) ---------------------------
from autograd.ops.normalization import layer_norm  # noqa: E402,F401
from autograd.ops.sequence import embedding, scaled_dot_product_attention  # noqa: E402,F401
