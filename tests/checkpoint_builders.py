"""Hand-made checkpoint files for the refusal tests: zips with chosen members, bombs, odd headers."""
import io
import json
import struct
import zipfile

import numpy as np


def npy_bytes(array) -> bytes:
    """The .npy serialisation of `array` (header and data), as np.savez writes each member."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape, dtype="<f8") -> bytes:
    """Only the .npy header of an array of `shape` and `dtype` (no data)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue()


def write_zip(path, members: dict, compress=zipfile.ZIP_STORED):
    """A zip of {member name: bytes}, in order."""
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def write_bomb(path, name: str, megabytes: int, prefix: bytes = b"", others: dict = ()):
    """A deflated member `name` holding `prefix` then `megabytes` MiB of zeros (about 1000:1),
    after the members `others`; the zip declares the member's full unpacked size."""
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w") as z:
        for other, data in dict(others).items():
            z.writestr(other, data)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as member:
            member.write(prefix)
            for _ in range(megabytes):
                member.write(zeros)
    return path


def safetensors_bytes(header: dict, data: bytes = b"", length=None) -> bytes:
    """A .safetensors file from a header dict (written as given) and raw data; `length` overrides
    the declared header length."""
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def state_members(state: dict) -> dict:
    """{key + '.npy': .npy bytes} for a state dict, as np.savez names them."""
    return {f"{k}.npy": npy_bytes(v) for k, v in state.items()}
