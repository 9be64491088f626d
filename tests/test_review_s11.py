"""Review of session 11 (autograd.blas's weight layout; cross_entropy on empty batches, ignored
targets and non-finite logits): what PyTorch's behaviour, or a jitted step, showed to be wrong."""
from __future__ import annotations

import sys
import warnings
from unittest import mock

import numpy as np
import pytest

import nn
from autograd import Value, blas, jit
from test_jit_memory_plan import step_of  # the plain training step, loss keywords passed on

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", [{}, {"reduction": "sum"}, {"ignore_index": 0}])
def test_a_jitted_step_on_an_empty_batch_replays_the_eager_nan_without_dividing_by_zero(dtype, kwargs):
    """The eager rule of an empty batch was fixed; the jit's cross_entropy kernel still divided by
    its 0 rows (float64: ZeroDivisionError at the replay's code generation; float32: 0/0 warnings)."""
    models = [nn.MLP(4, [8, 3], seed=0).to(dtype) for _ in range(2)]
    eager, jitted = (step_of(m, nn.SGD(m.parameters(), lr=0.1), **kwargs) for m in models)
    jitted = jit(jitted)
    x, y = np.zeros((0, 4), dtype), np.zeros(0, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):  # capture, check, then the generated code alone
            expected, got = eager(x, y).item(), jitted(x, y).item()
            assert np.array_equal(expected, got, equal_nan=True)
    for p, q in zip(*(m.parameters() for m in models)):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("kwargs", [{"ignore_index": 1}, {"weight": np.array([1.0, 2.0, 0.5])},
                                    {"ignore_index": 1, "weight": np.array([1.0, 2.0, 0.5])}])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float32_label_smoothing_with_ignored_targets_or_weights_stays_float32(kwargs, reduction):
    """PyTorch keeps float32; the ignore mask (a bool array) made the smoothing term float64."""
    logits = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    for y in (np.array([0, 1, 2, 1]), np.array([1, 1, 1, 1])):  # some and every target ignored
        loss = nn.cross_entropy(Value(logits), y, label_smoothing=0.1, reduction=reduction, **kwargs)
        assert np.asarray(loss.data).dtype == np.float32
        t = {k: torch.tensor(v, dtype=torch.float32) if k == "weight" else v for k, v in kwargs.items()}
        expected = F.cross_entropy(torch.tensor(logits), torch.tensor(y), label_smoothing=0.1,
                                   reduction=reduction, **t)
        np.testing.assert_allclose(np.asarray(loss.data), expected.numpy(), rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(0, 4), (0, 4, 3), (2, 4, 0)])
def test_class_probability_targets_of_an_empty_batch_are_nan_without_a_warning(dtype, shape):
    z = Value(np.zeros(shape, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nn.cross_entropy(z, np.zeros(shape, dtype))
        loss.backward()
    assert np.isnan(loss.item()) and np.asarray(loss.data).dtype == dtype
    assert z.grad.shape == shape
    assert np.isnan(F.cross_entropy(torch.zeros(shape), torch.zeros(shape)).item())


@pytest.mark.parametrize("trouble", ["no ctypes", "odd path", "undecodable name"])
def test_openblas_core_never_raises(trouble):
    """nn.Layer asks for the layout of every new weight: a failed look-up must mean 'no OpenBLAS', not
    an exception out of nn.Linear(...)."""

    class Undecodable:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda: b"\xff\xfe"

    patches = {"no ctypes": mock.patch.dict(sys.modules, {"ctypes": None}),
               "odd path": mock.patch("ctypes.CDLL", side_effect=ValueError("embedded null byte")),
               "undecodable name": mock.patch("ctypes.CDLL", Undecodable)}
    blas.openblas_core.cache_clear()
    try:
        with patches[trouble]:
            core = blas.openblas_core()
        assert core is None or isinstance(core, str)
        assert blas.order_for_core(core) == "C"
    finally:
        blas.openblas_core.cache_clear()
