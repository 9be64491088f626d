"""nn's losses against torch.nn.functional (float64, 1e-6): cross_entropy's every argument and
shape, nll_loss, binary_cross_entropy on probabilities, binary_cross_entropy_with_logits with
weight and pos_weight; forward and backward with a random upstream gradient."""
from __future__ import annotations

import numpy as np
import pytest

import nn
import nn.functional as ours_F

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.oracle
F = torch.nn.functional

from test_oracle_torch import compare  # noqa: E402


def _t(v):
    return torch.tensor(v) if isinstance(v, np.ndarray) else v


def both(name, target, **kwargs):
    """ours and torch's F.<name>, the same target and keyword arguments."""
    tk = {k: _t(v) for k, v in kwargs.items()}
    return (lambda a: getattr(ours_F, name)(a, target, **kwargs),
            lambda t: getattr(F, name)(t, _t(target), **tk))


SHAPES = [(5, 4), (4,), (3, 4, 2), (2, 4, 3, 2)]  # (N, C), (C,), (N, C, d1), (N, C, d1, d2)


def classes_for(shape, rng, ignore=None):
    target_shape = (shape[:1] + shape[2:]) if len(shape) > 1 else ()
    y = rng.integers(0, shape[1] if len(shape) > 1 else shape[0], size=target_shape)
    if ignore is not None and y.size > 1:
        y.reshape(-1)[[0, y.size - 1]] = ignore
    return y


ARGS = [{}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.2}, {"ignore_index": -100},
        {"ignore_index": 1}, {"weight": "w"}, {"weight": "w", "label_smoothing": 0.1, "ignore_index": -100},
        {"weight": "w", "reduction": "none", "ignore_index": 2}, {"label_smoothing": 0.3, "reduction": "sum"}]


@pytest.mark.parametrize("kwargs", ARGS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_with_class_indices(shape, kwargs, rng):
    x = rng.normal(size=shape) * 2
    c = shape[1] if len(shape) > 1 else shape[0]
    kwargs = {k: (rng.uniform(0.5, 2.0, c) if v == "w" else v) for k, v in kwargs.items()}
    y = classes_for(shape, rng, kwargs.get("ignore_index"))
    compare(*both("cross_entropy", y, **kwargs), [x])
    logp = x - np.log(np.exp(x).sum(axis=1 if len(shape) > 1 else 0, keepdims=True))
    nll_kwargs = {k: v for k, v in kwargs.items() if k != "label_smoothing"}
    compare(*both("nll_loss", y, **nll_kwargs), [logp])


@pytest.mark.parametrize("kwargs", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.25},
                                    {"weight": "w"}], ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_with_class_probabilities(shape, kwargs, rng):
    x = rng.normal(size=shape)
    axis = 1 if len(shape) > 1 else 0
    p = rng.uniform(size=shape)
    p /= p.sum(axis=axis, keepdims=True)
    kwargs = {k: (rng.uniform(0.5, 2.0, shape[axis]) if v == "w" else v) for k, v in kwargs.items()}
    compare(*both("cross_entropy", p, **kwargs), [x])


def test_plain_cross_entropy_is_the_fused_node(rng):
    z = nn.cross_entropy(nn.Linear(3, 4)(rng.normal(size=(5, 3))), rng.integers(0, 4, 5))
    assert z.op == "cross_entropy"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_on_probabilities(reduction, weighted, rng):
    p = rng.uniform(0.02, 0.98, size=(4, 3))
    y = rng.choice([0.0, 1.0, 0.3], size=(4, 3))
    kwargs = {"reduction": reduction} | ({"weight": rng.uniform(0.5, 2, size=(3,))} if weighted else {})
    compare(*both("binary_cross_entropy", y, **kwargs), [p])


def test_binary_cross_entropy_clamps_its_logs_like_torch():
    p, y = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    compare(*both("binary_cross_entropy", y, reduction="none"), [p])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("extra", ["none", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits(extra, reduction, rng):
    z = rng.normal(size=(5, 3)) * 3
    y = rng.choice([0.0, 1.0, 0.7], size=(5, 3))
    kwargs = {"reduction": reduction}
    if extra in ("weight", "both"):
        kwargs["weight"] = rng.uniform(0.5, 2.0, size=(5, 1))
    if extra in ("pos_weight", "both"):
        kwargs["pos_weight"] = rng.uniform(0.5, 3.0, size=(3,))
    compare(*both("binary_cross_entropy_with_logits", y, **kwargs), [z])


def test_mse_loss(rng):
    y = rng.normal(size=(4, 3))
    compare(*both("mse_loss", y), [rng.normal(size=(4, 3))])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_of_non_finite_logits_is_pytorchs(reduction):
    """Rows whose maximum is +inf, all -inf, or nan: loss and gradient rows nan, as torch's (log_softmax
    then the target); finite rows, one -inf logit among them included, keep their numbers."""
    from autograd import Value
    inf, nan = np.inf, np.nan
    logits = np.array([[inf, 0.0, 1.0], [0.0, 1.0, 2.0], [-inf, -inf, -inf], [-inf, 0.0, 1.0],
                       [nan, 0.0, 1.0], [inf, inf, 0.0], [-inf, 5.0, -inf]])
    rng = np.random.default_rng(4)
    for target in (np.array([0, 1, 0, 1, 1, 2, 1]), np.array([1, 0, 2, 0, 0, 0, 0])):
        upstream = rng.normal(size=(len(target),) if reduction == "none" else ())
        z = Value(logits.copy())
        with np.errstate(all="ignore"):  # (numpy warns about inf - inf on the way; torch is silent)
            loss = nn.cross_entropy(z, target, reduction=reduction)
            loss.backward(upstream)
        t = torch.tensor(logits, requires_grad=True)
        expected = F.cross_entropy(t, torch.tensor(target), reduction=reduction)
        expected.backward(torch.tensor(upstream))
        np.testing.assert_allclose(np.asarray(loss.data), expected.detach().numpy(), rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(z.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15, equal_nan=True)


@pytest.mark.parametrize("kwargs", [{"ignore_index": 2}, {"weight": np.array([1.0, 2.0, 0.5]), "ignore_index": 1},
                                    {"weight": np.array([1.0, 2.0, 0.5]), "ignore_index": 1, "label_smoothing": 0.2,
                                     "reduction": "sum"},
                                    {"ignore_index": 0, "reduction": "none", "label_smoothing": 0.1}])
def test_nll_loss_nodes_replay_in_torch_as_recorded(kwargs):
    """nn.torch_ops' replay of the nll_loss node (what nn.to_torch runs for a forward that computes such a
    loss) gives the node's own numbers from the same log-probabilities and attributes."""
    from autograd import Value
    from nn.torch_ops import TORCH_OPS
    rng = np.random.default_rng(5)
    z, y = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    loss = nn.cross_entropy(Value(z), y, **kwargs)
    node = loss if loss.op == "nll_loss" else loss.parents[0]  # ("none": the node, then a reshape)
    assert node.op == "nll_loss"
    replayed = TORCH_OPS["nll_loss"](torch.tensor(node.parents[0].data), **node.attrs)
    np.testing.assert_allclose(replayed.numpy(), np.asarray(node.data), rtol=1e-12, atol=1e-15)
