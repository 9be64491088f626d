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

# ---- sequence: embedding, layer norm, attention (nn.sequence) ---------------------------
