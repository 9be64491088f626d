"""The vision layers as a user meets them: errors that name the layer, both shapes and the fix;
buffers (in state_dict, saved, loaded, not parameters); train()/eval(); second derivatives."""
from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Value, grad
from autograd.arguments import ShapeError


def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.5, seed=0), nn.Linear(16, 3, seed=1))


# ---- errors ---------------------------------------------------------------------------------
def test_wrong_channel_count_names_the_layer_both_shapes_and_the_fix():
    model = small_cnn()
    with pytest.raises(ShapeError) as e:
        model(np.zeros((2, 3, 8, 8)))
    text = str(e.value)
    assert "Conv2d(1, 4" in text and "'0'" in text  # the layer and its name in the model
    assert "(2, 3, 8, 8)" in text and "(4, 1, 3, 3)" in text and "in_channels=3" in text


def test_kernel_larger_than_the_padded_input():
    with pytest.raises(ShapeError, match=r"kernel \(5×5.*larger than the padded input \(4×4.*\(1, 1, 2, 2\)"):
        nn.Conv2d(1, 1, 5, padding=1)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ShapeError, match=r"MaxPool2d.*larger than the padded input"):
        nn.MaxPool2d(3)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ShapeError, match="conv2d: the input has 2 channels"):
        autograd.conv2d(np.zeros((1, 2, 4, 4)), Value(np.zeros((1, 3, 3, 3))))


def test_wrong_rank_is_refused_with_the_fix():
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\).*got shape \(64,\)"):
        nn.Conv2d(1, 2, 3)(np.zeros(64))
    with pytest.raises(ShapeError, match=r"BatchNorm2d.*\(N, C, H, W\)"):
        nn.BatchNorm2d(2)(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="num_features=5"):
        nn.BatchNorm1d(3)(np.zeros((4, 5)))


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2d(1, 2, 3, stride=0), lambda: nn.Conv2d(1, 2, 3, stride=1.5), lambda: nn.Conv2d(1, 2, 3, padding=-1),
    lambda: nn.Conv2d(1, 2, 3, padding=(1, 0.5)), lambda: nn.Conv2d(1, 2, 0), lambda: nn.Conv2d(3, 2, 3, groups=2),
    lambda: nn.MaxPool2d(2, stride=-1), lambda: nn.MaxPool2d(2, padding=1.0), lambda: nn.AvgPool2d(2, stride=0.5),
    lambda: nn.AvgPool2d(2, padding=-2), lambda: nn.MaxPool2d(2, padding=2), lambda: nn.Dropout(1.5),
])
def test_bad_arguments_are_refused_at_construction(make):
    with pytest.raises((TypeError, ValueError)):
        make()


def test_both_pools_refuse_padding_over_half_the_kernel_with_one_message():
    for make in (nn.MaxPool2d, nn.AvgPool2d):
        with pytest.raises(ValueError, match=rf"{make.__name__}: padding 2 must be at most half the kernel size 3"):
            make(3, padding=2)
        make(3, padding=1)  # half the kernel: fine
    with pytest.raises((TypeError, ValueError)):
        nn.MaxPool2d(2, dilation=0)


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm2d(3)(np.ones((1, 3, 1, 1)))
    nn.BatchNorm1d(3).eval()(np.ones((1, 3)))  # eval uses the running statistics: fine


# ---- buffers --------------------------------------------------------------------------------
def test_buffers_are_state_but_not_parameters(tmp_path):
    model = small_cnn()
    names = [n for n, _ in model.named_parameters()]
    assert "1.running_mean" not in names and len(model.parameters()) == 6
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                        "1.running_var", "1.num_batches_tracked", "6.weight", "6.bias"]
    assert [n for n, _ in model.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    model(np.random.default_rng(0).normal(size=(5, 1, 4, 4)))
    bn = model[1]
    assert int(bn.num_batches_tracked) == 1 and not np.allclose(bn.running_mean, 0)
    path = nn.save(model, tmp_path / "cnn.npz")
    fresh = small_cnn()
    nn.load(fresh, path)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k], v)
    assert fresh.state_dict()["1.num_batches_tracked"].dtype.kind == "i"


def test_register_buffer_on_a_custom_module():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", np.array([2.0, 3.0]))
            self.register_buffer("cache", np.zeros(2), persistent=False)

        def forward(self, x):
            return x * self.scale

    m = Scaled()
    assert m.parameters() == [] and list(m.state_dict()) == ["scale"]
    m.load_state_dict({"scale": np.array([5.0, 7.0])})
    np.testing.assert_array_equal(m(np.ones(2)).data, [5.0, 7.0])
    m.scale = np.array([1.0, 1.0])  # reassigning keeps it a buffer
    assert list(m.state_dict()) == ["scale"]
    m.to(np.float32)
    assert m.scale.dtype == np.float32
    with pytest.raises(KeyError):
        m.register_buffer("a.b", np.zeros(1))


def test_load_state_dict_checks_buffer_shapes():
    bn = nn.BatchNorm1d(3)
    state = bn.state_dict()
    state["running_var"] = np.ones(4)
    with pytest.raises(nn.StateDictError, match="running_var"):
        bn.load_state_dict(state)
    np.testing.assert_array_equal(bn.running_var, np.ones(3))


# ---- train / eval ---------------------------------------------------------------------------
def test_train_and_eval_switch_batch_norm_and_dropout():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 1, 4, 4))
    model = small_cnn()
    model.eval()
    assert not model[1].training and not model[5].training
    a, b = model(x).data, model(x).data
    np.testing.assert_array_equal(a, b)  # eval: deterministic, running statistics untouched
    assert int(model[1].num_batches_tracked) == 0
    model.train()
    c, d = model(x).data, model(x).data
    assert not np.allclose(c, d)  # a fresh dropout mask each call
    assert int(model[1].num_batches_tracked) == 2


def test_dropout_scales_and_masks():
    x = Value(np.ones((200, 50)))
    y = nn.Dropout(0.25, seed=0)(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.02 and np.allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.where(kept, 1 / 0.75, 0.0))
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0.0)


def test_flatten_and_single_images():
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60) and nn.Flatten(0, 2)(x).shape == (24, 5)
    assert F.flatten(x, 2).shape == (2, 3, 20)
    conv = nn.Conv2d(3, 2, 3, seed=0)
    np.testing.assert_allclose(conv(x[0]).data, conv(x[:1]).data[0])  # (C, H, W) in, (O, H', W') out


def test_the_drawing_shows_one_conv_node():
    out = nn.Conv2d(1, 2, 3, seed=0)(np.zeros((1, 1, 5, 5)))
    assert out.op == "conv2d" and autograd.OPS["conv2d"].label == "conv"
    assert out.attrs["stride"] == (1, 1) and out.shape == (1, 2, 3, 3)


# ---- second derivatives (create_graph) -------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x, w: (autograd.conv2d(x, w, stride=2, padding=1, groups=2) ** 2).sum(),
    lambda x, w: (autograd.max_pool2d(autograd.conv2d(x, w, padding=1, groups=2), 2) ** 2).sum(),
    lambda x, w: (autograd.avg_pool2d(autograd.conv2d(x, w, groups=2), 2, 1) ** 3).sum(),
    lambda x, w: (autograd.batch_norm(autograd.conv2d(x, w, groups=2), None, None, training=True) ** 3).sum(),
    lambda x, w: (autograd.batch_norm(autograd.conv2d(x, w, groups=2), np.full(4, 0.1), np.full(4, 2.0),
                                      w[:, 0, 0, 0], w[:, 0, 1, 1]) ** 3).sum(),
    lambda x, w: (autograd.adaptive_avg_pool2d(autograd.conv2d(x, w, groups=2), (2, 3)) ** 3).sum(),
    lambda x, w: (autograd.dropout(autograd.conv2d(x, w, groups=2), 0.5, generator=np.random.default_rng(0))
                  ** 3).sum(),
])
def test_gradients_of_gradients(fn):
    """Σ (dL/dx)² + Σ (dL/dw)² differentiated again matches finite differences."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(4, 1, 3, 3))

    def h(x, w):
        gx, gw = grad(fn(x, w), [x, w], create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum()

    assert autograd.gradcheck(h, [x, w], atol=1e-4, rtol=1e-3)


def test_jit_refuses_what_it_could_not_replay():
    """Batch norm's running statistics and dropout's masks change on every call: a jitted training
    step would replay stale ones, so jit stops with the reason; evaluation (eval mode) jits fine."""
    import warnings

    from autograd.jit import jit
    model = small_cnn()
    x = np.random.default_rng(0).normal(size=(4, 1, 4, 4))
    step = jit(lambda xb: model(xb).sum())
    with pytest.raises(NotImplementedError, match="running statistics"):
        step(x)
    model[1].eval()
    with pytest.raises(NotImplementedError, match="dropout"):
        step(x)
    model.eval()
    evaluate = jit(lambda xb: model(xb))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the running statistics are constants of the plan: jit says so
        for _ in range(3):
            np.testing.assert_allclose(evaluate(x).data, model(x).data)


def test_seeded_init_and_the_functional_names():
    a, b = nn.Conv2d(2, 4, 3, seed=5), nn.Conv2d(2, 4, 3, seed=5)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert a.weight.shape == (4, 2, 3, 3) and a.bias.shape == (4,)
    for name in ("conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "dropout", "flatten"):
        assert callable(getattr(F, name)), name
    x = np.random.default_rng(0).normal(size=(2, 2, 5, 5))
    np.testing.assert_allclose(F.conv2d(x, a.weight, a.bias, padding=1).data, nn.Conv2d(2, 4, 3, padding=1, seed=5)(x).data)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, seed=0))
    assert model(np.zeros((1, 1, 4, 4))).label == "0.out"  # feature maps named after their layer
