"""Plain SGD's two ways of computing w -= lr·g (nn/optim.py): a temporary below glibc's largest
dynamic mmap threshold, an array kept per parameter at and above it. Both give w - lr·g exactly,
in place (the parameter's array stays the same object, its layout kept), and the kept array
follows a gradient whose shape or dtype changes."""
import numpy as np
import pytest

import nn
from nn.optim import ALWAYS_MAPPED
from autograd import Value

rng = np.random.default_rng(11)


@pytest.mark.parametrize("shape,order", [((3, 4), "C"), ((64, 32), "F"), ((ALWAYS_MAPPED // 8,), "C")])
def test_update_is_w_minus_lr_g_in_place(shape, order):
    w0 = np.asarray(rng.normal(size=shape), order=order)
    p = Value(w0.copy(order="K"))
    opt = nn.SGD([p], lr=0.05)
    for _ in range(2):  # twice: the kept array (large case) is reused
        data = p.data
        g = np.asarray(rng.normal(size=shape), order=order)
        expected = data - 0.05 * g
        p.grad = g
        opt.step()
        assert p.data is data and np.array_equal(p.data, expected)
        assert p.data.flags.f_contiguous if order == "F" else p.data.flags.c_contiguous
        np.testing.assert_array_equal(p.grad, g)  # .grad untouched


def test_the_kept_array_follows_a_new_gradient_dtype():
    n = ALWAYS_MAPPED // 4  # float32: 16 MiB; float64: 32 MiB
    p = Value(np.zeros(n))
    opt = nn.SGD([p], lr=1.0)
    p.grad = np.ones(n)
    opt.step()
    p.grad = np.full(n, 2.0, np.float32)  # a float32 gradient (a dtype nobody should set, but allowed)
    opt.step()
    assert p.data.dtype == np.float64 and p.data[0] == -3.0 and p.data[-1] == -3.0


def test_a_numpy_lr_and_float_parameters():
    p, q = Value(np.ones(4)), Value(2.0)
    opt = nn.SGD([p, q], lr=np.float32(0.5))
    p.grad, q.grad = np.full(4, 2.0), 1.0
    opt.step()
    assert np.array_equal(p.data, np.zeros(4)) and q.data == 1.5
