"""RNNCell and RNN: the recurrence by hand, backprop through time by finite differences."""
import numpy as np
import pytest

import nn
from autograd import ShapeError, Value, gradcheck, topological_order


def reference_rnn(params, xs, h0=None):
    """The recurrence in plain numpy: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""
    w_ih, w_hh, b_ih, b_hh = params
    h = np.zeros(xs.shape[1:-1] + (w_ih.shape[0],)) if h0 is None else h0
    hs = []
    for x in xs:
        h = np.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        hs.append(h)
    return np.stack(hs), h


def random_params(model, rng):
    for p in model.parameters():
        p.data[...] = rng.normal(scale=0.5, size=p.shape)
    return [p.data for p in model.parameters()]


def test_parameters_are_shaped_and_named_like_torch():
    cell = nn.RNNCell(3, 5, seed=0)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (5, 3)), ("weight_hh", (5, 5)), ("bias_ih", (5,)), ("bias_hh", (5,))]
    rnn = nn.RNN(3, 5, seed=0)
    assert [n for n, _ in rnn.named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert [p.label for p in rnn.parameters()] == [n for n, _ in rnn.named_parameters()]
    assert [n for n, _ in nn.RNN(3, 5, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


def test_cell_computes_one_step(rng):
    cell = nn.RNNCell(3, 4, seed=0)
    params = random_params(cell, rng)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    _, expected = reference_rnn(params, x[None], h)
    np.testing.assert_allclose(cell(x, h).data, expected)
    _, from_zero = reference_rnn(params, x[None])
    np.testing.assert_allclose(cell(x).data, from_zero)   # h=None is a zero state
    np.testing.assert_allclose(cell(x[0], h[0]).data, expected[0])   # one unbatched example


def test_rnn_unrolls_the_cell_over_the_sequence(rng):
    rnn = nn.RNN(2, 3, seed=0)
    params = random_params(rnn, rng)
    xs, h0 = rng.normal(size=(6, 4, 2)), rng.normal(size=(4, 3))
    outputs, h = rnn(xs, h0)
    ref_out, ref_h = reference_rnn(params, xs, h0)
    assert outputs.shape == (6, 4, 3) and h.shape == (1, 4, 3)   # h_n: (num_layers, batch, hidden), as PyTorch
    np.testing.assert_allclose(outputs.data, ref_out)
    np.testing.assert_allclose(h.data[0], ref_h)
    labels = [n.label for n in topological_order(h) if n.op == "tanh"]
    assert labels == [f"h{t}" for t in range(1, 7)]


def test_batch_first_unbatched_and_list_inputs_agree(rng):
    rnn = nn.RNN(2, 3, seed=0)
    xs = rng.normal(size=(5, 4, 2))
    out, h = rnn(xs)
    rnn_bf = nn.RNN(2, 3, batch_first=True, seed=0)
    out_bf, h_bf = rnn_bf(xs.transpose(1, 0, 2))
    np.testing.assert_allclose(out_bf.data, out.data.transpose(1, 0, 2))
    np.testing.assert_allclose(h_bf.data, h.data)
    single, h_single = rnn(xs[:, 0])
    np.testing.assert_allclose(single.data, out.data[:, 0])
    np.testing.assert_allclose(h_single.data, h.data[:, 0])
    listed, _ = rnn([Value(x) for x in xs])
    np.testing.assert_allclose(listed.data, out.data)


def test_backprop_through_time_matches_finite_differences(rng):
    rnn = nn.RNN(2, 3, seed=0)
    random_params(rnn, rng)
    xs, target = rng.normal(size=(5, 2, 2)), rng.normal(size=(5, 2, 3))
    h0 = Value(rng.normal(size=(2, 3)), label="h0")

    def loss(*params_and_h0):
        out, _ = rnn(xs, params_and_h0[-1])
        return nn.mse(out, target)

    gradcheck(loss, rnn.parameters() + [h0])


def test_gradient_reaches_early_inputs_through_every_step(rng):
    rnn = nn.RNN(1, 4, seed=0)
    xs = Value(rng.normal(size=(8, 1, 1)), label="xs")
    _, h = rnn(xs)
    h.sum().backward()
    assert np.all(xs.grad[0] != 0)          # the first input still affects the last state
    gradcheck(lambda x: rnn(x)[1].sum(), [Value(rng.normal(size=(4, 1)))])


def test_rnn_trains_to_remember_the_first_input():
    rng = np.random.default_rng(0)
    xs = rng.choice([-1.0, 1.0], size=(3, 32, 1))
    target = xs[0]
    rnn = nn.RNN(1, 8, seed=0)
    head = nn.Linear(8, 1, seed=1)
    opt = nn.Adam(rnn.parameters() + head.parameters(), lr=0.05)
    first = None
    for _ in range(150):
        _, h = rnn(xs)
        loss = nn.mse(head(h[-1]), target)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first


def test_bad_shapes_name_the_rnn_and_the_shapes():
    rnn = nn.RNN(2, 3)
    with pytest.raises(ShapeError, match=r"RNN\(2, 3\): expects a sequence of shape \(seq, batch, input_size\).*"
                                         r"input_size=2; got shape \(5, 4, 3\)"):
        rnn(np.zeros((5, 4, 3)))
    with pytest.raises(ShapeError, match=r"RNN\(2, 3\): h0 must have shape \(1, 4, 3\).*got \(4, 5\)"):
        rnn(np.zeros((5, 4, 2)), np.zeros((4, 5)))
    with pytest.raises(ShapeError, match="empty sequence"):
        rnn(np.zeros((0, 4, 2)))
    with pytest.raises(ShapeError, match=r"RNNCell\(2, 3\): expects inputs of shape \(batch, 2\).*got shape \(4, 1\)"):
        nn.RNNCell(2, 3)(np.zeros((4, 1)))
