"""The elementwise math, clamp/maximum/minimum and the activations against PyTorch (float64,
1e-6): several shapes, broadcasting, kinks and ties, ±inf and nan, forward and backward with a
random upstream gradient, and second derivatives (create_graph=True) for a few."""
from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
import nn.functional as NF
from autograd import Value, grad

torch = pytest.importorskip("torch", exc_type=ImportError)
F = torch.nn.functional
pytestmark = pytest.mark.oracle

TOL = {"rtol": 1e-6, "atol": 1e-9}
SHAPES = [(), (3,), (2, 3), (2, 1, 4)]
PAIRS = [((), ()), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ()), ((2, 1, 3), (4, 1))]
RANGES = {"any": (-2.0, 2.0), "wide": (-5.0, 8.0), "pos": (0.3, 3.0), "unit": (-0.8, 0.8), "above1": (1.2, 3.0),
          "log1p": (-0.7, 2.0)}


def sample(rng, shape, domain="any"):
    if domain == "away":  # |x| in [0.3, 2]
        return rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    lo, hi = RANGES[domain]
    return rng.uniform(lo, hi, size=shape)


def upstream(shape, seed=1):
    r = np.random.default_rng(seed)
    return r.uniform(0.5, 1.5, size=shape) * r.choice([-1.0, 1.0], size=shape)  # |w| >= 0.5


def compare(ours, theirs, arrays, grads=True):
    """Both sides on the same float64 inputs; the same random upstream gradient; values and
    every input's gradient compared (nan where both give nan counts as agreeing)."""
    xs = [Value(np.array(a, dtype=np.float64) if np.ndim(a) else float(a)) for a in arrays]
    ts = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **TOL)
    if not grads:
        return xs
    w = upstream(out.shape)
    out.backward(w if out.shape else float(w))
    ref.backward(torch.tensor(w))
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(x.grad, expected, err_msg=f"gradient of input #{i}", **TOL)
    return xs


UNARY = {  # name: (ours, torch, domain)
    "sin": (lambda a: a.sin(), torch.sin, "wide"),
    "cos": (lambda a: autograd.cos(a), torch.cos, "wide"),
    "tan": (lambda a: a.tan(), torch.tan, "unit"),
    "asin": (lambda a: a.asin(), torch.asin, "unit"),
    "acos": (lambda a: a.acos(), torch.acos, "unit"),
    "atan": (lambda a: a.atan(), torch.atan, "wide"),
    "sinh": (lambda a: a.sinh(), torch.sinh, "any"),
    "cosh": (lambda a: a.cosh(), torch.cosh, "any"),
    "asinh": (lambda a: a.asinh(), torch.asinh, "wide"),
    "acosh": (lambda a: a.acosh(), torch.acosh, "above1"),
    "atanh": (lambda a: a.atanh(), torch.atanh, "unit"),
    "erf": (lambda a: a.erf(), torch.erf, "any"),
    "rsqrt": (lambda a: a.rsqrt(), torch.rsqrt, "pos"),
    "square": (lambda a: a.square(), torch.square, "any"),
    "reciprocal": (lambda a: a.reciprocal(), torch.reciprocal, "away"),
    "log2": (lambda a: a.log2(), torch.log2, "pos"),
    "log10": (lambda a: a.log10(), torch.log10, "pos"),
    "log1p": (lambda a: a.log1p(), torch.log1p, "log1p"),
    "expm1": (lambda a: a.expm1(), torch.expm1, "any"),
    "exp2": (lambda a: a.exp2(), torch.exp2, "any"),
    "sign": (lambda a: a.sign(), torch.sign, "away"),
    "floor": (lambda a: a.floor(), torch.floor, "wide"),
    "ceil": (lambda a: a.ceil(), torch.ceil, "wide"),
    "trunc": (lambda a: a.trunc(), torch.trunc, "wide"),
    "round": (lambda a: a.round(), torch.round, "wide"),
    "round_decimals": (lambda a: a.round(decimals=2), lambda a: torch.round(a, decimals=2), "wide"),
    "clamp": (lambda a: a.clamp(-0.5, 0.7), lambda a: torch.clamp(a, -0.5, 0.7), "any"),
    "clamp_min": (lambda a: a.clamp(min=-0.5), lambda a: torch.clamp(a, min=-0.5), "any"),
    "clamp_max": (lambda a: autograd.clip(a, max=0.7), lambda a: torch.clip(a, max=0.7), "any"),
    "clamp_reversed": (lambda a: a.clamp(0.7, -0.5), lambda a: torch.clamp(a, 0.7, -0.5), "any"),
    "leaky_relu": (lambda a: a.leaky_relu(0.2), lambda a: F.leaky_relu(a, 0.2), "any"),
    "leaky_relu_default": (lambda a: NF.leaky_relu(a), F.leaky_relu, "any"),
    "gelu": (lambda a: a.gelu(), F.gelu, "wide"),
    "gelu_tanh": (lambda a: NF.gelu(a, approximate="tanh"), lambda a: F.gelu(a, approximate="tanh"), "wide"),
    "silu": (lambda a: a.silu(), F.silu, "wide"),
    "swish": (lambda a: autograd.swish(a), F.silu, "wide"),
    "softplus": (lambda a: a.softplus(), F.softplus, "wide"),
    "softplus_beta": (lambda a: NF.softplus(a, beta=2.0, threshold=3.0), lambda a: F.softplus(a, 2.0, 3.0), "wide"),
    "elu": (lambda a: a.elu(), F.elu, "wide"),
    "elu_alpha": (lambda a: NF.elu(a, alpha=0.7), lambda a: F.elu(a, 0.7), "wide"),
    "selu": (lambda a: a.selu(), F.selu, "wide"),
    "celu": (lambda a: NF.celu(a, 1.3), lambda a: F.celu(a, 1.3), "wide"),
    "mish": (lambda a: a.mish(), F.mish, "wide"),
    "logsigmoid": (lambda a: a.logsigmoid(), F.logsigmoid, "wide"),
    "hardtanh": (lambda a: a.hardtanh(), F.hardtanh, "any"),
    "hardtanh_bounds": (lambda a: NF.hardtanh(a, -0.5, 1.5), lambda a: F.hardtanh(a, -0.5, 1.5), "any"),
    "relu6": (lambda a: a.relu6(), F.relu6, "wide"),
    "hardsigmoid": (lambda a: a.hardsigmoid(), F.hardsigmoid, "wide"),
    "hardswish": (lambda a: a.hardswish(), F.hardswish, "wide"),
    "softsign": (lambda a: a.softsign(), F.softsign, "any"),
}

BINARY = {  # name: (ours, torch, domain of a, domain of b)
    "maximum": (lambda a, b: a.maximum(b), torch.maximum, "any", "any"),
    "minimum": (lambda a, b: autograd.minimum(a, b), torch.minimum, "any", "any"),
    "logaddexp": (lambda a, b: a.logaddexp(b), torch.logaddexp, "any", "any"),
    "copysign": (lambda a, b: a.copysign(b), torch.copysign, "any", "away"),
    "fmod": (lambda a, b: a.fmod(b), torch.fmod, "wide", "away"),
    "remainder": (lambda a, b: a % b, lambda a, b: a % b, "wide", "away"),
    "remainder_fn": (lambda a, b: autograd.remainder(a, b), torch.remainder, "wide", "away"),
    "clamp_tensor_min": (lambda a, b: a.clamp(min=b), lambda a, b: torch.clamp(a, min=b), "any", "any"),
    "clamp_tensor_max": (lambda a, b: a.clamp(max=b), lambda a, b: torch.clamp(a, max=b), "any", "any"),
    "lerp_scalar_weight": (lambda a, b: a.lerp(b, 0.3), lambda a, b: torch.lerp(a, b, 0.3), "any", "any"),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape, rng):
    ours, theirs, domain = UNARY[name]
    compare(ours, theirs, [sample(rng, shape, domain)])


@pytest.mark.parametrize("shapes", PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_broadcasting(name, shapes, rng):
    ours, theirs, da, db = BINARY[name]
    compare(ours, theirs, [sample(rng, shapes[0], da), sample(rng, shapes[1], db)])


@pytest.mark.parametrize("shapes", [((2, 3), (3,), (2, 1)), ((4,), (), ()), ((3, 2), (1, 2), (3, 1))], ids=str)
def test_three_inputs_with_broadcasting(shapes, rng):
    """(PyTorch's clamp backward needs x in the broadcast shape; lerp does not.)"""
    a, lo, hi = (sample(rng, s) for s in shapes)
    compare(lambda x, m, n: x.clamp(m, n), lambda x, m, n: torch.clamp(x, m, n), [a, lo, hi])
    compare(lambda x, y, w: autograd.lerp(x, y, w), torch.lerp, [a, lo, hi])
    compare(lambda w, x, y: autograd.lerp(x, y, w), lambda w, x, y: torch.lerp(x, y, w), [a, lo, hi])


def test_floor_divide_forward_and_zero_gradient(rng):
    """torch.floor_divide has no derivative; the gradient is 0 (the issue's choice)."""
    a, b = sample(rng, (2, 3), "wide"), sample(rng, (3,), "away")
    xs = compare(lambda x, y: x // y, lambda x, y: torch.floor_divide(x, y), [a, b], grads=False)
    (xs[0] // xs[1] * 2.0).sum().backward()
    assert np.all(xs[0].grad == 0) and np.all(xs[1].grad == 0)
    np.testing.assert_array_equal((Value(7.5) // 2.0).data, 3.0)
    np.testing.assert_array_equal((-7.5 // Value(2.0)).data, -4.0)
    np.testing.assert_array_equal((Value(-7.5) % 2.0).data, 0.5)


@pytest.mark.parametrize("axis", [0, -1, 1])
def test_softmin_along_an_axis(axis, rng):
    a = sample(rng, (3, 4))
    compare(lambda x: x.softmin(axis), lambda x: F.softmin(x, dim=axis), [a])
    compare(lambda x: autograd.softmin(x, dim=axis), lambda x: F.softmin(x, dim=axis), [a])
    compare(lambda x: NF.softmin(x, dim=axis), lambda x: F.softmin(x, dim=axis), [a])


# ---- kinks, ties, ±inf and nan: PyTorch's choices, element by element ---------------------

SPECIAL = np.array([-math.inf, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, math.inf, math.nan])
AT_SPECIAL = sorted(set(UNARY) - {"asin", "acos", "atanh", "acosh", "tan", "rsqrt", "reciprocal", "log2", "log10",
                                  "log1p", "sinh", "cosh", "square", "exp2", "expm1", "round_decimals"})


@pytest.mark.parametrize("name", AT_SPECIAL)
def test_kinks_and_special_values(name):
    """0, ±0.5, ±1, ±3, 6 are the kinks of clamp, hardtanh, relu6, hardsigmoid, hardswish, the
    ELUs and leaky_relu; ±inf and nan wherever PyTorch gives a value and a gradient."""
    ours, theirs, _ = UNARY[name]
    if name == "softsign":  # PyTorch's composite x / (|x| + 1) gives nan at ±inf; ours 1/(1 + |x|)² = 0
        compare(ours, theirs, [SPECIAL[1:-2]])
        compare(ours, theirs, [SPECIAL[-1:]])
        x = Value(np.array([-math.inf, math.inf]))
        x.softsign().sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.0])
        return
    compare(ours, theirs, [SPECIAL])


@pytest.mark.parametrize("name", ["log2", "log10", "log1p", "rsqrt", "reciprocal", "exp2", "expm1", "asin",
                                  "atanh", "acosh", "square"])
def test_domain_edges(name):
    ours, theirs, _ = UNARY[name]
    compare(ours, theirs, [np.array([-1.0, 0.0, 1.0, 2.0, math.inf, -math.inf, math.nan])])


@pytest.mark.parametrize("name", ["maximum", "minimum", "clamp_tensor_min", "clamp_tensor_max", "copysign",
                                  "logaddexp", "remainder", "fmod"])
def test_binary_ties_and_special_values(name):
    """Ties (maximum/minimum: half each), equal bounds, zeros, infinities, nan."""
    ours, theirs, _, _ = BINARY[name]
    a = np.array([1.0, 2.0, 0.0, -0.0, 0.0, math.inf, -math.inf, math.nan, 1.0, 5.0, -5.0])
    b = np.array([1.0, 1.0, 0.0, 0.0, -1.0, math.inf, 1.0, 1.0, math.nan, 3.0, 3.0])
    if name in ("remainder", "fmod"):  # a zero divisor: nan on both sides
        b = np.where(b == 0, 2.0, b)
    compare(ours, theirs, [a, b])


def test_clamp_with_tensor_bounds_at_ties_and_crossed_bounds():
    """PyTorch: x gets g where min <= x <= max; min where x < min < max; max where x > max or max < min."""
    x = np.array([-1.0, 1.0, 0.0, 2.0, 0.5, 0.5, 0.2])
    lo = np.array([-1.0, -1.0, -1.0, -1.0, 1.0, 0.5, 0.3])
    hi = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.3])
    compare(lambda a, m, n: a.clamp(m, n), lambda a, m, n: torch.clamp(a, m, n), [x, lo, hi])


def test_pow_at_zero():
    """0 ** 0 gives the base gradient 0 (not nan); 0 ** negative gives the exponent -inf (not nan)."""
    a = np.array([0.0, 0.0, 0.0, 2.0, 0.0, -1.5])
    b = np.array([0.0, -1.0, 2.0, 0.0, 0.5, 2.0])
    compare(lambda x, y: x ** y, lambda x, y: x ** y, [a, b])
    for base, exponent in [(0.0, 0.0), (0.0, -1.0), (0.0, -2.5), (0.0, 3.0)]:
        compare(lambda x, y: x ** y, lambda x, y: x ** y, [base, exponent])
    x = Value(0.0)
    (dx,) = grad(x ** Value(0.0), x)
    assert dx.data == 0.0


# ---- second derivatives (create_graph=True) -----------------------------------------------

SECOND = ["sin", "atan", "erf", "rsqrt", "log1p", "gelu", "gelu_tanh", "silu", "softplus_beta", "elu_alpha",
          "celu", "selu", "mish", "logsigmoid", "softsign", "asinh", "exp2", "hardswish"]


def second_derivatives(ours, theirs, arrays, rng):
    xs = [Value(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    w, v = upstream(out.shape, 2), [upstream(np.shape(a), 3) for a in arrays]
    g1 = grad((out * w).sum(), xs, create_graph=True)
    t1 = torch.autograd.grad((ref * torch.tensor(w)).sum(), ts, create_graph=True)
    for g, t in zip(g1, t1):
        np.testing.assert_allclose(g.data, t.detach().numpy(), **TOL)
    g2 = grad(sum((g * vi).sum() for g, vi in zip(g1, v)), xs, allow_unused=True)
    t2 = torch.autograd.grad(sum((t * torch.tensor(vi)).sum() for t, vi in zip(t1, v)), ts, allow_unused=True)
    for i, (g, t) in enumerate(zip(g2, t2)):
        expected = np.zeros(np.shape(arrays[i])) if t is None else t.numpy()
        got = np.zeros(np.shape(arrays[i])) if g is None else g.data
        np.testing.assert_allclose(got, expected, err_msg=f"second derivative, input #{i}", **TOL)


@pytest.mark.parametrize("name", SECOND)
def test_second_derivatives(name, rng):
    ours, theirs, domain = UNARY[name]
    second_derivatives(ours, theirs, [sample(rng, (2, 3), domain)], rng)


def test_second_derivatives_binary(rng):
    ours, theirs, da, db = BINARY["logaddexp"]
    second_derivatives(ours, theirs, [sample(rng, (2, 3), da), sample(rng, (3,), db)], rng)
    second_derivatives(lambda a, b, w: a.lerp(b, w), torch.lerp,
                       [sample(rng, (2, 3)), sample(rng, (3,)), sample(rng, (2, 1))], rng)


@pytest.mark.parametrize("name", ["maximum", "minimum", "lerp_scalar_weight", "copysign", "remainder", "fmod",
                                  "clamp_tensor_min"])
def test_first_derivatives_that_do_not_depend_on_the_inputs(name, rng):
    """Piecewise-linear ops: under create_graph the gradient is right, and a constant (its own
    derivative is 0 almost everywhere), so it does not require grad."""
    ours, theirs, da, db = BINARY[name]
    arrays = [sample(rng, (2, 3), da), sample(rng, (3,), db)]
    xs, ts = [Value(a) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    w = upstream(out.shape)
    g1 = grad((out * w).sum(), xs, create_graph=True)
    t1 = torch.autograd.grad((ref * torch.tensor(w)).sum(), ts, create_graph=True)
    for g, t in zip(g1, t1):
        np.testing.assert_allclose(g.data, t.detach().numpy(), **TOL)
        assert not g.requires_grad


def test_second_derivative_of_pow_value(rng):
    second_derivatives(lambda a, b: a ** b, lambda a, b: a ** b, [sample(rng, (3,), "pos"), sample(rng, (3,))], rng)
