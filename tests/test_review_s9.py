"""Review of session 9 (commit 0c6b4a8: nn.Layer keeps its weight column-major).

What a user (or a test written from PyTorch's behaviour) must not notice: every path that reads or
writes a Layer weight gives the numbers of a row-major weight, and every buffer that meets the weight
in an elementwise update (its .grad, an optimizer's state) shares its layout: an update across
layouts is ~10-20x slower at (128, 128) (Adam's step ~2.7x), silently.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import nn
from autograd import Value, jit


# (the layout nn.Layer picks on an Intel AVX-512 OpenBLAS; elsewhere it picks row-major, see autograd.blas)
pytestmark = pytest.mark.usefixtures("column_major_layers")


def column_major(a) -> bool:
    return a.flags.f_contiguous and not a.flags.c_contiguous


def layout(a) -> str:
    return "F" if column_major(a) else "C" if a.flags.c_contiguous else "strided"


def train_step(model, opt):
    def step(x, y):
        loss = nn.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


# ---- optimizer state_dict round trips --------------------------------------------------------

OPTIMIZERS = {
    "adam": lambda ps: nn.Adam(ps, lr=1e-2),
    "adamw_amsgrad": lambda ps: nn.AdamW(ps, lr=1e-2, amsgrad=True),
    "sgd_momentum": lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
    "rmsprop_centered": lambda ps: nn.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_optimizer_state_loaded_back_keeps_the_weights_layout_and_its_numbers(name):
    """Resuming from a checkpoint (opt.load_state_dict(saved)) made every state buffer row-major for
    a column-major weight (nn/optim.py _loaded: np.array of the saved C-ordered copy): each later step
    then mixed layouts (Adam at (128, 128) float32: 35 -> 93 us a step)."""
    rng = np.random.default_rng(0)
    make = OPTIMIZERS[name]
    m1 = nn.MLP(5, [8, 3], seed=0)
    m2 = copy.deepcopy(m1)
    o1, o2 = make(m1.parameters()), make(m2.parameters())
    batches = [(rng.standard_normal((6, 5)), rng.integers(0, 3, 6)) for _ in range(4)]
    s1, s2 = train_step(m1, o1), train_step(m2, o2)
    for k, (x, y) in enumerate(batches):
        if k == 2:
            o2.load_state_dict(o2.state_dict())  # a resume: the saved copies loaded back
            for lay in m2.layers:
                for key, buf in o2.state[lay.weight].items():
                    if isinstance(buf, np.ndarray):
                        assert column_major(buf), f"{key} is {layout(buf)} for a column-major weight"
        assert s1(x, y).item() == s2(x, y).item()
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.oracle
def test_a_torch_adam_state_loads_into_the_weights_layout():
    torch = pytest.importorskip("torch")
    model = nn.Linear(4, 3, seed=0)
    twin = torch.nn.Linear(4, 3, dtype=torch.float64)
    topt = torch.optim.Adam(twin.parameters(), lr=1e-2)
    twin(torch.ones(2, 4, dtype=torch.float64)).sum().backward()
    topt.step()
    opt = nn.Adam(model.parameters(), lr=1e-2)
    opt.load_state_dict(topt.state_dict())
    buffers = opt.state[model.weight]
    for key in ("exp_avg", "exp_avg_sq"):
        assert column_major(buffers[key])
        np.testing.assert_array_equal(buffers[key], topt.state[twin.weight][key].numpy())


# ---- the jit: a weight replaced between calls ------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("to_row_major", [True, False])
def test_a_jitted_step_follows_a_weight_replaced_in_another_layout(to_row_major, batch, dtype):
    """`layer.weight.data = new` (a row-major array from numpy, as PyTorch code does it) kept the
    plan made for the column-major weight (autograd/jit/inputs.py kind(): shape and dtype only): the
    replay went on making column-major gradients and inlining w -= lr·g into a column-major scratch,
    so every update of a row-major weight crossed layouts. The reverse (a plan made on a row-major
    weight set by hand, then a column-major one) likewise. The eager step's layouts are the reference."""
    rng = np.random.default_rng(batch)
    m1 = nn.MLP(8, [16, 16, 3], seed=0).to(dtype)
    if not to_row_major:
        for lay in m1.layers:
            lay.weight.data = np.ascontiguousarray(lay.weight.data)
    m2 = copy.deepcopy(m1)
    eager = train_step(m1, nn.SGD(m1.parameters(), lr=0.1))
    jitted = jit(train_step(m2, nn.SGD(m2.parameters(), lr=0.1)))
    for k in range(8):
        if k == 4:
            new = [rng.standard_normal(lay.weight.shape).astype(dtype) for lay in m1.layers]
            for m in (m1, m2):
                for lay, w in zip(m.layers, new):
                    lay.weight.data = w.copy() if to_row_major else np.asfortranarray(w)
        x, y = rng.standard_normal((batch, 8)).astype(dtype), rng.integers(0, 3, batch)
        assert jitted(x, y).item() == eager(x, y).item()
        for p, q in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
            np.testing.assert_array_equal(p.grad, q.grad)
    for a, b in zip(m1.layers, m2.layers):
        assert layout(b.weight.data) == layout(a.weight.data) == ("C" if to_row_major else "F")
        assert layout(b.weight.grad) == layout(a.weight.grad) == layout(a.weight.data)


# ---- to_torch through the recorder (a module with its own forward) ---------------------------

@pytest.mark.oracle
def test_a_traced_modules_linear_weight_is_a_contiguous_torch_parameter():
    """to_torch(module, example) of a Module with its own forward copied each parameter with
    np.array(p.data) (nn/torch_trace.py _tensor), which keeps the column-major layout: the torch
    parameter had strides (1, out), so weight.view(-1) raised and DDP's buckets warned; a
    torch.nn.Linear's weight is contiguous."""
    torch = pytest.importorskip("torch")

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.out = nn.Linear(4, 5, seed=0), nn.Linear(5, 2, seed=1)

        def forward(self, x):
            return self.out(self.body(x).relu()) * 2.0

    model = Head()
    x = np.random.default_rng(0).standard_normal((3, 4))
    traced = nn.to_torch(model, example=x)
    reference = torch.nn.Linear(4, 5, dtype=torch.float64)
    for name, p in traced.named_parameters():
        assert p.is_contiguous(), name
    assert traced.get_parameter("body.weight").stride() == reference.weight.stride()
    np.testing.assert_array_equal(traced.get_parameter("body.weight").detach().view(-1).numpy(),
                                  model.body.weight.data.reshape(-1))
    np.testing.assert_allclose(traced(torch.from_numpy(x)).detach().numpy(), model(x).data, rtol=1e-12)


# ---- example mode (one example as a list: neuron nodes) --------------------------------------

def test_example_mode_weight_gradients_keep_the_weights_layout():
    """A Layer called on one example (a list) makes one neuron node per row of W; its rule
    (autograd/scalar_rules.py neuron_row) gathered W's gradient into np.zeros(shape): row-major for a
    column-major W, so the optimizer's update crossed layouts. Numbers: those of a row-major twin."""
    layer = nn.Layer(3, 4, seed=0)
    twin = copy.deepcopy(layer)
    twin.weight.data = np.ascontiguousarray(twin.weight.data)
    for m in (layer, twin):
        outs = m([1.0, -2.0, 0.5])
        (outs[0] * 2 + outs[1] - outs[3]).backward()
    assert column_major(layer.weight.grad)
    np.testing.assert_array_equal(layer.weight.grad, twin.weight.grad)
    np.testing.assert_array_equal(layer.bias.grad, twin.bias.grad)
    arrays = layer.weight.data
    nn.SGD(layer.parameters(), lr=0.1).step()
    assert layer.weight.data is arrays and column_major(arrays)
    np.testing.assert_allclose(arrays, twin.weight.data - 0.1 * twin.weight.grad, rtol=1e-15)


# ---- mixed dtypes ----------------------------------------------------------------------------

def test_a_float32_batch_into_a_float64_layer_gives_an_own_column_major_gradient():
    """network._weight_grad's mixed-dtype branch returned (x.T @ g).T, a view of a temporary; the
    caller casts it only when its dtype differs from W's, so a float32 batch into a float64 layer
    kept the view as W's .grad (not the array of its own the docstring promises)."""
    layer = nn.Linear(6, 3, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    layer(x).sum().backward()
    g = layer.weight.grad
    assert g.dtype == np.float64 and column_major(g) and g.flags.owndata
    np.testing.assert_allclose(g, np.ones((3, 4)) @ x.astype(np.float64), rtol=1e-12)


def test_a_jitted_step_on_a_float64_batch_into_a_float32_layer_keeps_float32_gradients():
    """(Older than 0c6b4a8, either layout.) The jit's Linear kernel took a float64 batch into a
    bias-free float32 layer and stored W's gradient as the product gave it, float64, where the eager
    step (network._linear_grad) casts it to W's float32; the SGD update then differed in bits."""
    rng = np.random.default_rng(0)
    m1 = nn.Sequential(nn.Linear(8, 16, bias=False, seed=0), nn.Tanh(),
                       nn.Linear(16, 3, bias=False, seed=1)).to(np.float32)
    m2 = copy.deepcopy(m1)
    eager = train_step(m1, nn.SGD(m1.parameters(), lr=0.1))
    jitted = jit(train_step(m2, nn.SGD(m2.parameters(), lr=0.1)))
    for _ in range(5):
        x, y = rng.standard_normal((4, 8)), rng.integers(0, 3, 4)
        assert jitted(x, y).item() == eager(x, y).item()
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert q.grad.dtype == p.grad.dtype == np.float32
        np.testing.assert_array_equal(p.data, q.data)


# ---- gradient clipping -----------------------------------------------------------------------

def test_clip_grad_norm_reads_column_major_gradients_without_a_copy():
    """nn/clip.py get_total_norm took np.ravel(grad), a C-order copy of a column-major Layer weight's
    gradient, every call (13x the time of the norm of a row-major one at (128, 128) float64). The
    numbers: those of the row-major twin's gradients, and torch's rule (max_norm / (total + 1e-6))."""
    import tracemalloc

    rng = np.random.default_rng(0)
    layer = nn.Linear(512, 256, seed=0)
    twin = copy.deepcopy(layer)
    twin.weight.data = np.ascontiguousarray(twin.weight.data)
    x, upstream = rng.standard_normal((8, 512)), rng.standard_normal((8, 256))
    for m in (layer, twin):
        (m(x) * upstream).sum().backward()
    assert column_major(layer.weight.grad)
    before = [p.grad.copy() for p in twin.parameters()]
    tracemalloc.start()
    try:
        total = nn.clip_grad_norm_(layer.parameters(), max_norm=1.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < layer.weight.grad.nbytes // 4, f"{peak} bytes: the gradient was copied"
    expected = np.sqrt(sum(float(np.sum(g * g)) for g in before))
    np.testing.assert_allclose(total, expected, rtol=1e-12)
    total_twin = nn.clip_grad_norm_(twin.parameters(), max_norm=1.0)
    np.testing.assert_allclose(total, total_twin, rtol=1e-12)
    for p, q, g in zip(layer.parameters(), twin.parameters(), before):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=0)
        np.testing.assert_allclose(p.grad, g * (1.0 / (expected + 1e-6)), rtol=1e-12, atol=0)
