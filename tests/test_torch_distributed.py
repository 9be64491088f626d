"""Past one machine: 2-process DDP (gloo, 127.0.0.1) equals one process on the whole batch (make ddp-check)."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import nn
from autograd.value import Value

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.ddp

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import ddp_train  # noqa: E402


def train_single_process(steps: int):
    model = ddp_train.model()
    X, y = ddp_train.data()
    opt = nn.SGD(model.parameters(), lr=ddp_train.LR)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(X) - Value(y)) ** 2).mean()
        loss.backward()
        opt.step()
    return model


def test_two_process_ddp_training_equals_one_process_on_the_whole_batch(tmp_path):
    steps = 5
    out = tmp_path / "ddp_state.pt"
    done = subprocess.run([sys.executable, str(HERE / "ddp_train.py"), str(out), str(steps)],
                          capture_output=True, text=True, timeout=240, cwd=HERE.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    state = torch.load(out)
    assert all(key.startswith("module.") for key in state)
    back = ddp_train.model().load_state_dict(state)   # DDP's `module.` prefix is taken off
    single = train_single_process(steps)
    start = ddp_train.model()
    for (key, p), (_, q), (_, p0) in zip(back.named_parameters(), single.named_parameters(),
                                         start.named_parameters()):
        assert not np.allclose(p.data, p0.data), f"{key} did not train"
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12, err_msg=key)
