"""Embedding and LayerNorm, the two layers a transformer adds to Linear (PyTorch's names and shapes)."""
from __future__ import annotations

import numpy as np

from autograd.ops.normalization import layer_norm
from autograd.ops.sequence import as_indices, embedding
from autograd.value import Value

from .init import rng_from
from .module import Module


class Embedding(Module):
    """A table of `num_embeddings` vectors of size `embedding_dim`; `emb(indices)` picks one row per
    integer index (any shape of indices -> that shape + (embedding_dim,)), like torch.nn.Embedding.
    The weight starts as N(0, 1) draws, as PyTorch's.

    >>> emb = Embedding(10, 3, seed=0); emb(np.array([[1, 2], [4, 1]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, seed=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if self.num_embeddings < 1 or self.embedding_dim < 1:
            raise ValueError(f"Embedding: sizes must be positive, got num_embeddings={num_embeddings}, "
                             f"embedding_dim={embedding_dim}")
        if padding_idx is not None:
            if not -self.num_embeddings <= int(padding_idx) < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx={padding_idx} must lie within num_embeddings="
                                 f"{self.num_embeddings}")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        weight = rng_from(seed).normal(size=(self.num_embeddings, self.embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0.0  # PyTorch: the padding row starts at zero and gets no gradient
        self.weight = Value(weight, label="weight")

    def forward(self, indices):
        idx = as_indices(indices, self.num_embeddings, f"Embedding({self.num_embeddings}, {self.embedding_dim})")
        return embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class LayerNorm(Module):
    """Normalise each example over its last axes (`normalized_shape`): (x - mean) / √(var + eps),
    then · weight + bias (ones and zeros at first), like torch.nn.LayerNorm. One graph node."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        shape = (normalized_shape,) if np.ndim(normalized_shape) == 0 else tuple(normalized_shape)
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        self.weight = Value(np.ones(self.normalized_shape), label="weight") if elementwise_affine else None
        self.bias = Value(np.zeros(self.normalized_shape), label="bias") if elementwise_affine and bias else None

    def forward(self, x):
        try:
            return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        except ValueError as e:
            raise type(e)(f"LayerNorm{self.normalized_shape}: {e}") from None

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps:g}, elementwise_affine={self.elementwise_affine}"
