"""`to_torch` for the sequence layers: Embedding, LayerNorm, MultiheadAttention, RNN, LSTM, GRU."""
from __future__ import annotations

from .attention import MultiheadAttention
from .embedding import Embedding, LayerNorm
from .recurrent import GRU, LSTM, RNN
from .torch_bridge import converts


@converts(Embedding)
def _embedding(m, torch):
    return torch.nn.Embedding(m.num_embeddings, m.embedding_dim, padding_idx=m.padding_idx, dtype=torch.float64)


@converts(LayerNorm)
def _layer_norm(m, torch):
    return torch.nn.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine,
                              bias=m.bias is not None, dtype=torch.float64)


@converts(MultiheadAttention)
def _attention(m, torch):
    return torch.nn.MultiheadAttention(m.embed_dim, m.num_heads, bias=m.in_proj_bias is not None,
                                       batch_first=m.batch_first, dtype=torch.float64)


def _recurrent(cls, **extra):
    def convert(m, torch):
        return getattr(torch.nn, cls)(m.input_size, m.hidden_size, num_layers=m.num_layers, bias=m.bias,
                                      batch_first=m.batch_first, dtype=torch.float64,
                                      **{k: getattr(m, k) for k in extra})
    return convert


converts(RNN)(_recurrent("RNN", nonlinearity=True))
converts(LSTM)(_recurrent("LSTM"))
converts(GRU)(_recurrent("GRU"))
