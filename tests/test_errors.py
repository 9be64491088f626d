"""Errors: the right type, a message that names the op and the shapes (or says what is
accepted and how to fix it), and nothing changed by an op that failed."""
from __future__ import annotations

import re

import numpy as np
import pytest

from autograd import GradcheckError, ShapeError, Value, concat, grad, gradcheck, neuron, stack, where


def ones(*shape):
    return Value(np.ones(shape))


# (id, action, error type, strings the message must contain)
SHAPE_ERRORS = [
    ("add", lambda: ones(2, 3) + ones(4), ["add", "(2, 3)", "(4,)"]),
    ("mul", lambda: ones(3, 2) * ones(3), ["mul", "(3, 2)", "(3,)"]),
    ("mul_array", lambda: ones(3, 2) * np.ones(3), ["mul", "(3, 2)", "(3,)"]),
    ("sub_reflected", lambda: np.ones((5,)) - ones(2), ["sub", "(5,)", "(2,)"]),
    ("matmul", lambda: ones(2, 3) @ ones(4, 5), ["matmul", "(2, 3)", "(4, 5)"]),
    ("matmul_batch", lambda: ones(2, 2, 3) @ ones(3, 3, 1), ["matmul", "(2, 2, 3)", "(3, 3, 1)"]),
    ("matmul_scalar", lambda: Value(2.0) @ ones(2), ["matmul", "()", "(2,)", "use *"]),
    ("concat", lambda: concat([ones(2, 3), ones(2, 4)], axis=0), ["concat", "(2, 3)", "(2, 4)"]),
    ("concat_ndim", lambda: concat([ones(2, 3), ones(3)]), ["concat", "(2, 3)", "(3,)"]),
    ("stack", lambda: stack([ones(2), ones(3)]), ["stack", "(2,)", "(3,)"]),
    ("reshape", lambda: ones(3).reshape(2, 2), ["reshape", "(3,)", "(2, 2)"]),
    ("broadcast_to", lambda: ones(3).broadcast_to((2,)), ["broadcast_to", "(3,)", "(2,)"]),
    ("transpose", lambda: ones(2, 3).transpose((0, 0)), ["transpose", "(0, 0)", "(2, 3)"]),
    ("mT", lambda: ones(3).mT, ["mT", "(3,)"]),
    ("neuron", lambda: neuron(np.ones(3), 0.0, [Value(1.0)]), ["neuron", "(3,)", "1 scalar input"]),
    ("where", lambda: where(np.ones(3, bool), ones(2), ones(3)), ["where", "(2,)", "(3,)"]),
    ("where_cond", lambda: where(np.ones(4, bool), ones(3), 0.0), ["where", "cond of shape (4,)", "(3,)"]),
    ("sum_axis", lambda: ones(3).sum(axis=2), ["sum", "axis 2", "(3,)"]),
    ("softmax_axis", lambda: ones(2, 3).softmax(axis=-3), ["softmax", "axis -3", "(2, 3)"]),
]


@pytest.mark.parametrize("action, needles", [(a, n) for _, a, n in SHAPE_ERRORS], ids=[i for i, _, _ in SHAPE_ERRORS])
def test_shape_errors_name_the_op_and_the_shapes(action, needles):
    with pytest.raises(ShapeError) as err:
        action()
    assert isinstance(err.value, ValueError)  # ShapeError is a ValueError: `except ValueError` still works
    for needle in needles:  # spacing aside: numpy writes (2,2) where we write (2, 2)
        assert needle.replace(" ", "") in str(err.value).replace(" ", ""), f"{needle!r} missing from: {err.value}"


ACCEPTED = "int/float"


@pytest.mark.parametrize("bad", ["abc", None, np.array([object()]), [1, [2, 3]], {"a": 1}, np.array(["x"])],
                         ids=["str", "None", "object-array", "ragged-list", "dict", "str-array"])
def test_value_rejects_non_numbers_saying_what_is_accepted(bad):
    with pytest.raises(TypeError, match="Value()") as err:
        Value(bad)
    assert ACCEPTED in str(err.value) and "numpy array" in str(err.value)


@pytest.mark.parametrize("good, shape", [(3, ()), (True, ()), (np.float32(1.5), ()), ([1, 2], (2,)),
                                         (np.array([[1, 0]], dtype=np.int64), (1, 2)), (np.ones(2, bool), (2,))])
def test_value_accepts_numbers_and_numeric_arrays(good, shape):
    v = Value(good)
    assert v.shape == shape and v.dtype.kind == "f"


def test_backward_on_a_tensor_asks_for_a_seed():
    out = ones(3, 4) * 2
    with pytest.raises(ValueError) as err:
        out.backward()
    assert ".sum().backward()" in str(err.value) and "(3, 4)" in str(err.value)
    out.backward(np.ones((3, 4)))  # an explicit seed of the right shape works
    np.testing.assert_array_equal(out.parents[0].grad, np.full((3, 4), 2.0))


def test_backward_seed_of_the_wrong_shape():
    with pytest.raises(ValueError, match=re.escape("(2,)") + ".*" + re.escape("(3,)")):
        (ones(3) * 2).backward(np.ones(2))


def test_backward_without_any_leaf_requiring_grad():
    a, b = Value(2.0, requires_grad=False), Value(np.ones(2), requires_grad=False)
    out = (a * b).sum()
    assert not out.requires_grad
    with pytest.raises(RuntimeError, match="requires_grad"):
        out.backward()


def test_grad_with_an_unused_input_mentions_allow_unused():
    x, unused = Value(2.0), Value(1.0, label="w")
    y = x * 3
    with pytest.raises(ValueError, match="allow_unused") as err:
        grad(y, [x, unused])
    assert "#1" in str(err.value) and "w" in str(err.value)
    gx, gw = grad(y, [x, unused], allow_unused=True)
    assert gx.data == 3.0 and gw is None


def test_grad_input_that_does_not_require_grad():
    x = Value(2.0, requires_grad=False)
    with pytest.raises(ValueError, match="requires_grad=False"):
        grad(x * Value(1.0), [x])


def test_grad_outputs_count_must_match():
    x = Value(2.0)
    with pytest.raises(ValueError, match="2 outputs but 1 grad_outputs"):
        grad([x * 2, x * 3], [x], grad_outputs=[1.0])


def test_a_failed_op_changes_nothing():
    a, b = ones(2, 3), ones(4, 5)
    (a.sum() + b.sum()).backward()
    before = [a.data.copy(), b.data.copy(), a.grad.copy(), b.grad.copy()]
    for bad in (lambda: a @ b, lambda: a + b, lambda: concat([a, b]), lambda: a.reshape(7)):
        with pytest.raises(ShapeError):
            bad()
    for now, then in zip([a.data, b.data, a.grad, b.grad], before):
        np.testing.assert_array_equal(now, then)


def test_a_failed_backward_changes_no_grad():
    x = Value(np.array([1.0, 2.0]))
    (x * 3).sum().backward()
    with pytest.raises(ValueError):
        (x * 3).backward(np.ones(5))
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_scalar_only_methods_on_tensors():
    with pytest.raises(ValueError, match=re.escape("(2, 2)")):
        ones(2, 2).item()
    with pytest.raises(TypeError, match="ambiguous"):
        bool(ones(2))
    with pytest.raises(TypeError, match="exponent"):
        ones(2) ** "2"
    with pytest.raises(TypeError, match="boolean"):
        where(np.ones(3), ones(3), 0.0)
    with pytest.raises(TypeError, match="index"):
        ones(3)["a"]


def test_gradcheck_reports_input_index_and_both_values():
    x = Value(np.array([1.0, 2.0]), label="x")
    with pytest.raises(GradcheckError) as err:
        gradcheck(lambda v: v.detach() * v, [x])  # analytic d/dx = x, numeric 2x
    message = str(err.value)
    assert "input #0 (x, shape (2,))" in message
    assert "at index (1,): analytic 2 vs numeric 4" in message  # the worst element
    assert isinstance(err.value, AssertionError)  # pytest shows it as a failed check


def test_gradcheck_names_the_wrong_input_among_several():
    a, b = Value(np.array([0.5, 1.5])), Value(np.array([2.0, -1.0]))
    with pytest.raises(GradcheckError, match=r"input #1 .*analytic 2 vs numeric 4"):
        gradcheck(lambda p, q: p + q.detach() * q, [a, b])
    assert gradcheck(lambda p, q: p + q * q, [a, b])  # the honest version passes


def test_an_axis_must_be_an_int():
    with pytest.raises(TypeError, match=r"sum: axis must be an int, a tuple of ints or None, got True"):
        ones(2, 3).sum(axis=True)
    with pytest.raises(TypeError, match=r"max: axis must be an int.*got 1.5"):
        ones(2, 3).max(axis=1.5)
