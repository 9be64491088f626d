"""The same expressions in tracegrad and in PyTorch (float64): values and gradients agree.

Runs only where torch is installed (`make oracle`). Every output is reduced with fixed
random weights before backward, so each element's gradient is checked, not just a sum.
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd
from autograd import Value, grad

from test_engine import micrograd_more_ops, micrograd_sanity  # micrograd's own test expressions

torch = pytest.importorskip("torch", exc_type=ImportError)  # absent or broken install: skip
pytestmark = pytest.mark.oracle

TOL = dict(rtol=1e-6, atol=1e-9)  # float64 on both sides: they agree far closer
DOMAINS = {"any": (-2.0, 2.0), "pos": (0.3, 3.0), "away": (0.3, 2.0)}


def sample(rng, shape, domain="any"):
    lo, hi = DOMAINS[domain]
    x = rng.uniform(lo, hi, size=shape)
    return x * rng.choice([-1.0, 1.0], size=shape) if domain == "away" else x


def compare(ours, theirs, arrays, seed=1):
    """Run both, weight the outputs identically, backprop, and compare everything."""
    xs = [Value(a) for a in arrays]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL)
    r = np.random.default_rng(seed)
    w = r.uniform(0.5, 1.5, size=out.shape) * r.choice([-1.0, 1.0], size=out.shape)  # |w| >= 0.5
    (out * w).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(x.grad, expected, err_msg=f"gradient of input #{i}", **TOL)


UNARY = {  # name: (ours, torch, domain)
    "neg": (lambda a: -a, lambda a: -a, "any"),
    "exp": (lambda a: a.exp(), torch.exp, "any"),
    "log": (lambda a: a.log(), torch.log, "pos"),
    "sqrt": (lambda a: a.sqrt(), torch.sqrt, "pos"),
    "tanh": (lambda a: a.tanh(), torch.tanh, "any"),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid, "any"),
    "relu": (lambda a: a.relu(), torch.relu, "away"),
    "abs": (lambda a: abs(a), torch.abs, "away"),
    "pow_int": (lambda a: a ** 3, lambda a: a ** 3, "any"),
    "pow_negative": (lambda a: a ** -2, lambda a: a ** -2, "away"),
    "pow_fraction": (lambda a: a ** 1.5, lambda a: a ** 1.5, "pos"),
    "rpow": (lambda a: 2.0 ** a, lambda a: 2.0 ** a, "any"),
}

BINARY = {  # name: (fn for both, domain of a, domain of b)
    "add": (lambda a, b: a + b, "any", "any"),
    "sub": (lambda a, b: a - b, "any", "any"),
    "mul": (lambda a, b: a * b, "any", "any"),
    "div": (lambda a, b: a / b, "any", "away"),
    "pow_value": (lambda a, b: a ** b, "pos", "any"),
    "reflected": (lambda a, b: 3.0 - a * 2.0 + 1.0 / b, "any", "away"),
}
PAIRS = [((), ()), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ()), ((2, 1, 3), (4, 1))]


@pytest.mark.parametrize("shape", [(), (2, 3)], ids=["scalar", "tensor"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape, rng):
    ours, theirs, domain = UNARY[name]
    compare(ours, theirs, [sample(rng, shape, domain)])


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_broadcasting(name, shapes, rng):
    fn, da, db = BINARY[name]
    compare(fn, fn, [sample(rng, shapes[0], da), sample(rng, shapes[1], db)])


REDUCTIONS = [  # (ours method, torch function)
    ("sum", lambda t, axis, keep: t.sum() if axis is None else t.sum(dim=axis, keepdim=keep)),
    ("mean", lambda t, axis, keep: t.mean() if axis is None else t.mean(dim=axis, keepdim=keep)),
    ("max", lambda t, axis, keep: t.amax() if axis is None else t.amax(dim=axis, keepdim=keep)),
    ("logsumexp", lambda t, axis, keep: torch.logsumexp(t, dim=tuple(range(t.ndim)) if axis is None else axis,
                                                        keepdim=keep)),
]


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (-1, True), ((0, 2), False), ((1,), True)])
@pytest.mark.parametrize("name, theirs", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions(name, theirs, axis, keepdims, rng):
    x = rng.permutation(24).reshape(2, 3, 4) / 7.0  # distinct values: no ties for max
    compare(lambda a: getattr(a, name)(axis=axis, keepdims=keepdims), lambda t: theirs(t, axis, keepdims), [x])


def test_max_ties_share_the_gradient_like_amax():
    """Several axes or all: ties share (torch.amax, x.max()); one axis: torch.max(x, dim) picks one."""
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    compare(lambda a: a.max(axis=(1,)), lambda t: t.amax(dim=1), [x])
    compare(lambda a: a.max(), lambda t: t.max(), [x])
    compare(lambda a: a.max(axis=1), lambda t: t.max(dim=1).values, [x])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_log_softmax_logsumexp(axis, rng):
    x = rng.normal(size=(3, 4)) * 3
    compare(lambda a: a.softmax(axis), lambda t: torch.softmax(t, axis), [x])
    compare(lambda a: autograd.log_softmax(a, axis), lambda t: torch.log_softmax(t, axis), [x])
    compare(lambda a: autograd.logsumexp(a, axis), lambda t: torch.logsumexp(t, axis), [x])
    big = x + np.array([[1000.0], [-1000.0], [0.0]])  # max-shifted: no overflow
    compare(lambda a: a.log_softmax(axis), lambda t: torch.log_softmax(t, axis), [big])


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 4)),
                                    ((2, 1, 3, 4), (5, 4, 2)), ((3,), (2, 3, 4)), ((2, 3, 4), (4,)),
                                    ((1, 2, 3), (4, 3, 2))], ids=str)
def test_matmul_with_batch_broadcasting(sa, sb, rng):
    compare(lambda a, b: a @ b, lambda a, b: a @ b, [rng.normal(size=sa), rng.normal(size=sb)])


KEYS = [
    ("int", 1), ("slice", slice(1, None)), ("int_array_repeats", np.array([0, 2, 0, 0])),
    ("int_array_negative", np.array([-1, 1])), ("bool_mask_rows", np.array([True, False, True])),
    ("mixed", (np.array([2, 0, 2]), slice(None, 2))), ("newaxis_ellipsis", (Ellipsis, None, 1)),
    ("two_int_arrays", (np.array([0, 1, 2, 1]), np.array([3, 0, 3, 3]))),
]


@pytest.mark.parametrize("key", [k for _, k in KEYS], ids=[n for n, _ in KEYS])
def test_indexing(key, rng):
    x = rng.normal(size=(3, 4))
    tkey = tuple(torch.tensor(k) if isinstance(k, np.ndarray) else k for k in key) if isinstance(key, tuple) \
        else torch.tensor(key) if isinstance(key, np.ndarray) else key
    compare(lambda a: a[key], lambda t: t[tkey], [x])


def test_indexing_with_a_full_boolean_mask(rng):
    x = rng.normal(size=(3, 4))
    mask = x > 0.1
    compare(lambda a: a[mask], lambda t: t[torch.tensor(mask)], [x])


def test_shape_ops(rng):
    x = rng.normal(size=(2, 3, 4))
    compare(lambda a: a.reshape(4, 6), lambda t: t.reshape(4, 6), [x])
    compare(lambda a: a.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1), [x])
    compare(lambda a: a.mT, lambda t: t.mT, [x])
    compare(lambda a: a[0].T, lambda t: t[0].T, [x])
    compare(lambda a: a[:, :1].broadcast_to((5, 2, 3, 4)), lambda t: t[:, :1].expand(5, 2, 3, 4), [x])


def test_concat_stack_where(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 5))
    compare(lambda p, q: autograd.concat([p, q, p], axis=1), lambda p, q: torch.cat([p, q, p], dim=1), [a, b])
    compare(lambda p, q: autograd.stack([p, q * 2], axis=-1), lambda p, q: torch.stack([p, q * 2], dim=-1), [a, a])
    cond = a > 0
    compare(lambda p, q: autograd.where(cond, p, q[:, :1]),
            lambda p, q: torch.where(torch.tensor(cond), p, q[:, :1]), [a, b])


def test_neuron_and_scatter_against_their_torch_spelling(rng):
    w, bias, xs = rng.normal(size=(3, 4)), rng.normal(size=(3,)), rng.normal(size=4)
    compare(lambda w_, b_, *x: autograd.neuron(w_, b_, x, row=1),
            lambda w_, b_, *x: w_[1] @ torch.stack(x) + b_[1], [w, bias, *xs])
    key = np.array([0, 2, 0])
    compare(lambda v: autograd.value.apply("scatter", (v,), {"key": key, "shape": (4, 2)}),
            lambda v: torch.zeros(4, 2, dtype=torch.float64).index_add(0, torch.tensor(key), v),
            [rng.normal(size=(3, 2))])


@pytest.mark.parametrize("x", [-4.0, -0.3, 1.7])
def test_micrograd_expressions(x):
    compare(micrograd_sanity, micrograd_sanity, [np.array(x)])
    compare(micrograd_more_ops, micrograd_more_ops, [np.array(x), np.array(2.0)])


def test_mlp_with_cross_entropy(rng):
    x, labels = rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    params = [rng.normal(size=s) for s in [(3, 5), (5,), (5, 4), (4,)]]

    def ours(w1, b1, w2, b2):
        logits = (Value(x) @ w1 + b1).tanh() @ w2 + b2
        return -logits.log_softmax(axis=1)[np.arange(6), labels].mean()

    def theirs(w1, b1, w2, b2):
        logits = torch.tanh(torch.tensor(x) @ w1 + b1) @ w2 + b2
        return torch.nn.functional.cross_entropy(logits, torch.tensor(labels))

    compare(ours, theirs, params)


def test_hessian_vector_product_matches_double_backward(rng):
    w1, w2, x = rng.normal(size=(3, 4)), rng.normal(size=(4, 1)), rng.normal(size=(5, 3))
    v1, v2 = rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    W1, W2 = Value(w1), Value(w2)
    g1, g2 = grad(((x @ W1).tanh() @ W2).sigmoid().mean(), [W1, W2], create_graph=True)
    ours = grad((g1 * v1).sum() + (g2 * v2).sum(), [W1, W2])
    T1, T2 = (torch.tensor(w, requires_grad=True) for w in (w1, w2))
    h1, h2 = torch.autograd.grad(torch.sigmoid(torch.tanh(torch.tensor(x) @ T1) @ T2).mean(), [T1, T2],
                                 create_graph=True)
    theirs = torch.autograd.grad((h1 * torch.tensor(v1)).sum() + (h2 * torch.tensor(v2)).sum(), [T1, T2])
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.data, t.numpy(), **TOL)


# ---- the fused layer and loss ops: linear and cross_entropy ------------------------------

LINEAR_SHAPES = [((5, 3), True), ((3,), True), ((2, 4, 3), True), ((5, 3), False)]


@pytest.mark.parametrize("x_shape, bias", LINEAR_SHAPES, ids=str)
def test_linear_like_torch_functional_linear(x_shape, bias, rng):
    arrays = [rng.normal(size=x_shape), rng.normal(size=(4, 3))] + ([rng.normal(size=4)] if bias else [])
    compare(lambda *v: autograd.linear(*v), lambda *t: torch.nn.functional.linear(*t), arrays)


def test_linear_of_a_constant_batch_gives_the_parameters_torchs_gradients(rng):
    x = rng.normal(size=(6, 3))  # not a Value: no gradient is computed for it
    compare(lambda w, b: autograd.linear(x, w, b), lambda w, b: torch.nn.functional.linear(torch.tensor(x), w, b),
            [rng.normal(size=(2, 3)), rng.normal(size=2)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_like_torch(reduction, rng):
    import nn
    labels = rng.integers(0, 5, size=7)
    compare(lambda z: nn.cross_entropy(z, labels, reduction=reduction),
            lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(labels), reduction=reduction),
            [rng.normal(size=(7, 5)) * 3])
    compare(lambda z: nn.cross_entropy(z, 2, reduction=reduction),  # one example: (classes,) logits
            lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(2), reduction=reduction),
            [rng.normal(size=5)])


def test_second_derivatives_through_linear_and_cross_entropy_match_torch(rng):
    """A Hessian-vector product through the fused ops (their create_graph path)."""
    import nn
    x, labels = rng.normal(size=(5, 3)), rng.integers(0, 4, size=5)
    w1, b1, w2, b2 = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=(4, 6)), rng.normal(size=4)
    vs = [rng.normal(size=a.shape) for a in (w1, b1, w2, b2)]
    params = [Value(a) for a in (w1, b1, w2, b2)]
    loss = nn.cross_entropy(autograd.linear(autograd.linear(x, *params[:2]).tanh(), *params[2:]), labels)
    gs = grad(loss, params, create_graph=True)
    ours = grad(sum((g * v).sum() for g, v in zip(gs, vs)), params)
    ts = [torch.tensor(a, requires_grad=True) for a in (w1, b1, w2, b2)]
    F = torch.nn.functional
    tloss = F.cross_entropy(F.linear(torch.tanh(F.linear(torch.tensor(x), *ts[:2])), *ts[2:]), torch.tensor(labels))
    hs = torch.autograd.grad(tloss, ts, create_graph=True)
    theirs = torch.autograd.grad(sum((h * torch.tensor(v)).sum() for h, v in zip(hs, vs)), ts)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.data, t.numpy(), **TOL)
