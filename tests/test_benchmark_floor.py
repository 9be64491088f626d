"""benchmarks/floor.py's minimal engine is a fair reference: it trains the digits MLP exactly as
tracegrad's plain loop and hand-written numpy do (same losses and weights, step after step)."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def floor():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("floor_bench", BENCH / "floor.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def as_float(loss):
    """A step's loss as a float: a floor Node's or a Value's .data, or numpy's number."""
    return float(np.asarray(loss.data)) if hasattr(loss, "rule") or hasattr(loss, "backward") else float(loss)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_floor_engine_trains_as_tracegrad_and_numpy_do(floor, dtype):
    state = floor.train.init_state()
    steppers = [floor.FloorStep(state, dtype), floor.train.TracegradStep(state, dtype), floor.train.NumpyStep(state, dtype)]
    rng = np.random.default_rng(3)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    for _ in range(5):
        x = rng.random((16, 64)).astype(dtype)
        y = rng.integers(0, 10, 16)
        losses = [as_float(s(x, y)) for s in steppers]
        np.testing.assert_allclose(losses[0], losses[1:], rtol=tol)
    weights = [p.data for p in steppers[0].params]
    np.testing.assert_allclose(weights[0], steppers[1].model.parameters()[0].data, rtol=tol, atol=tol)
    np.testing.assert_allclose(weights[4], steppers[2].W[2], rtol=tol, atol=tol)


def test_the_bytecode_count_of_a_step_is_steady_and_names_the_engine(floor):
    spec = importlib.util.spec_from_file_location("bytecodes_bench", BENCH / "bytecodes.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 64)), rng.integers(0, 10, 8)
    step = floor.train.TracegradStep(floor.train.init_state(), np.float64)
    first, functions, lines = module.count(step, x, y, 2)
    again, _, _ = module.count(step, x, y, 2)
    assert first == again > 1000  # the same bytecodes every step: a count to compare changes by
    assert functions[("engine.py", "backprop")] > 100 and sum(lines.values()) == first
