"""nn.load on hostile and broken files: each refused by the project's error type, naming the path
and the real cause, before reading data, leaving the model unchanged."""
import os
import threading
import zipfile

import numpy as np
import pytest

import nn
from checkpoint_builders import npy_bytes, npy_header, state_members, write_bomb, write_zip


def states_equal(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture
def model():
    return nn.MLP(2, [4, 1], activation="relu", seed=0)


def refused(model, path, error=nn.UnsafeFileError, match=None, strict=True):
    """Load `path`, expect `error` matching `match` and naming the path, and the model unchanged."""
    before = model.state_dict()
    with pytest.raises(error, match=match) as e:
        nn.load(model, path, strict=strict)
    assert str(path) in str(e.value)
    assert states_equal(model.state_dict(), before)
    return str(e.value)


# ---- only regular files are opened ---------------------------------------------------------------

def test_a_missing_path_is_named_and_is_also_a_file_not_found_error(tmp_path, model):
    refused(model, tmp_path / "nope.npz", nn.MissingFileError, "does not exist")
    with pytest.raises(FileNotFoundError):
        nn.load(model, tmp_path / "nope.npz")


def test_a_directory_is_refused_as_a_directory(tmp_path, model):
    refused(model, tmp_path, match="is a directory, not a regular file")


def test_a_dangling_symlink_names_its_target(tmp_path, model):
    link = tmp_path / "latest.npz"
    link.symlink_to(tmp_path / "gone.npz")
    msg = refused(model, link, nn.MissingFileError, "symbolic link to .*gone.npz.*does not exist")
    assert "not an .npz archive" not in msg


def test_a_symlink_to_dev_zero_is_refused_before_it_is_opened(tmp_path, model):
    link = tmp_path / "zero.npz"
    link.symlink_to("/dev/zero")
    refused(model, link, match=r"symbolic link to '/dev/zero'\) is a character device, not a regular file")


def test_a_fifo_is_refused_without_blocking(tmp_path, model):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    outcome = []

    def attempt():
        try:
            nn.load(model, fifo)
        except nn.UnsafeFileError as e:
            outcome.append(str(e))

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(60)   # the refusal is immediate; a blocked open() would still be waiting
    assert not reader.is_alive(), "nn.load blocked on a FIFO"
    assert outcome and "named pipe (FIFO)" in outcome[0] and str(fifo) in outcome[0]


def test_a_symlink_to_a_real_checkpoint_is_followed(tmp_path, model):
    nn.save(model, tmp_path / "step_10.npz")
    (tmp_path / "latest.npz").symlink_to("step_10.npz")
    other = nn.load(nn.MLP(2, [4, 1], activation="relu", seed=3), tmp_path / "latest.npz")
    assert states_equal(other.state_dict(), model.state_dict())


# ---- broken files say what is wrong ------------------------------------------------------------------

def test_an_empty_file_a_single_npy_and_a_truncated_archive(tmp_path, model):
    (tmp_path / "empty.npz").write_bytes(b"")
    refused(model, tmp_path / "empty.npz", match="is empty")
    np.save(tmp_path / "one.npy", np.zeros(3))
    refused(model, tmp_path / "one.npy", match=r"single \.npy array")
    nn.save(model, tmp_path / "whole.npz")
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    refused(model, tmp_path / "cut.npz", match="damaged zip archive: it has no end-of-archive record")


def test_a_crc_mismatch_is_reported_as_such(tmp_path, model):
    path = tmp_path / "flipped.npz"
    nn.save(model, path)
    data = bytearray(path.read_bytes())
    weights = model.state_dict()["layers.0.weight"].tobytes()
    at = data.index(weights)
    data[at + 3] ^= 0xFF   # one byte of the stored data changes; the zip's CRC-32 still has the old one
    path.write_bytes(bytes(data))
    refused(model, path, match=r"member 'layers.0.weight.npy': its data fails the zip CRC check")


def test_a_malformed_npy_header_is_not_called_a_pickle(tmp_path, model):
    members = state_members(model.state_dict())
    members["layers.0.bias.npy"] = b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8, }\n"
    msg = refused(model, write_zip(tmp_path / "bad.npz", members),
                  match=r"member 'layers.0.bias.npy': its .npy header is malformed")
    assert "pickle" not in msg


def test_short_data_is_reported_with_both_sizes(tmp_path, model):
    members = state_members(model.state_dict())
    members["layers.0.weight.npy"] = npy_header((4, 2)) + bytes(32)    # 4x2 float64 needs 64 bytes
    msg = refused(model, write_zip(tmp_path / "short.npz", members), match=r"truncated \(short data\)")
    assert "describes 64 bytes of data" in msg and "holds 32" in msg and "pickle" not in msg


def test_a_non_npy_member_is_refused_by_name(tmp_path, model):
    members = state_members(model.state_dict())
    members["README.txt"] = b"hello"
    refused(model, write_zip(tmp_path / "notes.npz", members),
            match=r"member 'README.txt': it is not a .npy array")


def test_a_pytorch_pickle_checkpoint_is_named(tmp_path, model):
    path = write_zip(tmp_path / "model.pt", {"archive/data.pkl": b"\x80\x02}q\x00.", "archive/version": b"3\n"})
    refused(model, path, match="PyTorch torch.save file, which holds pickles")


def test_unknown_members_are_refused_or_skipped_unread(tmp_path, model):
    members = state_members(model.state_dict())
    members["extra.npy"] = npy_bytes(np.arange(5.0))
    path = write_zip(tmp_path / "extra.npz", members)
    data = bytearray(path.read_bytes())
    at = data.index(np.arange(5.0).tobytes())
    data[at] ^= 0xFF                        # reading 'extra' would fail its CRC check
    path.write_bytes(bytes(data))
    refused(model, path, nn.StateDictError, match=r"unexpected keys \['extra'\] \(not read\)")
    other = nn.load(nn.MLP(2, [4, 1], activation="relu", seed=9), path, strict=False)   # skipped unread
    assert states_equal(other.state_dict(), model.state_dict())


def test_a_header_declaring_terabytes_is_a_shape_mismatch_not_a_memory_error(tmp_path, model):
    members = state_members(model.state_dict())
    members["layers.0.weight.npy"] = npy_header((2 ** 40,)) + bytes(64)   # 8 TiB of float64, claimed
    refused(model, write_zip(tmp_path / "huge.npz", members), nn.StateDictError,
            match=r"layers.0.weight: expected shape \(4, 2\), got \(1099511627776,\)")


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path, model):
    state = model.state_dict()
    others = {k: v for k, v in state_members(state).items() if k != "layers.0.weight.npy"}
    path = write_bomb(tmp_path / "bomb.npz", "layers.0.weight.npy", 16, npy_header((4, 2)), others)
    assert path.stat().st_size < 64 * 1024
    refused(model, path, match=r"member 'layers.0.weight.npy': it declares 16,777,3\d\d bytes once unpacked, "
                               r"but an array of shape \(4, 2\) needs at most")


def test_compressed_archives_load(tmp_path, model):
    np.savez_compressed(tmp_path / "small.npz", **model.state_dict())
    other = nn.load(nn.MLP(2, [4, 1], activation="relu", seed=4), tmp_path / "small.npz")
    assert states_equal(other.state_dict(), model.state_dict())


def test_fortran_ordered_and_big_endian_arrays_load(tmp_path, model):
    state = model.state_dict()
    state["layers.0.weight"] = np.asfortranarray(state["layers.0.weight"])
    state["layers.1.weight"] = state["layers.1.weight"].astype(">f8")
    np.savez(tmp_path / "odd.npz", **state)
    other = nn.load(nn.MLP(2, [4, 1], activation="relu", seed=4), tmp_path / "odd.npz")
    assert states_equal(other.state_dict(), model.state_dict())


def test_a_duplicated_member_is_refused(tmp_path, model):
    path = tmp_path / "twice.npz"
    members = state_members(model.state_dict())
    write_zip(path, members)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as z:
        z.writestr("layers.0.bias.npy", npy_bytes(np.ones(4)))
    refused(model, path, match="member 'layers.0.bias.npy': it appears twice")


# ---- dtypes and non-finite weights: warnings and errors, documented ------------------------------------

def test_float16_loads_with_a_warning(tmp_path, model):
    state = {k: v.astype(np.float16) for k, v in model.state_dict().items()}
    np.savez(tmp_path / "half.npz", **state)
    other = nn.MLP(2, [4, 1], activation="relu", seed=4)
    with pytest.warns(nn.CheckpointWarning, match="stored as float16"):
        nn.load(other, tmp_path / "half.npz")
    assert other.layers[0].weight.dtype == np.float64
    np.testing.assert_array_equal(other.layers[0].weight.data, state["layers.0.weight"].astype(np.float64))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_integer_and_bool_entries_for_float_weights_are_refused(tmp_path, model, dtype):
    state = model.state_dict()
    state["layers.0.bias"] = np.ones(4, dtype=dtype)
    np.savez(tmp_path / "ints.npz", **state)
    refused(model, tmp_path / "ints.npz", nn.StateDictError,
            match=rf"dtype mismatches: layers.0.bias: the module holds float64, the file {np.dtype(dtype)}")


def test_nan_and_inf_weights_load_with_a_warning_naming_them(tmp_path, model):
    state = model.state_dict()
    state["layers.0.weight"][0, 0] = np.nan
    state["layers.0.weight"][1, 1] = np.inf
    np.savez(tmp_path / "diverged.npz", **state)
    with pytest.warns(nn.CheckpointWarning, match=r"layers.0.weight \(1 NaN, 1 inf of 8\)"):
        nn.load(model, tmp_path / "diverged.npz")
    assert np.isnan(model.layers[0].weight.data[0, 0])


def test_float32_and_float64_convert_silently(tmp_path, model, recwarn):
    nn.save(nn.MLP(2, [4, 1], activation="relu", seed=0).to(np.float32), tmp_path / "f32.npz")
    nn.load(model, tmp_path / "f32.npz")
    assert model.layers[0].weight.dtype == np.float64
    assert not [w for w in recwarn if issubclass(w.category, nn.CheckpointWarning)]
