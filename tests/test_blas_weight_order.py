"""autograd.blas: nn.Layer's weight layout, chosen once per process from numpy's BLAS kernels
(column-major on an OpenBLAS with small-matrix kernels, row-major elsewhere, or as
TRACEGRAD_WEIGHT_ORDER says). Either layout must train to the same numbers; only speed differs."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nn
from autograd import blas, jit
from test_jit_memory_plan import step_of  # the plain training step: forward, zero_grad, backward, step


@pytest.mark.parametrize("core, order", [("SkylakeX", "F"), ("COOPERLAKE", "F"), ("SapphireRapids", "F"),
                                         ("Haswell", "C"), ("Zen", "C"), ("Prescott", "C"), (None, "C")])
def test_the_order_follows_openblas_kernel_family(core, order):
    assert blas.order_for_core(core) == order


def test_openblas_core_is_a_name_or_none_and_the_same_every_call():
    core = blas.openblas_core()
    assert core is None or (isinstance(core, str) and core)
    assert blas.openblas_core() == core
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if "openblas" in str(config.get("name", "")).lower() and sys.platform == "linux":
        assert core is not None, "numpy's OpenBLAS was not found: the layout falls back to row-major"


def order_in_a_fresh_process(env_value):
    env = {"PATH": "/usr/bin:/bin", "TRACEGRAD_WEIGHT_ORDER": env_value}
    code = "import nn; w = nn.Linear(3, 4).weight.data; print('F' if not w.flags.c_contiguous else 'C')"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=".")


@pytest.mark.parametrize("value, order", [("F", "F"), ("c", "C"), (" C ", "C")])
def test_the_environment_variable_overrides_the_choice(value, order):
    done = order_in_a_fresh_process(value)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == order


def test_a_wrong_environment_value_is_refused_with_the_values_it_takes(monkeypatch):
    monkeypatch.setenv("TRACEGRAD_WEIGHT_ORDER", "row")
    blas.weight_order.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"TRACEGRAD_WEIGHT_ORDER='ROW'.*F \(column-major.*C \(row-major"):
            blas.weight_order()
    finally:
        monkeypatch.delenv("TRACEGRAD_WEIGHT_ORDER")
        blas.weight_order.cache_clear()
    assert blas.weight_order() in ("F", "C")


def test_layers_take_the_chosen_order_with_pytorch_shapes(weight_order):
    for layer in (nn.Layer(3, 5, seed=0), nn.Linear(3, 5, seed=0), *nn.MLP(4, [6, 2], seed=0).layers):
        w = layer.weight.data
        assert w.shape == (layer.nout, layer.nin)
        assert (w.flags.f_contiguous if weight_order == "F" else w.flags.c_contiguous)
        assert nn.Linear(3, 5, seed=0).state_dict()["weight"].flags.c_contiguous  # saved row-major either way


def test_both_layouts_train_to_the_same_numbers_eagerly_and_jitted(monkeypatch):
    """The digits-shaped MLP, three SGD steps: the two layouts agree to rounding, and in each the
    jitted step equals the eager one bit for bit (the jit plans by the weight's own layout)."""
    rng = np.random.default_rng(3)
    batches = [(rng.normal(size=(32, 64)), rng.integers(0, 10, 32)) for _ in range(3)]
    results = {}
    for order in ("F", "C"):
        monkeypatch.setattr(blas, "weight_order", lambda order=order: order)
        runs = []
        for use_jit in (False, True):
            model = nn.MLP(64, [128, 128, 10], seed=0)
            step = step_of(model, nn.SGD(model.parameters(), lr=0.1))
            stepper = jit(step) if use_jit else step
            losses = [float(stepper(x, y).item()) for x, y in batches]
            runs.append((losses, [p.data.copy() for p in model.parameters()]))
            layer = model.layers[1]
            assert layer.weight.grad.flags.f_contiguous == (order == "F")  # the gradient in the weight's layout
        (eager_losses, eager_params), (jit_losses, jit_params) = runs
        assert eager_losses == jit_losses
        assert all(np.array_equal(a, b) for a, b in zip(eager_params, jit_params))
        results[order] = runs[0]
    np.testing.assert_allclose(results["F"][0], results["C"][0], rtol=1e-12)
    for a, b in zip(results["F"][1], results["C"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps is Linux's")
def test_the_loaded_library_is_found_when_numpy_has_no_wheel_folder(monkeypatch):
    """A numpy built against a system OpenBLAS has no numpy.libs: the library loaded in this process
    is found by its path (Debian's is .../openblas-pthread/libblas.so.3) and asked the same."""
    core = blas.openblas_core()
    if core is None:
        pytest.skip("numpy's BLAS is no OpenBLAS here")
    import glob
    monkeypatch.setattr(glob, "glob", lambda pattern: [])
    assert blas._openblas_core() == core
