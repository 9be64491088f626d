"""nn.save / nn.load: .npz without pickles, all-or-nothing loading, refusals by name."""
import pickle

import numpy as np
import pytest

import nn


def states_equal(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture
def model():
    return nn.MLP(2, [4, 1], activation="relu", seed=0)


def test_save_then_load_round_trips(tmp_path, model):
    path = tmp_path / "model.npz"
    assert nn.save(model, path) == str(path)
    other = nn.MLP(2, [4, 1], activation="relu", seed=5)
    assert nn.load(other, path) is other
    assert states_equal(other.state_dict(), model.state_dict())
    with np.load(path, allow_pickle=False) as f:   # a plain numeric archive anyone can read
        assert sorted(f.files) == sorted(model.state_dict())
        assert f["layers.0.weight"].dtype == np.float64


def test_save_overwrites_atomically_and_leaves_no_temporary_files(tmp_path, model):
    path = tmp_path / "m.npz"
    nn.save(model, path)
    model.layers[0].bias.data += 1.0
    nn.save(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    fresh = nn.load(nn.MLP(2, [4, 1], activation="relu"), path)
    np.testing.assert_array_equal(fresh.layers[0].bias.data, model.layers[0].bias.data)


def test_scalar_and_float32_parameters_survive(tmp_path):
    neuron = nn.Neuron(3, seed=0)
    neuron.bias.data = -0.5
    nn.save(neuron, tmp_path / "n.npz")
    back = nn.load(nn.Neuron(3, seed=1), tmp_path / "n.npz")
    assert back.bias.data == -0.5 and type(back.bias.data) is float
    small = nn.Linear(2, 2, seed=0).to(np.float32)
    nn.save(small, tmp_path / "s.npz")
    loaded = nn.load(nn.Linear(2, 2, seed=1).to(np.float32), tmp_path / "s.npz")
    assert loaded.weight.dtype == np.float32
    np.testing.assert_array_equal(loaded.weight.data, small.weight.data)


def test_a_file_with_pickled_objects_is_refused_and_the_model_is_unchanged(tmp_path, model):
    path = tmp_path / "evil.npz"
    state = model.state_dict()
    state["layers.0.bias"] = np.array([{"payload": "anything"}], dtype=object)
    np.savez(path, allow_pickle=True, **state)
    before = model.state_dict()
    with pytest.raises(nn.UnsafeFileError, match=r"entry 'layers.0.bias' holds pickled Python objects"):
        nn.load(model, path)
    assert states_equal(model.state_dict(), before)


def test_a_raw_pickle_is_refused(tmp_path, model):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model.state_dict()))
    before = model.state_dict()
    with pytest.raises(nn.UnsafeFileError, match="not an .npz archive"):
        nn.load(model, path)
    assert states_equal(model.state_dict(), before)


def test_non_numeric_entries_are_refused(tmp_path, model):
    path = tmp_path / "text.npz"
    state = model.state_dict()
    state["layers.0.bias"] = np.array(["hello"])
    np.savez(path, **state)
    with pytest.raises(nn.UnsafeFileError, match=r"entry 'layers.0.bias' has dtype <U5"):
        nn.load(model, path)


def test_a_different_architecture_is_refused_by_name_and_nothing_changes(tmp_path, model):
    bigger = nn.MLP(2, [5, 1], activation="relu", seed=1)
    path = tmp_path / "bigger.npz"
    nn.save(bigger, path)
    before = model.state_dict()
    with pytest.raises(nn.StateDictError) as e:
        nn.load(model, path)
    msg = str(e.value)
    assert str(path) in msg
    assert "layers.0.weight: expected shape (4, 2), got (5, 2)" in msg
    assert "layers.0.bias: expected shape (4,), got (5,)" in msg
    assert "layers.1.weight: expected shape (1, 4), got (1, 5)" in msg
    assert states_equal(model.state_dict(), before)


def test_missing_and_unexpected_keys_are_named(tmp_path, model):
    deeper = nn.MLP(2, [4, 1, 1], activation="relu", seed=1)
    nn.save(deeper, tmp_path / "deeper.npz")
    with pytest.raises(nn.StateDictError, match=r"unexpected keys \['layers.2.weight', 'layers.2.bias'\]"):
        nn.load(model, tmp_path / "deeper.npz")
    nn.save(nn.Linear(2, 4, seed=0), tmp_path / "linear.npz")
    with pytest.raises(nn.StateDictError, match=r"missing keys \['layers.0.weight', 'layers.0.bias'"):
        nn.load(model, tmp_path / "linear.npz")
