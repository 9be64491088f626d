"""PyTorch's loss arguments without torch: hand-computed values, the fused path kept for the
plain case, jit following the targets through label smoothing, the names in nn.functional."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Value
from test_jit_memory_plan import step_of  # the plain training step, loss keywords passed on


def log_softmax(z, axis=-1):
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def test_cross_entropy_arguments_by_hand(rng):
    z, y = rng.normal(size=(4, 3)), np.array([0, 2, -100, 1])
    lp = log_softmax(z)
    kept = [0, 1, 3]
    nll = -lp[kept, y[kept]]
    assert nn.cross_entropy(Value(z), y).item() == pytest.approx(nll.mean())
    eps = 0.2
    smooth = -lp[kept].mean(axis=1)
    assert nn.cross_entropy(Value(z), y, label_smoothing=eps).item() == pytest.approx(
        ((1 - eps) * nll + eps * smooth).mean())
    w = np.array([1.0, 2.0, 0.5])
    assert nn.cross_entropy(Value(z), y, weight=w).item() == pytest.approx((nll * w[y[kept]]).sum() / w[y[kept]].sum())
    p = np.full((4, 3), 1 / 3)
    assert nn.cross_entropy(Value(z), p).item() == pytest.approx(-(lp / 3).sum(axis=1).mean())


def test_plain_cross_entropy_stays_one_fused_node(rng):
    z = Value(rng.normal(size=(4, 3)))
    assert nn.cross_entropy(z, np.array([0, 2, 1, 1])).op == "cross_entropy"
    assert nn.cross_entropy(z, np.array([0, 2, 1, 1]), label_smoothing=0.1).op != "cross_entropy"


def test_jit_follows_the_targets_through_label_smoothing(rng):
    model = nn.MLP(3, [4, 3], seed=0)
    loss = autograd.jit(lambda x, y: nn.cross_entropy(model(x), y, label_smoothing=0.1))
    for _ in range(4):
        x, y = rng.normal(size=(5, 3)), rng.integers(0, 3, 5)
        assert loss(x, y).item() == pytest.approx(nn.cross_entropy(model(x), y, label_smoothing=0.1).item(), rel=1e-12)


@pytest.mark.parametrize("kwargs", [{"ignore_index": 0}, {"ignore_index": 2, "reduction": "sum"},
                                    {"ignore_index": 0, "reduction": "none"}, {"weight": np.array([1.0, 2.0, 0.5])},
                                    {"ignore_index": 1, "weight": np.array([1.0, 2.0, 0.5]), "label_smoothing": 0.1}])
def test_a_jitted_step_follows_ignored_targets_and_class_weights_batch_by_batch(kwargs):
    """Which rows count, their class weights and the mean's denominator depend on each batch's targets:
    nll_loss's node computes them from its `target` attribute, which the jit follows. (Built from
    several nodes they were constants: a replay kept the first batch's, a silently wrong loss.)"""
    import warnings
    models = [nn.MLP(4, [8, 3], seed=0) for _ in range(2)]
    eager, jitted = (step_of(m, nn.SGD(m.parameters(), lr=0.1), **kwargs) for m in models)
    jitted = autograd.jit(jitted)
    x = np.random.default_rng(1).normal(size=(6, 4))
    batches = [[0, 1, 2, 1, 0, 0], [0, 1, 2, 1, 0, 0], [1, 2, 1, 1, 2, 2], [0, 0, 0, 0, 0, 0], [2, 2, 1, 0, 1, 2]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no JitWarning about a frozen array either)
        for y in map(np.array, batches):
            np.testing.assert_allclose(np.asarray(jitted(x, y).data), np.asarray(eager(x, y).data), rtol=1e-12)
    for p, q in zip(*(m.parameters() for m in models)):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-12, atol=1e-15)


def test_binary_cross_entropy_takes_probabilities_and_the_logits_one_is_renamed():
    p, y = np.array([0.9, 0.2, 0.5]), np.array([1.0, 0.0, 1.0])
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert nn.binary_cross_entropy(Value(p), y).item() == pytest.approx(expected)
    z = np.log(p / (1 - p))
    assert nn.binary_cross_entropy_with_logits(Value(z), y).item() == pytest.approx(expected)
    assert nn.binary_cross_entropy(Value(np.array([0.0, 1.0])), np.array([1.0, 0.0])).item() == 100.0  # log clamped
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits"):
        nn.binary_cross_entropy(Value(z), y)  # logits are not probabilities: the message names the other one


def test_pos_weight_weighs_the_positive_term():
    z, y = np.array([0.3, -1.2]), np.array([1.0, 0.0])
    base = nn.binary_cross_entropy_with_logits(Value(z), y, reduction="none").data
    weighted = nn.binary_cross_entropy_with_logits(Value(z), y, reduction="none", pos_weight=np.array([3.0])).data
    np.testing.assert_allclose(weighted, [3 * base[0], base[1]])


def test_functional_names_are_pytorchs():
    for name in ["nll_loss", "cross_entropy", "mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                 "normalize", "one_hot", "pad"]:
        assert callable(getattr(F, name)), name
    assert F.binary_cross_entropy is nn.binary_cross_entropy
