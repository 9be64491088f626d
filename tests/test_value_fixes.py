"""Fixes found by the peer suite and a review: micrograd's positional Value arguments refused
with a message, 0-d indexing, backward(gradient=), dim=/keepdim= synonyms, // and %."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
from autograd import Value


@pytest.mark.parametrize("args", [(1.0, (), ""), (1.0, (Value(2.0),), "+"), (1.0, None), (1.0, "x", "yes"),
                                  (1.0, "x", 1)])
def test_micrograds_positional_arguments_are_refused_with_what_the_arguments_are(args):
    with pytest.raises(TypeError) as err:
        Value(*args)
    text = str(err.value)
    assert "Value(data, label='', requires_grad=True)" in text
    assert ("label must be a str" in text) if not isinstance(args[1], str) else ("requires_grad must be a bool" in text)
    assert "_children" in text  # says what the micrograd-style call meant and how inputs are recorded instead


def test_labels_and_flags_that_are_fine():
    assert Value(1.0, np.str_("x")).label == "x"
    assert Value(1.0, "x", np.bool_(False)).requires_grad is False
    assert Value(1.0, label="x", requires_grad=False).label == "x"


def test_a_0d_value_indexes_like_a_0d_array():
    x = Value(2.0, label="x")
    y = x[None]
    assert y.shape == (1,) and y.data.tolist() == [2.0]
    assert x[None, None].shape == (1, 1) and x[...].shape == () and x[()].shape == ()
    (y * 3.0).sum().backward()
    assert x.grad == 3.0 and type(x.grad) is float
    z = Value(np.float32(2.0))  # a 0-d float32 array
    assert z[None].shape == (1,) and z[None].dtype == np.float32
    with pytest.raises(IndexError, match="getitem"):
        x[0]  # as numpy: a 0-d array has no axis 0


def test_backward_takes_pytorchs_gradient_keyword():
    x = Value(np.array([1.0, 2.0]))
    (x * 3.0).backward(gradient=np.array([1.0, 0.5]))
    np.testing.assert_array_equal(x.grad, [3.0, 1.5])
    (x * 3.0).backward(np.array([1.0, 1.0]))  # positional, as before
    np.testing.assert_array_equal(x.grad, [6.0, 4.5])
    (x * 1.0).backward(grad=np.array([1.0, 1.0]), retain_graph=True)  # the older keyword; retain_graph is accepted
    np.testing.assert_array_equal(x.grad, [7.0, 5.5])
    with pytest.raises(TypeError, match="both gradient= and grad="):
        (x * 1.0).backward(gradient=np.ones(2), grad=np.ones(2))


def test_dim_and_keepdim_everywhere_an_axis_is_taken():
    a, b = Value(np.ones((2, 3))), Value(np.zeros((2, 3)))
    assert autograd.concat([a, b], dim=1).shape == (2, 6)
    assert autograd.stack([a, b], dim=-1).shape == (2, 3, 2)
    assert a.softmin(dim=0).shape == (2, 3) and autograd.softmin(a, dim=1).shape == (2, 3)
    assert a.sum(dim=1, keepdim=True).shape == (2, 1) and a.softmax(dim=0).shape == (2, 3)
    with pytest.raises(TypeError, match="both axis= and dim="):
        autograd.concat([a, b], 1, dim=0)


def test_floor_division_and_remainder_dunders():
    a, b = Value(np.array([5.5, -5.5, 5.5])), Value(np.array([2.0, 2.0, -2.0]))
    np.testing.assert_array_equal((a // b).data, [2.0, -3.0, -3.0])
    np.testing.assert_array_equal((a % b).data, [1.5, 0.5, -0.5])
    np.testing.assert_array_equal((7.0 // Value(2.0)).data, 3.0)
    np.testing.assert_array_equal((np.array([7.0]) % Value(2.0)).data, [1.0])  # ndarray on the left
    (a % b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(b.grad, [-2.0, 3.0, 3.0])  # -floor(a/b), PyTorch's remainder rule


def test_scalar_fast_path_of_the_new_ops():
    """Python floats in -> Python floats out, through math where it can."""
    x = Value(0.3)
    for out in (x.sin(), x.erf(), x.log1p(), x.floor(), x.round(), x.sign(), x.clamp(0, 0.2), x.gelu(), x.silu(),
                x.leaky_relu(), x.softplus(), x.elu(), x.hardswish(), x.maximum(0.5), x % 0.2, x // 0.2):
        assert type(out.data) is float, out.op
        out.backward()
    assert type(x.grad) is float
