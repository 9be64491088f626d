"""Edge cases found in review: empty axes, infinities, zero powers, hooks, pickling."""
import copy
import pickle

import numpy as np
import pytest

from autograd import Value, topological_order


def _at(nodes, node):
    """node's position in nodes, by identity (== between Values is elementwise, so list.index is not)."""
    return next(i for i, n in enumerate(nodes) if n is node)


def test_broadcasting_is_undone_for_an_empty_batch():
    a, b = Value(np.ones((0, 3))), Value(np.ones(3))
    (a * b).sum().backward()
    assert b.grad.shape == (3,) and np.all(b.grad == 0)


def test_relu_of_minus_infinity_is_zero_not_nan():
    assert Value(float("-inf")).relu().data == 0.0
    out = Value(np.array([-np.inf, 2.0], dtype=np.float32)).relu()
    assert out.data.tolist() == [0.0, 2.0] and out.dtype == np.float32


def test_zero_powers_have_zero_gradients_like_pytorch():
    x = Value(0.0)
    (x ** 0).backward()
    assert x.grad == 0.0
    a, p = Value(0.0), Value(2.0)
    (a ** p).backward()
    assert (a.grad, p.grad) == (0.0, 0.0)
    t = Value(np.array([0.0, 2.0]))
    (t ** 0).sum().backward()
    assert t.grad.tolist() == [0.0, 0.0]


def test_numpy_number_exponents_are_accepted():
    x = Value(3.0)
    y = x ** np.int64(2)
    y.backward()
    assert (y.data, x.grad) == (9.0, 6.0)
    assert (Value(4.0) ** np.float32(0.5)).data == 2.0


def test_a_hook_may_return_a_value():
    y = Value(2.0)
    y.register_hook(lambda g: Value(5.0))
    (y * 1).backward()
    assert y.grad == 5.0


def test_values_pickle_with_their_graph():
    w = Value(np.array([1.0, 2.0]), label="w")
    out = pickle.loads(pickle.dumps((w * 2).sum()))
    assert out.data == 6.0 and out.op == "sum"
    (mul,) = out.parents
    assert mul.op == "mul" and mul.parents[0].label == "w"
    out.backward()
    assert mul.parents[0].grad.tolist() == [2.0, 2.0]


def test_copied_and_unpickled_graphs_keep_their_order_and_grow_correctly():
    """topological_order sorts by depth (1 + the deepest input): copies keep it, new ops build on it."""
    x = Value(2.0, label="x")
    deep = x
    for _ in range(5):
        deep = deep * 1.0
    for restored in (pickle.loads(pickle.dumps(deep)), copy.deepcopy(deep)):
        (leaf,) = [n for n in topological_order(restored) if n.label == "x"]
        out = restored * Value(3.0) + leaf  # a fresh leaf and an old one, mixed
        order = topological_order(out)
        assert all(_at(order, p) < _at(order, n) for n in order for p in n.parents)
        out.backward()
        assert leaf.grad == 4.0


def test_setting_grad_needs_the_shape_of_data():
    x = Value(1.0)
    with pytest.raises(ValueError, match=r"shape of data \(\)"):
        x.grad = np.ones(3)
    t = Value(np.zeros((2, 2)))
    t.grad = np.ones((2, 2))
    assert t.grad.sum() == 4.0


def test_every_grad_is_a_writable_array_of_its_own():
    x = Value(np.ones(3))
    y = x * 2
    z = y + 1
    z.sum().backward()
    grads = [x.grad, y.grad, z.grad]
    assert all(g.flags.writeable for g in grads)
    assert len({id(g) for g in grads}) == 3
    y.grad += 1  # changing one node's gradient leaves the others alone
    assert z.grad.tolist() == [1.0, 1.0, 1.0]


def test_a_0d_float32_node_gets_a_0d_float32_grad():
    a = Value(np.array(2.0, dtype=np.float32))
    (a * a).backward()
    assert type(a.grad) is np.ndarray and a.grad.dtype == np.float32 and a.grad.shape == ()


def test_deepcopy_of_a_deep_graph_needs_no_recursion():
    x = Value(1.0, label="x")
    y = x
    for _ in range(20_000):
        y = y * 1.0 + 0.0
    z = copy.deepcopy(y)
    assert z.data == y.data and z is not y
    leaves = [n for n in topological_order(z) if n.label == "x"]
    assert len(leaves) == 1 and leaves[0] is not x
    z.backward()
    assert leaves[0].grad == 1.0 and x.grad == 0.0
