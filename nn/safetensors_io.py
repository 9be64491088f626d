"""`.safetensors` checkpoints: written by the safetensors package, read here with the header checked first.

The format (Hugging Face's, read by PyTorch through `safetensors.torch`) is an 8-byte length, a
JSON header {name: {dtype, shape, data_offsets}} and the raw little-endian data. Reading needs no
package: the header is small and is checked (size capped by the model, names, dtypes, shapes,
offsets inside the file and consistent with dtype x shape) before any data is read, and only the
byte ranges of the arrays the model expects are read. Writing uses `safetensors.numpy.save`.
"""
from __future__ import annotations

import json
import math
import struct

import numpy as np

from .checkpoint_files import UnsafeFileError
from .npz_reader import metadata_cap

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "|i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "|u1", "BOOL": "|b1"}


def looks_like_safetensors(head: bytes) -> bool:
    """An 8-byte little-endian header length, then the JSON header's opening brace."""
    return len(head) >= 9 and head[8:9] == b"{"


def encode(state: dict) -> bytes:
    """The bytes of a .safetensors file holding `state` ({name: numpy array})."""
    try:
        from safetensors.numpy import save
    except ImportError:
        raise ImportError("saving .safetensors needs the safetensors package: pip install 'tracegrad[safetensors]' "
                          "(or pip install safetensors). Loading one needs nothing more, and .npz needs "
                          "nothing either.") from None
    arrays = {k: np.require(v, requirements="C") for k, v in state.items()}   # 0-d stays 0-d
    # "pt": the names and layouts are PyTorch's (Linear.weight is (out, in)); transformers and
    # other PyTorch tools refuse a file whose metadata names another framework
    return save(arrays, metadata={"format": "pt"})


def _shape(value):
    if not isinstance(value, list) or not all(type(n) is int and n >= 0 for n in value):
        raise ValueError(f"shape {value!r} is not a list of whole numbers >= 0")
    return tuple(value)


class SafetensorsFile:
    """An open .safetensors file whose header is checked before reading: headers() first, then read(key)."""

    def __init__(self, f, size: int, path: str, expected: dict):
        self.f, self.path, self.expected = f, path, expected
        f.seek(0)
        (length,) = struct.unpack("<Q", f.read(8))
        cap = metadata_cap(expected)
        if length > cap:
            raise self.refuse(f"its header declares {length:,} bytes; a checkpoint of these {len(expected)} "
                              f"arrays needs at most {cap:,}. Nothing was read")
        if 8 + length > size:
            raise self.refuse(f"it is truncated: its header declares {length:,} bytes but the file has "
                              f"{size - 8:,} after the length")
        try:
            header = json.loads(f.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise self.refuse(f"its JSON header is malformed ({type(e).__name__}: {e})") from None
        header.pop("__metadata__", None)
        self.header, self.start, self.data_size = header, 8 + length, size - 8 - length
        self.entries = {}   # key -> (start, data bytes, dtype, shape)

    def refuse(self, cause: str, key: str | None = None) -> UnsafeFileError:
        where = f"entry {key!r}: " if key is not None else ""
        return UnsafeFileError(f"load: refusing {self.path}: {where}{cause}")

    def headers(self) -> tuple[dict, list]:
        """({key: (shape, dtype)} for the expected tensors, [unexpected keys]), from the header only."""
        found, unknown = {}, []
        for key, info in self.header.items():
            if key not in self.expected:
                unknown.append(key)
                continue
            found[key] = self._entry(key, info)
        if not unknown:   # every tensor was checked: they must tile the data (the format's own rule)
            spans = sorted(self.entries[k][:2] for k in found)
            end = 0
            for start, nbytes in spans:
                if start != end:
                    raise self.refuse(f"its tensors' byte ranges {'overlap' if start < end else 'leave a gap'} at "
                                      f"byte {min(start, end):,} (the format requires them to tile the data)")
                end = start + nbytes
            if end != self.data_size:
                raise self.refuse(f"it holds {self.data_size - end:,} bytes after its last tensor")
        return found, unknown

    def _entry(self, key, info):
        try:
            if not isinstance(info, dict):
                raise ValueError(f"{info!r} is not an object with dtype, shape and data_offsets")
            name = info.get("dtype")
            if name not in DTYPES:
                raise ValueError(f"dtype {name!r} has no numpy equivalent: convert it to float32 in PyTorch "
                                 "(tensor.float()) before saving" if name in ("BF16", "F8_E4M3", "F8_E5M2")
                                 else f"dtype {name!r} is not one safetensors defines")
            dtype, shape = np.dtype(DTYPES[name]), _shape(info.get("shape"))
            offsets = info.get("data_offsets")
            if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(n) is int for n in offsets)
                    or not 0 <= offsets[0] <= offsets[1] <= self.data_size):
                raise ValueError(f"data_offsets {offsets!r} do not lie inside the {self.data_size:,} bytes of data")
        except ValueError as e:
            raise self.refuse(str(e), key) from None
        start, nbytes = offsets[0], offsets[1] - offsets[0]
        if shape == tuple(self.expected[key][0]) and nbytes != math.prod(shape) * dtype.itemsize:
            raise self.refuse(f"its data_offsets span {nbytes:,} bytes but {name} x shape {shape} needs "
                              f"{math.prod(shape) * dtype.itemsize:,}", key)
        self.entries[key] = (start, nbytes, dtype, shape)
        return shape, dtype

    def read(self, key: str) -> np.ndarray:
        """The array of an expected tensor whose header entry passed."""
        start, nbytes, dtype, shape = self.entries[key]
        self.f.seek(self.start + start)
        buffer = bytearray(nbytes)
        view, got = memoryview(buffer), 0
        while got < nbytes:
            n = self.f.readinto(view[got:])
            if not n:
                break
            got += n
        if got != nbytes:
            raise self.refuse(f"its data ends after {got:,} of {nbytes:,} bytes (the file is truncated)", key)
        array = np.frombuffer(buffer, dtype).reshape(shape)
        return array if dtype.isnative else array.astype(dtype.newbyteorder("="))
