"""tracegrad's nn: PyTorch-shaped modules (MLPs, conv nets, recurrent and attention layers), losses, optimizers, data, checkpoints.

>>> import nn
>>> X, y = nn.make_moons(100, noise=0.1, seed=0)
>>> model = nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
>>> opt = nn.SGD(model.parameters(), lr=0.5)
>>> loss = nn.hinge(model(X).reshape(-1), 2 * y - 1) + nn.l2_penalty(model, 1e-4)
>>> opt.zero_grad(); loss.backward(); opt.step()

The same model also takes one example as a list, e.g. model([0.5, -0.2]), and then
records one graph node per neuron (for drawing).
"""
from .activations import (ACTIVATIONS, CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh, Identity, LeakyReLU,
                          LogSigmoid, Mish, ReLU, ReLU6, SiLU, Sigmoid, Softmin, Softplus, Softsign, Tanh,
                          get_activation, identity, relu, sigmoid, tanh)
from .attention import MultiheadAttention
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, Flatten, MaxPool2d
from .data import (batches, load_digits, load_iris, make_circles, make_line, make_meals, make_moons, make_spirals,
                   make_xor, train_test_split)
from .embedding import Embedding, LayerNorm
from .init import init_weight
from .io import CheckpointWarning, MissingFileError, UnsafeFileError, load, save
from .layers import MLP, Layer, Linear, Neuron, Sequential
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, hinge, l2_penalty, mse,
                     nll_loss)
from .module import Module, ModuleList, StateDictError
from .norm import BatchNorm1d, BatchNorm2d, Dropout
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .schedules import (ConstantLR, CosineAnnealingLR, CosineLR, ExponentialLR, LambdaLR, LinearLR, LRSchedule,
                        LRScheduler, MultiplicativeLR, MultiStepLR, OneCycleLR, PolynomialLR, StepLR)
from .clip import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .recurrent import GRU, LSTM, RNN, RNNCell
from .torch_bridge import ConversionError, converts, strip_ddp_prefix, to_torch
from . import activations_torch, sequence_bridge  # noqa: E402,F401  (to_torch converters)
from . import functional  # noqa: E402,F401  (import nn.functional as F)

__all__ = [
    "Module", "ModuleList", "StateDictError", "Neuron", "Layer", "Linear", "MLP", "Sequential", "RNNCell", "RNN",
    "Tanh", "ReLU", "Sigmoid", "Identity", "tanh", "relu", "sigmoid", "identity", "ACTIVATIONS", "get_activation",
    "init_weight", "mse", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
    "hinge", "l2_penalty",
    "Optimizer", "SGD", "Adam", "LRSchedule", "StepLR", "CosineLR", "LambdaLR",
    "AdamW", "RMSprop", "LRScheduler", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ConstantLR",
    "MultiplicativeLR", "PolynomialLR", "OneCycleLR",
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
    "make_moons", "make_circles", "make_spirals", "make_xor", "make_line", "make_meals", "train_test_split",
    "batches", "load_digits", "load_iris", "save", "load", "UnsafeFileError", "to_torch",
    "MissingFileError", "CheckpointWarning",
    "converts", "strip_ddp_prefix", "ConversionError",
    "GELU", "SiLU", "LeakyReLU", "Softplus", "ELU", "SELU", "CELU", "Mish", "Hardtanh", "ReLU6", "Hardsigmoid",
    "Hardswish", "Softsign", "LogSigmoid", "Softmin",
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "BatchNorm1d", "BatchNorm2d", "Dropout",
    "Embedding", "LayerNorm", "MultiheadAttention", "LSTM", "GRU",
]
