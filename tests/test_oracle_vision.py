"""The vision ops and layers against PyTorch in float64: values and gradients (random upstream
gradient) agree to 1e-6, for square and non-square inputs, strides, paddings, dilations, groups,
kernels that do not divide the input, batch 1 and larger; batch norm in training (running buffers
after several steps) and eval; a CNN through to_torch and back, and loaded from torch's state_dict."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F

torch = pytest.importorskip("torch", exc_type=ImportError)
pytestmark = pytest.mark.oracle
TF = torch.nn.functional
TOL = dict(rtol=1e-6, atol=1e-9)

from test_oracle_torch import compare  # noqa: E402  (same inputs, a random upstream gradient, everything compared)


CONV = [  # (x shape, weight shape, keywords)
    ((2, 3, 8, 8), (4, 3, 3, 3), {}),
    ((1, 1, 7, 5), (2, 1, 3, 2), {"padding": 1}),  # batch 1, non-square input and kernel
    ((3, 2, 9, 7), (4, 2, 4, 3), {"stride": 2}),  # kernels that do not divide the input
    ((2, 2, 10, 11), (3, 2, 3, 3), {"stride": (2, 3), "padding": (1, 2), "dilation": (2, 1)}),
    ((2, 4, 6, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 4, 6, 5), (4, 1, 3, 3), {"groups": 4, "stride": 2, "dilation": 2, "padding": 2}),  # depthwise
    ((1, 3, 5, 5), (2, 3, 5, 5), {}),  # the kernel covers the whole image
    ((2, 3, 6, 7), (4, 3, 3, 3), {"padding": "same"}),
    ((2, 3, 6, 7), (4, 3, 2, 2), {"padding": "valid", "stride": 3}),
]


@pytest.mark.parametrize("xs,ws,kw", CONV, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(xs, ws, kw, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=xs), rng.normal(size=ws)] + ([rng.normal(size=ws[0])] if bias else [])
    compare(lambda *a: autograd.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays)


POOL = [  # (x shape, keywords)
    ((2, 3, 8, 8), {"kernel_size": 2}),
    ((1, 2, 7, 5), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((2, 1, 9, 6), {"kernel_size": (3, 2), "stride": (2, 1)}),
    ((3, 2, 5, 7), {"kernel_size": 2, "stride": 1}),  # overlapping windows
    ((2, 2, 6, 6), {"kernel_size": 3, "stride": 3, "padding": 1}),
]


@pytest.mark.parametrize("xs,kw", POOL, ids=str)
def test_max_pool2d(xs, kw):
    x = np.random.default_rng(0).normal(size=xs)
    compare(lambda a: autograd.max_pool2d(a, **kw), lambda a: TF.max_pool2d(a, **kw), [x])


def test_max_pool2d_dilation_and_ties():
    x = np.random.default_rng(1).normal(size=(2, 2, 9, 8))
    compare(lambda a: F.max_pool2d(a, 3, 2, 1, 2), lambda a: TF.max_pool2d(a, 3, 2, 1, 2), [x])
    ties = np.round(np.random.default_rng(2).normal(size=(2, 3, 6, 6)))  # many equal values: the first max wins
    compare(lambda a: F.max_pool2d(a, 2, 1), lambda a: TF.max_pool2d(a, 2, 1), [ties])
    compare(lambda a: F.max_pool2d(a, 3, 2, 1), lambda a: TF.max_pool2d(a, 3, 2, 1), [np.zeros((1, 1, 5, 5))])


@pytest.mark.parametrize("xs,kw", POOL, ids=str)
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool2d(xs, kw, include):
    x = np.random.default_rng(0).normal(size=xs)
    compare(lambda a: F.avg_pool2d(a, **kw, count_include_pad=include),
            lambda a: TF.avg_pool2d(a, **kw, count_include_pad=include), [x])


def test_avg_pool2d_divisor_override():
    x = np.random.default_rng(0).normal(size=(2, 2, 7, 6))
    compare(lambda a: F.avg_pool2d(a, 3, 2, 1, divisor_override=4),
            lambda a: TF.avg_pool2d(a, 3, 2, 1, divisor_override=4), [x])


@pytest.mark.parametrize("size", [1, 2, (3, 2), (5, 7), (7, None), (4, 4)])
def test_adaptive_avg_pool2d(size):
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 5))
    compare(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: TF.adaptive_avg_pool2d(a, size), [x])


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 5, 4), (1, 3, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_function(shape, training):
    rng = np.random.default_rng(0)
    rm, rv = rng.normal(size=3), rng.uniform(0.5, 2.0, 3)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    arrays = [rng.normal(size=shape) * 3 + 1, rng.normal(size=3), rng.normal(size=3)]
    compare(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training, 0.2, 1e-3),
            lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, training, 0.2, 1e-3), arrays)
    np.testing.assert_allclose(rm, trm.numpy(), **TOL)  # updated in place (training) or left alone (eval)
    np.testing.assert_allclose(rv, trv.numpy(), **TOL)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 4)), ("BatchNorm1d", (5, 4, 3)), ("BatchNorm2d", (3, 4, 5, 6))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_layers_train_then_eval(cls, shape, momentum):
    """Five training steps (buffers follow PyTorch's), then eval uses the running statistics."""
    rng = np.random.default_rng(0)
    ours, theirs = getattr(nn, cls)(4, momentum=momentum), getattr(torch.nn, cls)(4, momentum=momentum,
                                                                                  dtype=torch.float64)
    ours.weight.data[:] = rng.normal(size=4)
    ours.bias.data[:] = rng.normal(size=4)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    for step in range(5):
        x = rng.normal(size=shape) * (step + 1) + step
        compare(ours, theirs, [x], seed=step)
        for name in ("weight", "bias"):
            np.testing.assert_allclose(getattr(ours, name).grad, getattr(theirs, name).grad.numpy(), **TOL)
            getattr(ours, name).grad = None
            getattr(theirs, name).grad = None
    state = theirs.state_dict()
    for k, v in ours.state_dict().items():
        np.testing.assert_allclose(v, state[k].numpy(), err_msg=k, **TOL)
    assert int(ours.num_batches_tracked) == 5
    ours.eval(), theirs.eval()
    compare(ours, theirs, [rng.normal(size=shape)])


def test_batch_norm_without_running_stats_or_affine():
    ours = nn.BatchNorm2d(3, affine=False, track_running_stats=False).eval()
    theirs = torch.nn.BatchNorm2d(3, affine=False, track_running_stats=False, dtype=torch.float64).eval()
    compare(ours, theirs, [np.random.default_rng(0).normal(size=(2, 3, 4, 4))])
    assert ours.state_dict() == {} and theirs.state_dict() == {}


def demo_like(seed=0):
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, seed=seed), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, seed=seed + 1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Dropout(0.0), nn.Linear(64, 10, seed=seed + 2))


def test_a_cnn_through_to_torch_and_back():
    rng = np.random.default_rng(0)
    model = demo_like()
    x, y = rng.normal(size=(6, 1, 8, 8)), rng.integers(0, 10, 6)
    tmodel = nn.to_torch(model)
    loss = nn.cross_entropy(model(x), y)
    tloss = TF.cross_entropy(tmodel(torch.tensor(x)), torch.tensor(y))
    np.testing.assert_allclose(loss.item(), tloss.item(), **TOL)
    loss.backward()
    tloss.backward()
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), err_msg=name, **TOL)
    # running statistics moved the same way; then back: a fresh model loads torch's state dict
    back = demo_like(seed=7).load_state_dict(tmodel.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(back.state_dict()[k], v, err_msg=k, **TOL)
    back.eval(), tmodel.eval()
    np.testing.assert_allclose(back(x).data, tmodel(torch.tensor(x)).detach().numpy(), **TOL)


def test_load_state_dict_of_a_torch_cnn():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Conv2d(3, 6, (3, 2), stride=2, padding=1, groups=3, dtype=torch.float64),
                            torch.nn.BatchNorm2d(6, dtype=torch.float64), torch.nn.ReLU(),
                            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                            torch.nn.Linear(6, 3, dtype=torch.float64), torch.nn.BatchNorm1d(3, dtype=torch.float64))
    x = torch.randn(4, 3, 9, 7, dtype=torch.float64)
    t(x)  # one training step moves the running statistics
    ours = nn.Sequential(nn.Conv2d(3, 6, (3, 2), stride=2, padding=1, groups=3), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3), nn.BatchNorm1d(3))
    ours.load_state_dict(t.state_dict())
    assert int(ours[1].num_batches_tracked) == 1
    ours.eval(), t.eval()
    np.testing.assert_allclose(ours(x.numpy()).data, t(x).detach().numpy(), **TOL)


def test_conv_layer_matches_torch_init_scale():
    """PyTorch's kaiming_uniform_(a=√5): weights and biases uniform in ±1/√fan_in."""
    conv = nn.Conv2d(4, 64, 3, groups=2, seed=0)
    bound = 1 / np.sqrt(2 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.95 * bound
    assert np.abs(conv.bias.data).max() <= bound
    tconv = torch.nn.Conv2d(4, 64, 3, groups=2)
    assert tuple(tconv.weight.shape) == conv.weight.shape and tuple(tconv.bias.shape) == conv.bias.shape
    np.testing.assert_allclose(conv.weight.data.std(), tconv.weight.detach().numpy().std(), rtol=0.1)


@pytest.mark.parametrize("kw", [{"kernel_size": 3, "stride": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                {"kernel_size": 2}, {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 1)}],
                         ids=str)
def test_ceil_mode(kw):
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 6))
    compare(lambda a: F.max_pool2d(a, **kw, ceil_mode=True), lambda a: TF.max_pool2d(a, **kw, ceil_mode=True), [x])
    for include in (True, False):
        compare(lambda a: F.avg_pool2d(a, **kw, ceil_mode=True, count_include_pad=include),
                lambda a: TF.avg_pool2d(a, **kw, ceil_mode=True, count_include_pad=include), [x])
    for ours, theirs in ((nn.MaxPool2d(**kw, ceil_mode=True), torch.nn.MaxPool2d(**kw, ceil_mode=True)),
                         (nn.AvgPool2d(**kw, ceil_mode=True), torch.nn.AvgPool2d(**kw, ceil_mode=True))):
        compare(ours, nn.to_torch(ours), [x])
        compare(ours, theirs, [x])


@pytest.mark.parametrize("kw", [{"kernel_size": 3, "stride": 2, "padding": 1}, {"kernel_size": 2, "ceil_mode": True},
                                {"kernel_size": 2, "stride": 1, "dilation": 2}], ids=str)
def test_max_pool2d_return_indices(kw):
    x = np.round(np.random.default_rng(0).normal(size=(2, 3, 7, 6)), 1)  # some ties: the first index, as PyTorch
    out, idx = F.max_pool2d(x, **kw, return_indices=True)
    tout, tidx = TF.max_pool2d(torch.tensor(x), **kw, return_indices=True)
    np.testing.assert_array_equal(idx, tidx.numpy())
    np.testing.assert_allclose(out.data, tout.numpy(), **TOL)
    out, idx = nn.MaxPool2d(**kw, return_indices=True)(x[0])  # one image: no batch axis, as PyTorch
    tout, tidx = torch.nn.MaxPool2d(**kw, return_indices=True)(torch.tensor(x[0]))
    np.testing.assert_array_equal(idx, tidx.numpy())
    assert out.shape == tuple(tout.shape)
