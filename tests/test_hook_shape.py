"""A backward hook that returns a gradient of the wrong shape is named, with both shapes (as PyTorch
refuses it: "hook 'name' has changed the size of value"), instead of an internal error."""
import numpy as np
import pytest

from autograd import grad
from autograd.value import Value


def test_a_hook_returning_the_wrong_shape_is_named_with_both_shapes():
    w = Value(np.ones(3), label="w")

    def clip_gradient(g):
        return g[:2]

    w.register_hook(clip_gradient)
    with pytest.raises(RuntimeError) as e:
        (w * 2).sum().backward()
    msg = str(e.value)
    assert "hook 'clip_gradient' (test_hook_shape.py:13) has changed the size of value" in msg
    assert "has changed the size of value" in msg and "shape (2,)" in msg and "leaf 'w' of shape (3,)" in msg
    assert "internal" not in msg


def test_a_broadcastable_shape_is_refused_too_and_on_inner_nodes():
    x = Value(np.ones((2, 3)))
    h = x * 3
    h.label = "h"
    h.register_hook(lambda g: np.ones((1, 3)))
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' \(test_hook_shape.py:\d+\) has changed the size of value: it returned a "
                                           r"gradient of shape \(1, 3\) for the mul node 'h' of shape \(2, 3\)"):
        h.sum().backward()


def test_with_create_graph_and_on_scalars():
    x = Value(2.0)
    x.register_hook(lambda g: Value(np.ones(2)))
    with pytest.raises(RuntimeError, match=r"shape \(2,\) for the leaf \(unlabelled\) of shape \(\)"):
        grad(x * x, [x], create_graph=True)
    y = Value(np.ones(3))
    y.register_hook(lambda g: g * 10)          # the right shape still replaces the gradient
    (y * 1).sum().backward()
    assert y.grad.tolist() == [10.0, 10.0, 10.0]


@pytest.mark.oracle
def test_pytorch_refuses_the_same_hook():
    torch = pytest.importorskip("torch")
    t = torch.ones(3, dtype=torch.float64, requires_grad=True)
    t.register_hook(lambda g: g[:2])
    with pytest.raises(RuntimeError, match="has changed the size of value"):
        (t * 2).sum().backward()
