""".safetensors through nn.save / nn.load: round trips (buffers included), the same refusals as .npz,
and PyTorch's own safetensors.torch loader reading and writing the files."""
import sys

import numpy as np
import pytest

import nn
from autograd.value import Value
from checkpoint_builders import safetensors_bytes

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def states_equal(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)


class Normalizer(nn.Module):
    """Parameters plus state that is not a parameter (running statistics and an int64 count), the
    way batch norm keeps its buffers, exposed through state_dict / load_state_dict."""

    BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, n, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.weight, self.bias = Value(rng.normal(size=n)), Value(rng.normal(size=n))
        self.running_mean, self.running_var = rng.normal(size=n), rng.uniform(0.5, 2, size=n)
        self.num_batches_tracked = int(rng.integers(1, 100))

    def state_dict(self):
        return {**super().state_dict(), "running_mean": self.running_mean.copy(),
                "running_var": self.running_var.copy(),
                "num_batches_tracked": np.array(self.num_batches_tracked, dtype=np.int64)}

    def load_state_dict(self, state, strict=True):
        state = dict(state)
        buffers = {k: np.asarray(state.pop(k)) for k in self.BUFFERS if k in state}
        super().load_state_dict(state, strict=strict)
        self.running_mean[...] = buffers.get("running_mean", self.running_mean)
        self.running_var[...] = buffers.get("running_var", self.running_var)
        self.num_batches_tracked = int(buffers.get("num_batches_tracked", self.num_batches_tracked))
        return self


@pytest.fixture
def model():
    return nn.MLP(2, [4, 1], activation="relu", seed=0)


def test_round_trip_and_the_file_is_plain_safetensors(tmp_path, model):
    path = tmp_path / "model.safetensors"
    assert nn.save(model, path) == str(path)
    other = nn.load(nn.MLP(2, [4, 1], activation="relu", seed=5), path)
    assert states_equal(other.state_dict(), model.state_dict())
    arrays = safetensors_numpy.load_file(str(path))
    assert states_equal({k: arrays[k] for k in model.state_dict()}, model.state_dict())
    from safetensors import safe_open
    with safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"format": "pt"}


def test_format_is_chosen_by_name_or_by_argument(tmp_path, model):
    nn.save(model, tmp_path / "a.bin", format="safetensors")
    assert (tmp_path / "a.bin").read_bytes()[8:9] == b"{"
    nn.save(model, tmp_path / "b.safetensors", format="npz")
    assert (tmp_path / "b.safetensors").read_bytes()[:2] == b"PK"
    for name in ("a.bin", "b.safetensors"):   # load recognises the content, whatever the name
        assert states_equal(nn.load(nn.MLP(2, [4, 1], activation="relu", seed=1), tmp_path / name).state_dict(),
                            model.state_dict())
    with pytest.raises(ValueError, match="format='pickle'"):
        nn.save(model, tmp_path / "c", format="pickle")


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_buffers_round_trip_with_their_dtypes(tmp_path, suffix):
    saved = Normalizer(3, seed=0)
    nn.save(saved, tmp_path / f"norm{suffix}")
    back = nn.load(Normalizer(3, seed=1), tmp_path / f"norm{suffix}")
    assert states_equal(back.state_dict(), saved.state_dict())
    assert back.num_batches_tracked == saved.num_batches_tracked
    assert back.state_dict()["num_batches_tracked"].dtype == np.int64


def test_scalars_and_float32(tmp_path):
    neuron = nn.Neuron(3, seed=0)
    neuron.bias.data = -0.5
    nn.save(neuron, tmp_path / "n.safetensors")
    assert nn.load(nn.Neuron(3, seed=1), tmp_path / "n.safetensors").bias.data == -0.5
    small = nn.Linear(2, 2, seed=0).to(np.float32)
    nn.save(small, tmp_path / "s.safetensors")
    assert safetensors_numpy.load_file(str(tmp_path / "s.safetensors"))["weight"].dtype == np.float32
    loaded = nn.load(nn.Linear(2, 2, seed=1).to(np.float32), tmp_path / "s.safetensors")
    np.testing.assert_array_equal(loaded.weight.data, small.weight.data)


def test_saving_without_the_package_names_the_extra(tmp_path, model, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)   # import fails as if not installed
    with pytest.raises(ImportError, match=r"pip install 'tracegrad\[safetensors\]'"):
        nn.save(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []
    nn.save(model, tmp_path / "m.npz")            # .npz needs nothing


# ---- the same refusals, from the header, before any data ---------------------------------------------

def entry(dtype, shape, start, end):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [start, end]}


def linear_file(tmp_path, name, header=None, data=None, length=None):
    """A hand-written file for nn.Linear(2, 3): weight (3, 2) and bias (3,), float64."""
    header = header if header is not None else {"weight": entry("F64", (3, 2), 0, 48),
                                                  "bias": entry("F64", (3,), 48, 72)}
    data = data if data is not None else np.arange(9.0).tobytes()
    path = tmp_path / name
    path.write_bytes(safetensors_bytes(header, data, length))
    return path


def refused(path, error=nn.UnsafeFileError, match=None, strict=True):
    layer = nn.Linear(2, 3, seed=0)
    before = layer.state_dict()
    with pytest.raises(error, match=match) as e:
        nn.load(layer, path, strict=strict)
    assert str(path) in str(e.value)
    assert states_equal(layer.state_dict(), before)
    return str(e.value)


def test_a_hand_written_file_loads(tmp_path):
    layer = nn.load(nn.Linear(2, 3, seed=0), linear_file(tmp_path, "ok.safetensors"))
    np.testing.assert_array_equal(layer.weight.data, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(layer.bias.data, [6.0, 7.0, 8.0])


def test_broken_headers_say_what_is_wrong(tmp_path):
    good = {"weight": entry("F64", (3, 2), 0, 48), "bias": entry("F64", (3,), 48, 72)}
    (tmp_path / "json.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    refused(tmp_path / "json.safetensors", match="its JSON header is malformed")
    refused(linear_file(tmp_path, "list.safetensors", header=[1, 2]), match="not an .npz archive nor a .safetensors file")
    refused(linear_file(tmp_path, "long.safetensors", length=10 ** 6), match="its header declares 1,000,000 bytes")
    refused(linear_file(tmp_path, "cut.safetensors", length=2000), match="it is truncated")
    refused(linear_file(tmp_path, "bf16.safetensors", header={**good, "bias": entry("BF16", (3,), 48, 54)}),
            match="entry 'bias': dtype 'BF16' has no numpy equivalent: convert it to float32")
    refused(linear_file(tmp_path, "odd.safetensors", header={**good, "bias": entry("Q4", (3,), 48, 72)}),
            match="dtype 'Q4' is not one safetensors defines")
    refused(linear_file(tmp_path, "out.safetensors", header={**good, "bias": entry("F64", (3,), 48, 2 ** 40)}),
            match=r"entry 'bias': data_offsets \[48, 1099511627776\] do not lie inside the 72 bytes of data")
    refused(linear_file(tmp_path, "size.safetensors", header={**good, "bias": entry("F64", (3,), 48, 64)},
                        data=np.arange(8.0).tobytes()),
            match=r"entry 'bias': its data_offsets span 16 bytes but F64 x shape \(3,\) needs 24")
    refused(linear_file(tmp_path, "overlap.safetensors", header={**good, "bias": entry("F64", (3,), 40, 64)}),
            match="byte ranges overlap")
    refused(linear_file(tmp_path, "tail.safetensors", data=np.arange(10.0).tobytes()),
            match="it holds 8 bytes after its last tensor")
    refused(linear_file(tmp_path, "neg.safetensors", header={**good, "bias": entry("F64", (-3,), 48, 72)}),
            match="shape \\[-3\\] is not a list of whole numbers")


def test_architecture_and_dtype_problems_are_state_dict_errors(tmp_path):
    good = {"weight": entry("F64", (3, 2), 0, 48), "bias": entry("F64", (3,), 48, 72)}
    refused(linear_file(tmp_path, "shape.safetensors", header={**good, "weight": entry("F64", (2 ** 40, 2), 0, 48)}),
            nn.StateDictError, r"weight: expected shape \(3, 2\), got \(1099511627776, 2\)")
    extra = {**good, "extra": entry("F64", (1,), 72, 80)}
    path = linear_file(tmp_path, "extra.safetensors", header=extra, data=np.arange(10.0).tobytes())
    refused(path, nn.StateDictError, r"unexpected keys \['extra'\] \(not read\)")
    assert nn.load(nn.Linear(2, 3, seed=0), path, strict=False).bias.data.tolist() == [6.0, 7.0, 8.0]
    ints = {**good, "bias": entry("I64", (3,), 48, 72)}
    refused(linear_file(tmp_path, "int.safetensors", header=ints), nn.StateDictError,
            "dtype mismatches: bias: the module holds float64, the file int64")
    refused(linear_file(tmp_path, "missing.safetensors", header={"weight": good["weight"]},
                        data=np.arange(6.0).tobytes()), nn.StateDictError, r"missing keys \['bias'\]")


def test_float16_and_nan_warn(tmp_path):
    half = {"weight": entry("F16", (3, 2), 0, 12), "bias": entry("F16", (3,), 12, 18)}
    data = np.array([1, 2, 3, 4, 5, 6, np.nan, 8, np.inf], dtype=np.float16).tobytes()
    with pytest.warns(nn.CheckpointWarning) as caught:
        layer = nn.load(nn.Linear(2, 3, seed=0), linear_file(tmp_path, "half.safetensors", half, data))
    text = " ".join(str(w.message) for w in caught)
    assert "stored as float16" in text and "bias (1 NaN, 1 inf of 3)" in text
    assert layer.weight.data.tolist() == [[1, 2], [3, 4], [5, 6]]


# ---- PyTorch's own loader ---------------------------------------------------------------------------

@pytest.mark.oracle
def test_pytorch_reads_what_nn_save_writes(tmp_path, model):
    torch = pytest.importorskip("torch")
    storch = pytest.importorskip("safetensors.torch")
    nn.save(model, tmp_path / "m.safetensors")
    twin = nn.to_torch(nn.MLP(2, [4, 1], activation="relu", seed=7))
    twin.load_state_dict(storch.load_file(str(tmp_path / "m.safetensors")))
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_allclose(twin(torch.tensor(x)).detach().numpy(), model(x).data, rtol=1e-12, atol=1e-12)


@pytest.mark.oracle
def test_nn_load_reads_what_pytorch_writes_buffers_included(tmp_path):
    torch = pytest.importorskip("torch")
    storch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    twin = nn.to_torch(nn.MLP(2, [4, 1], activation="relu", seed=0))
    for p in twin.parameters():
        torch.nn.init.normal_(p)
    storch.save_file(twin.state_dict(), str(tmp_path / "from_torch.safetensors"))
    model = nn.load(nn.MLP(2, [4, 1], activation="relu", seed=3), tmp_path / "from_torch.safetensors")
    x = np.random.default_rng(1).normal(size=(5, 2))
    np.testing.assert_allclose(model(x).data, twin(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)

    norm = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    norm.train()
    for _ in range(4):
        norm(torch.randn(8, 3, dtype=torch.float64))   # running statistics and a count of 4
    storch.save_file(norm.state_dict(), str(tmp_path / "norm.safetensors"))
    back = nn.load(Normalizer(3, seed=5), tmp_path / "norm.safetensors")
    for key, tensor in norm.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], tensor.numpy())
    assert back.num_batches_tracked == 4
    nn.save(back, tmp_path / "norm_back.safetensors")
    again = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    again.load_state_dict(storch.load_file(str(tmp_path / "norm_back.safetensors")))
    assert torch.equal(again.running_var, norm.running_var) and int(again.num_batches_tracked) == 4
