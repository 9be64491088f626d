"""Hostile files cost nothing: a zip bomb, a header declaring terabytes or a huge safetensors header is
refused (or skipped) with memory bounded by the model, measured in a fresh subprocess."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import nn
from checkpoint_builders import npy_header, safetensors_bytes, state_members, write_bomb, write_zip

BOMB_MB = 128                       # unpacked size of each bomb; the files are ~130 KB
ROOT = pathlib.Path(__file__).resolve().parents[1]

MEASURE = r"""
import json, resource, sys, tracemalloc
import nn
cases = json.loads(sys.argv[1])
model = nn.MLP(2, [4, 1], activation="relu", seed=0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
results = {}
tracemalloc.start()
for name, path, strict in cases:
    tracemalloc.reset_peak()
    try:
        nn.load(model, path, strict=strict)
        outcome = "loaded"
    except nn.StateDictError as e:
        outcome = f"{type(e).__name__}: {e}"
    results[name] = {"outcome": outcome, "peak": tracemalloc.get_traced_memory()[1]}
results["rss_growth"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024   # KiB on Linux
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    state = nn.MLP(2, [4, 1], activation="relu", seed=0).state_dict()
    members = state_members(state)
    rest = {k: v for k, v in members.items() if k != "layers.0.weight.npy"}
    cases = [
        ("bomb under an expected key", write_bomb(folder / "a.npz", "layers.0.weight.npy", BOMB_MB,
                                                  npy_header((4, 2)), rest), True),
        ("bomb under an unknown key", write_bomb(folder / "b.npz", "extra.npy", BOMB_MB, npy_header((2 ** 24,)),
                                                 members), True),
        ("bomb under an unknown key, strict=False", folder / "b.npz", False),
        ("bomb in a non-.npy member", write_bomb(folder / "c.npz", "notes.txt", BOMB_MB, b"", members), True),
        ("bomb with the right header size but the wrong shape", write_bomb(
            folder / "d.npz", "layers.0.weight.npy", BOMB_MB, npy_header((BOMB_MB * 2 ** 17,)), rest), True),
        ("header declaring 8 TiB", write_zip(folder / "e.npz", {**rest, "layers.0.weight.npy":
                                                               npy_header((2 ** 40,)) + bytes(64)}), True),
        ("safetensors header declaring 8 TiB", folder / "f.safetensors", True),
    ]
    (folder / "f.safetensors").write_bytes(safetensors_bytes({"a": 1}, length=2 ** 43))
    return [(name, str(path), strict) for name, path, strict in cases]


@pytest.fixture(scope="module")
def measured(hostile):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(hostile)], capture_output=True, text=True,
                         env=env, timeout=600, check=True)
    return json.loads(run.stdout)


def test_each_hostile_file_is_refused_with_a_clear_cause(measured):
    outcome = {k: v["outcome"] for k, v in measured.items() if k != "rss_growth"}
    assert "it declares 134,217,8" in outcome["bomb under an expected key"]
    assert "once unpacked" in outcome["bomb under an expected key"]
    assert outcome["bomb under an unknown key"].startswith("StateDictError")
    assert "unexpected keys ['extra'] (not read)" in outcome["bomb under an unknown key"]
    assert outcome["bomb under an unknown key, strict=False"] == "loaded"
    assert "member 'notes.txt': it is not a .npy array" in outcome["bomb in a non-.npy member"]
    assert "it declares" in outcome["bomb with the right header size but the wrong shape"]
    assert "layers.0.weight: expected shape (4, 2), got (1099511627776,)" in outcome["header declaring 8 TiB"]
    assert "its header declares 8,796,093,022,208 bytes" in outcome["safetensors header declaring 8 TiB"]
    assert all("UnsafeFileError" in v or "StateDictError" in v or v == "loaded" for v in outcome.values())


def test_memory_stays_bounded_by_the_model_not_the_file(measured):
    bomb = BOMB_MB * 2 ** 20
    for name, result in measured.items():
        if name != "rss_growth":
            assert result["peak"] < 2 ** 20, (name, result)       # < 1 MiB traced, for 128 MiB bombs
    assert measured["rss_growth"] < bomb / 4, measured["rss_growth"]


def test_a_bomb_skipped_with_strict_false_still_loads_the_rest(hostile):
    model = nn.load(nn.MLP(2, [4, 1], activation="relu", seed=5), hostile[1][1], strict=False)
    expected = nn.MLP(2, [4, 1], activation="relu", seed=0).state_dict()
    assert all(np.array_equal(model.state_dict()[k], expected[k]) for k in expected)
