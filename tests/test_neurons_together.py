"""autograd.functional.neurons (a layer's neurons built together, example mode) gives the nodes,
numbers and gradients of one neuron() call per row, bit for bit."""
import numpy as np
import pytest

from autograd import Value
from autograd.engine import backprop
from autograd.functional import neuron, neurons


def layer(rng, dtype=np.float64, nout=4, nin=3):
    w = Value(rng.normal(size=(nout, nin)).astype(dtype), label="W")
    b = Value(rng.normal(size=nout).astype(dtype), label="b")
    xs = [Value(float(v), label=f"x{i}") for i, v in enumerate(rng.normal(size=nin))]
    return w, b, xs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_neurons_equal_one_neuron_per_row(dtype):
    rng = np.random.default_rng(0)
    w, b, xs = layer(rng, dtype)
    together = neurons(w, b, xs)
    apart = [neuron(w, b, xs, row=j) for j in range(4)]
    for t, a in zip(together, apart):
        assert t.data == a.data and type(t.data) is type(a.data)
        assert t.op == a.op == "neuron" and t.attrs == a.attrs
        assert all(p is q for p, q in zip(t.parents, a.parents))
    # the same gradients, bit for bit, for a loss that uses every neuron twice
    seeds = [1.5, -0.25, 2.0, 0.75]
    loss_t = sum((n.tanh() * s + n * n for n, s in zip(together, seeds)), Value(0.0))
    loss_a = sum((n.tanh() * s + n * n for n, s in zip(apart, seeds)), Value(0.0))
    gt, ga = backprop([loss_t], [1.0]), backprop([loss_a], [1.0])
    for v in [w, b, *xs]:
        np.testing.assert_array_equal(gt[v], ga[v])


def test_numbers_become_constant_leaves_and_a_mismatch_is_refused():
    rng = np.random.default_rng(1)
    w, b, _ = layer(rng)
    out = neurons(w, b, [0.5, -1.0, 2.0])
    assert [n.data for n in out] == [neuron(w, b, [0.5, -1.0, 2.0], row=j).data for j in range(4)]
    assert not out[0].parents[2].requires_grad
    with pytest.raises(Exception, match="neuron"):
        neurons(w, b, [0.5, 1.0])
