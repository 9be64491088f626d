"""PyTorch's `torch.nn.functional` names for what tracegrad has: `import nn.functional as F`.

Every function here is the op table's (autograd) or a loss of `nn.losses`, under PyTorch's
name and argument order; nothing is computed twice. Grouped by family, as PyTorch's page is.
"""
from __future__ import annotations

from autograd.functional import linear, log_softmax, softmax  # noqa: F401

from .activations import relu, sigmoid, tanh  # noqa: F401
from .losses import cross_entropy  # noqa: F401
from .losses import mse as mse_loss  # noqa: F401

# ---- activations ------------------------------------------------------------------------

# ---- losses -----------------------------------------------------------------------------

# ---- vision: convolution, pooling, normalisation, dropout (nn.conv, nn.norm) -------------

# ---- sequence: embedding, layer norm, attention (nn.sequence) ---------------------------
from autograd.ops.normalization import layer_norm  # noqa: E402,F401
from autograd.ops.sequence import embedding, scaled_dot_product_attention  # noqa: E402,F401
