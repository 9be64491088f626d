"""The LSTM's whole-sequence input projection: its graph, its second derivatives against PyTorch, and the
engine's in-place gradient of slices (a[t] for every step) that makes it cheap."""
from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd import Value, grad
from autograd.engine import topological_order


def test_lstm_records_one_projection_per_layer_and_one_step_node_per_step():
    lstm = nn.LSTM(3, 4, num_layers=2, seed=0)
    x = Value(np.random.default_rng(0).normal(size=(5, 2, 3)))
    out, _ = lstm(x)
    ops = [n.op for n in topological_order(out)]
    assert ops.count("linear") == 2                      # x·W_ihᵀ + b_ih over all 5 steps, per layer
    assert ops.count("lstm_cell") == 2 and ops.count("lstm_step") == 8  # zero state at step 1, then 4 steps
    labels = {n.label for n in topological_order(out)}
    assert {"h1", "h5", "c3", "l0.h2", "x·W_ihᵀ + b", "l0.x·W_ihᵀ + b"} <= labels
    h3 = next(n for n in topological_order(out) if n.label == "h3")
    assert grad(out[4].sum(), [h3])[0].shape == (2, 4)   # a step's state is still a node to ask about


def test_slices_of_one_array_add_up_in_place_without_touching_shared_gradients():
    a = Value(np.arange(6.0).reshape(3, 2))
    b = Value(np.ones((3, 2)))
    u = a + b                                  # add hands the same g to a and to b
    loss = (u * 2).sum() + (a[0] * 3).sum() + (a[1:] * a[1:]).sum() + a[-1, 1] * 5
    loss.backward()
    expected = np.full((3, 2), 2.0)
    expected[0] += 3
    expected[1:] += 2 * a.data[1:]
    expected[2, 1] += 5
    np.testing.assert_allclose(a.grad, expected)
    np.testing.assert_allclose(b.grad, np.full((3, 2), 2.0))   # not the slices' additions
    e = Value(np.arange(3, dtype=np.float32))
    (e[1] * 2 + e[1] + e[:2].sum()).backward()             # float32 elements: 0-d arrays, not views
    np.testing.assert_allclose(e.grad, [1.0, 4.0, 0.0])
    assert e.grad.dtype == np.float32
    c = Value(np.arange(4.0))
    loss = (c[[0, 0, 1]] * 1).sum() + c[0] * 2              # repeated indices: add.at, the general path
    loss.backward()
    np.testing.assert_allclose(c.grad, [4.0, 1.0, 0.0, 0.0])


@pytest.mark.oracle
def test_lstm_second_derivatives_match_torch():
    """create_graph=True through lstm_step and the slices of the projection: grad of a grad as torch's."""
    torch = pytest.importorskip("torch", exc_type=ImportError)
    rng = np.random.default_rng(3)
    ours = nn.LSTM(3, 4, num_layers=2, batch_first=True, seed=1)
    theirs = nn.to_torch(ours).double()
    x, h0, c0 = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 2, 4)), rng.normal(size=(2, 2, 4))
    xs = [Value(a) for a in (x, h0, c0)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    wout = rng.normal(size=(2, 4, 4))
    out, _ = ours(xs[0], (xs[1], xs[2]))
    tout, _ = theirs(ts[0], (ts[1], ts[2]))
    gs = grad((out * wout).sum(), xs, create_graph=True)
    tgs = torch.autograd.grad((tout * torch.tensor(wout)).sum(), ts, create_graph=True)
    probe = [rng.normal(size=a.shape) for a in (x, h0, c0)]
    second = grad(sum((g * p).sum() for g, p in zip(gs, probe)), xs + [ours.weight_hh_l0])
    tsecond = torch.autograd.grad(sum((g * torch.tensor(p)).sum() for g, p in zip(tgs, probe)),
                                  ts + [theirs.weight_hh_l0])
    for a, b in zip(second, tsecond):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-6, atol=1e-9)


def test_a_saving_op_with_two_inputs_keeps_what_its_forward_saved():
    """apply() of a saves=True op with two inputs and no attrs must not take apply2's path,
    which keeps no saved= for the backward (lstm_cell once needed a dummy attr for this)."""
    from autograd.ops.sequence import lstm_cell
    rng = np.random.default_rng(0)
    z, c = Value(rng.normal(size=(3, 8))), Value(rng.normal(size=(3, 2)))
    out = lstm_cell(z, c)
    assert not out.attrs and out._details.extra and "saved" in out._details.extra
    out.backward(rng.normal(size=out.shape))
    assert z.grad.shape == (3, 8) and c.grad.shape == (3, 2)


def test_the_lstm_cell_formula_keeps_its_gate_apart_from_the_upstream_gradient():
    from autograd.viz import record
    from autograd.ops.sequence import lstm_cell
    z, c = Value(np.full((1, 8), 0.1), label="z"), Value(np.full((1, 2), 0.2), label="c")
    L = (lstm_cell(z, c) * 1.0).sum()
    L.label = "L"
    text = " ".join(s.text for s in record(L).steps)
    assert "c̃·i(1-i)" in text and "tanh(z_g)" in text


def test_a_forwards_transposed_weights_are_seen_by_its_own_thread_only():
    import threading

    from autograd.ops.lstm import _HELD, _lstm_step, transposed
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 4))
    p, h, c = rng.standard_normal((2, 16)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    seen = {}
    with transposed(w):
        w *= 0.5  # changed in place after the copy (as an optimizer in another thread would)
        worker = threading.Thread(target=lambda: seen.setdefault("other", _lstm_step(p, h, c, w)))
        worker.start()
        worker.join()
    np.testing.assert_array_equal(seen["other"][0], _lstm_step(p, h, c, w.copy())[0])  # the live numbers, not the copy
    assert not _HELD.__dict__.get("transposed")


def test_transposed_leaves_no_copy_behind_when_a_copy_fails():
    from autograd.ops.lstm import _HELD, transposed

    class Refuses:
        @property
        def T(self):
            raise MemoryError("no room for the copy")
    with pytest.raises(MemoryError):
        with transposed(np.ones((8, 2)), Refuses()):
            pass
    assert not _HELD.__dict__.get("transposed")
