"""Reductions, statistics and scans against PyTorch (float64, 1e-6): several shapes, negative
axes, keepdim, ties for min/max/sort/cummax, zeros for prod/cumprod; forward and backward with
a random upstream gradient (tests/test_oracle_torch.compare)."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.oracle

from test_oracle_torch import compare  # noqa: E402


def ties(rng, shape):
    return rng.integers(0, 3, size=shape).astype(float)  # many equal values


DIMS = [(None, False), (0, False), (-1, True), (1, True), (-2, False)]


@pytest.mark.parametrize("dim, keep", DIMS, ids=str)
@pytest.mark.parametrize("op", ["min", "max"])
def test_min_max_with_ties(op, dim, keep, rng):
    x = ties(rng, (3, 4, 2))
    if dim is None:
        compare(lambda a: getattr(a, op)(), lambda t: getattr(t, op)(), [x])
    else:
        compare(lambda a: getattr(a, op)(dim=dim, keepdim=keep), lambda t: getattr(t, op)(dim=dim, keepdim=keep).values,
                [x])
        amin = getattr(torch, "a" + op)
        compare(lambda a: getattr(a, op)(axis=(dim, 0) if dim % 3 else (0,), keepdims=keep),
                lambda t: amin(t, dim=(dim, 0) if dim % 3 else (0,), keepdim=keep), [x])


@pytest.mark.parametrize("zeros", [0, 1, 2, 3])
@pytest.mark.parametrize("dim, keep", DIMS, ids=str)
def test_prod_with_zeros(dim, keep, zeros, rng):
    x = rng.uniform(0.5, 1.5, size=(3, 4, 2)) * rng.choice([-1, 1], size=(3, 4, 2))
    x.reshape(-1)[[5, 7, 13][:zeros]] = 0.0  # 5 and 7: the same row along axis 1
    theirs = (lambda t: t.prod()) if dim is None else (lambda t: t.prod(dim=dim, keepdim=keep))
    compare(lambda a: a.prod(dim=dim, keepdim=keep), theirs, [x])


@pytest.mark.parametrize("kwargs", [{}, {"correction": 0}, {"correction": 2}, {"unbiased": False}], ids=str)
@pytest.mark.parametrize("dim, keep", DIMS + [((0, 2), False), ((-1, 1), True)], ids=str)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std(op, dim, keep, kwargs, rng):
    x = rng.normal(size=(3, 4, 3))
    compare(lambda a: getattr(a, op)(dim=dim, keepdim=keep, **kwargs),
            lambda t: getattr(t, op)(dim=dim, keepdim=keep, **kwargs), [x])
    compare(lambda a: getattr(autograd, op)(a, dim, **kwargs), lambda t: getattr(torch, op)(t, dim, **kwargs), [x])


@pytest.mark.parametrize("op", ["std_mean", "var_mean"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)], ids=str)
def test_std_mean_var_mean(op, dim, rng):
    x = rng.normal(size=(3, 4))
    def combined(lib, v):
        s, m = getattr(lib, op)(v, dim=dim, keepdim=True)
        return s * 2.0 + m

    compare(lambda a: combined(autograd, a), lambda t: combined(torch, t), [x])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_normalize(p, dim, rng):
    x = rng.normal(size=(3, 4))
    x[1] = 0.0  # a zero row: the norm is clamped at eps
    fn = torch.nn.functional.normalize
    compare(lambda a: nn.functional.normalize(a, p=p, dim=dim), lambda t: fn(t, p=p, dim=dim), [x])
    compare(lambda a: autograd.normalize(a, p, dim, eps=0.5), lambda t: fn(t, p, dim, eps=0.5), [x * 0.1])


@pytest.mark.parametrize("dim, keep", DIMS, ids=str)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_are_integer_and_match_ties(op, dim, keep, rng):
    x = ties(rng, (3, 4, 2))
    ours = getattr(autograd.Value(x), op)(dim=dim, keepdim=keep)
    theirs = getattr(torch.tensor(x), op)(dim=dim, keepdim=keep)
    assert np.asarray(ours).dtype == np.int64
    np.testing.assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("dim, keep", DIMS, ids=str)
@pytest.mark.parametrize("op", ["all", "any"])
def test_all_any(op, dim, keep, rng):
    x = ties(rng, (3, 4, 2)) * (rng.random((3, 4, 2)) > 0.2)
    ours = getattr(autograd.Value(x), op)(dim=dim, keepdim=keep)
    theirs = getattr(torch.tensor(x), op)() if dim is None else getattr(torch.tensor(x), op)(dim=dim, keepdim=keep)
    assert np.asarray(ours).dtype == np.bool_
    np.testing.assert_array_equal(ours, theirs.numpy())


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1, 1])
def test_sort_with_ties(dim, descending, rng):
    x = ties(rng, (4, 5, 3))
    compare(lambda a: a.sort(dim=dim, descending=descending).values,
            lambda t: torch.sort(t, dim=dim, descending=descending, stable=True).values, [x])
    ours = autograd.sort(x, dim, descending)
    theirs = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(ours.indices, theirs.indices.numpy())
    assert ours.indices.dtype == np.int64 and ours.values.op == "sort" and isinstance(ours, tuple)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim, k", [(-1, 2), (0, 1), (1, 4)])
def test_topk(dim, k, largest, rng):
    x = rng.permutation(60).reshape(4, 5, 3) / 7.0  # distinct: PyTorch's order among ties is unspecified
    compare(lambda a: a.topk(k, dim=dim, largest=largest).values,
            lambda t: torch.topk(t, k, dim=dim, largest=largest).values, [x])
    np.testing.assert_array_equal(autograd.topk(x, k, dim, largest).indices,
                                  torch.topk(torch.tensor(x), k, dim=dim, largest=largest).indices.numpy())


@pytest.mark.parametrize("dim", [0, -1, 1])
@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_with_ties(op, dim, rng):
    x = ties(rng, (4, 5, 3))
    compare(lambda a: getattr(a, op)(dim).values, lambda t: getattr(torch, op)(t, dim).values, [x])
    np.testing.assert_array_equal(getattr(autograd.Value(x), op)(dim=dim).indices,
                                  getattr(torch, op)(torch.tensor(x), dim).indices.numpy())


@pytest.mark.parametrize("dim", [0, -1, 1])
def test_cumsum_cumprod_logcumsumexp(dim, rng):
    x = rng.normal(size=(4, 5, 3))
    compare(lambda a: a.cumsum(dim), lambda t: t.cumsum(dim), [x])
    compare(lambda a: autograd.logcumsumexp(a, dim=dim), lambda t: t.logcumsumexp(dim), [x * 3])
    compare(lambda a: a.cumprod(dim=dim), lambda t: t.cumprod(dim), [x])
    z = x.copy()
    z.reshape(-1)[[0, 4, 7, 20, 31, 33]] = 0.0  # rows with one zero, with two
    compare(lambda a: a.cumprod(dim=dim), lambda t: t.cumprod(dim), [z])


def test_logcumsumexp_does_not_overflow():
    x = np.array([-1000.0, 0.0, 5.0, 800.0])
    compare(lambda a: a.logcumsumexp(0), lambda t: t.logcumsumexp(0), [x])


def test_second_order_prod_and_cumprod_with_zeros(rng):
    """create_graph=True through the zero-safe rules: the Hessian-vector products agree."""
    x = np.array([[2.0, 0.0, 3.0, 0.5], [0.0, 1.0, 2.0, 0.0], [1.0, -2.0, 3.0, 4.0]])
    w, v = rng.normal(size=x.shape), rng.normal(size=x.shape)
    for ours_fn, torch_fn in [(lambda a: a.prod(1), lambda t: t.prod(1)), (lambda a: a.cumprod(1), lambda t: t.cumprod(1))]:
        a = autograd.Value(x)
        (g,) = autograd.grad((ours_fn(a) * w[:, :ours_fn(a).shape[-1]] if ours_fn(a).ndim > 1 else
                              ours_fn(a) * w[:, 0]).sum(), [a], create_graph=True)
        (h,) = autograd.grad((g * v).sum(), [a])
        t = torch.tensor(x, requires_grad=True)
        out = torch_fn(t)
        tw = torch.tensor(w[:, :out.shape[-1]] if out.ndim > 1 else w[:, 0])
        (tg,) = torch.autograd.grad((out * tw).sum(), [t], create_graph=True)
        (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), [t])
        np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-6, atol=1e-9)
