"""The drawing and the step explainer show the reductions, scans, shape/indexing ops and the
probability loss with their label and formula, and the recorded steps equal backward()."""
from __future__ import annotations

import html
import re

import numpy as np
import pytest
from test_steps import _assert_matches_backward

import autograd
import nn
from autograd import OPS, Value, topological_order
from autograd.viz import draw


def reductions_loss(rng):
    x = Value(rng.normal(size=(3, 4)), label="x")
    w = rng.normal(size=(3, 4))
    terms = [x.min(1).sum(), x.prod(1).sum(), x.var(0).sum(), x.std(1).sum(), (autograd.normalize(x) * w).sum(),
             (x.sort(1).values * w).sum(), x.topk(2).values.sum(), (x.cumsum(1) * w).sum(),
             (x.cumprod(0) * w).sum(), (x.cummax(1).values * w).sum(), (x.cummin(0).values * w).sum(),
             (x.logcumsumexp(1) * w).sum()]
    return sum(terms[1:], terms[0]), {"min", "prod", "var", "std", "normalize", "sort", "topk", "cumsum",
                                      "cumprod", "cummax", "cummin", "logcumsumexp"}


def shaping_loss(rng):
    x = Value(rng.normal(size=(3, 3)), label="x")
    v = Value(rng.normal(size=3), label="v")
    idx = np.array([[0, 2], [1, 1], [2, 0]])
    terms = [x.tile((1, 2)).sum(), x.repeat_interleave(2, dim=0).sum(), (x.flip(0) * x).sum(),
             (x.roll(1, 1) * x).sum(), autograd.pad(x, (1, 1)).sum(), (x.tril() * x).sum(), (x.triu(1) * x).sum(),
             x.diagonal().sum(), (autograd.diag(v) * x).sum(), (x.gather(1, idx) ** 2).sum(),
             (x.take_along_axis(idx, 1) ** 2).sum(), x.scatter_add(0, idx[:2], x[:2, :2]).sum(),
             (x.masked_fill(x.data > 0, 0.0) ** 2).sum(), autograd.einsum("ij,jk->ik", x, x).sum()]
    return sum(terms[1:], terms[0]), {"tile", "repeat_interleave", "flip", "roll", "pad", "tril", "triu",
                                      "diagonal", "diag", "gather", "take_along_axis", "scatter_add",
                                      "masked_fill", "einsum"}


def losses_loss(rng):
    p = Value(rng.uniform(0.1, 0.9, size=(4, 2)), label="p")
    z = Value(rng.normal(size=(4, 3)), label="z")
    loss = nn.binary_cross_entropy(p, rng.integers(0, 2, (4, 2)).astype(float)) + \
        nn.cross_entropy(z, np.array([0, 2, -100, 1]), label_smoothing=0.1)
    return loss, {"binary_cross_entropy", "log_softmax"}


@pytest.mark.parametrize("family", [reductions_loss, shaping_loss, losses_loss], ids=lambda f: f.__name__)
def test_each_new_op_is_drawn_and_explained(family, rng):
    loss, ops = family(rng)
    nodes = topological_order(loss)
    assert ops <= {n.op for n in nodes}
    source = draw(loss).source
    rec = _assert_matches_backward(loss)
    explained = set()
    for step in rec.steps:
        node = rec.nodes[step.node]
        if step.kind != "backward" or node.op not in ops:
            continue
        label = OPS[node.op].describe(node.attrs)
        assert f"label=<{html.escape(label, quote=False)}>" in re.sub(r"</?(?:B|FONT[^>]*)>", "", source).replace("&#x27;", "'"), label
        for parent in step.parents:
            assert parent.formula in OPS[node.op].formula
            assert parent.rule and parent.rule in step.text
        explained.add(node.op)
    assert explained == ops
