"""Read an `.npz` checkpoint with every member's name, declared size and .npy header checked first.

Nothing is decompressed before the zip's central directory (its size capped by the model), the
member names, their declared sizes and their .npy headers have been checked against the arrays
the model expects; members the model does not expect are never opened. Reading is then bounded
by the model's size whatever the file claims: a zip bomb, a header declaring terabytes or an
endless member cost a few kilobytes to refuse.
"""
from __future__ import annotations

import math
import struct
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy

from .checkpoint_files import UnsafeFileError

NPY_HEADER_CAP = 10_000      # numpy's own max_header_size for .npy headers it reads safely
NPY_PREFIX = 12              # magic (6), version (2), header length (2 or 4)
COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)   # np.savez, np.savez_compressed
_BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, struct.error,
           NotImplementedError, RuntimeError, KeyError)


def metadata_cap(expected: dict) -> int:
    """Bytes of zip directory or safetensors header a checkpoint of these arrays may need."""
    return 64 * 1024 + 4096 * len(expected)


def _directory_size(f, size: int) -> tuple[int, int]:
    """(entries, central directory bytes) the archive's end record declares (zip64 included)."""
    tail_size = min(size, 22 + 0xFFFF)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ValueError("it has no end-of-archive record: the file is truncated or is not a zip")
    entries, directory = struct.unpack("<xxxxxxxxxxHI", tail[at:at + 16])
    if entries == 0xFFFF or directory == 0xFFFFFFFF:        # the real numbers are in the zip64 record
        where = size - tail_size + at - 20
        f.seek(max(where, 0))
        locator = f.read(20)
        if len(locator) == 20 and locator[:4] == b"PK\x06\x07":
            f.seek(struct.unpack("<Q", locator[8:16])[0])
            record = f.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory


def _damage(error: zipfile.BadZipFile) -> str:
    if "CRC" in str(error):
        return "its data fails the zip CRC check: the file was damaged or edited after it was written"
    return f"it is damaged ({error})"


class NpzArchive:
    """An open .npz whose members are checked before reading: headers() first, then read(key)."""

    def __init__(self, f, size: int, path: str, expected: dict):
        self.path, self.expected = path, expected
        try:
            entries, directory = _directory_size(f, size)
        except _BROKEN as e:
            raise self.refuse(f"it is a damaged zip archive: {e}") from None
        cap = metadata_cap(expected)
        if directory > cap:
            raise self.refuse(f"its zip directory declares {directory:,} bytes ({entries:,} members); a "
                              f"checkpoint of these {len(expected)} arrays needs at most {cap:,}. Nothing was read")
        try:
            self.zip = zipfile.ZipFile(f)
        except _BROKEN as e:
            raise self.refuse(f"it is a damaged zip archive: {e}") from None
        self.entries = {}   # key -> (ZipInfo, data offset, data bytes, dtype, shape, fortran_order)

    def refuse(self, cause: str, member: str | None = None) -> UnsafeFileError:
        where = f"member {member!r}: " if member is not None else ""
        return UnsafeFileError(f"load: refusing {self.path}: {where}{cause}")

    def headers(self) -> tuple[dict, list]:
        """({key: (shape, dtype)} for the expected members, [unexpected keys]), from names,
        declared sizes and .npy headers only; raises UnsafeFileError for anything unsafe."""
        found, unknown, seen = {}, [], set()
        for info in self.zip.infolist():
            name = info.filename
            if name in seen:
                raise self.refuse("it appears twice in the archive, so which copy counts is ambiguous", name)
            seen.add(name)
            if not name.endswith(".npy"):
                hint = (" (this is a PyTorch torch.save file, which holds pickles that run code when read; "
                        "save its state_dict with safetensors.torch.save_file instead)" if name.endswith("data.pkl")
                        else "")
                raise self.refuse(f"it is not a .npy array; an .npz checkpoint holds only .npy arrays{hint}", name)
            key = name[:-4]
            if key not in self.expected:
                unknown.append(key)      # never opened
                continue
            found[key] = self._header(info, key)
        return found, unknown

    def _header(self, info, key):
        name, shape = info.filename, self.expected[key][0]
        if info.flag_bits & 0x1:
            raise self.refuse("it is encrypted", name)
        if info.compress_type not in COMPRESSIONS:
            raise self.refuse(f"it uses zip compression method {info.compress_type}; only stored and "
                              "deflated members (np.savez, np.savez_compressed) are read", name)
        cap = NPY_PREFIX + NPY_HEADER_CAP + math.prod(shape) * 8
        if info.file_size > cap:
            raise self.refuse(f"it declares {info.file_size:,} bytes once unpacked, but an array of shape "
                              f"{shape} needs at most {cap:,} (a zip bomb?); it was not unpacked", name)
        try:
            with self.zip.open(info) as member:
                version = npy.read_magic(member)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f".npy format version {version} (tracegrad reads 1.0 and 2.0)")
                read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                got, fortran, dtype = read(member, max_header_size=NPY_HEADER_CAP)
                offset = member.tell()
        except zipfile.BadZipFile as e:
            raise self.refuse(_damage(e), name) from None
        except _BROKEN as e:
            raise self.refuse(f"its .npy header is malformed ({e})", name) from None
        if dtype.hasobject:
            raise self.refuse(f"entry {key!r} holds pickled Python objects (dtype {dtype}), which can run code "
                              "when read. Only numeric arrays are accepted; nothing was loaded.")
        if dtype.kind not in "biuf" or dtype.itemsize > 8 or dtype.fields or dtype.subdtype:
            raise self.refuse(f"entry {key!r} has dtype {dtype}; only numeric arrays (bool, integer, float up to "
                              "64 bits) are accepted. Nothing was loaded.")
        nbytes = math.prod(got) * dtype.itemsize
        if tuple(got) == tuple(shape) and info.file_size != offset + nbytes:
            have = info.file_size - offset
            raise self.refuse(f"its .npy header describes {nbytes:,} bytes of data ({dtype}, shape {tuple(got)}) "
                              f"but the member holds {have:,}: it is {'truncated (short data)' if have < nbytes else 'too long'}",
                              name)
        self.entries[key] = (info, offset, nbytes, dtype, tuple(got), fortran)
        return tuple(got), dtype

    def read(self, key: str) -> np.ndarray:
        """The array of an expected member whose header passed; CRC and length checked."""
        info, offset, nbytes, dtype, shape, fortran = self.entries[key]
        buffer = bytearray(nbytes)
        view, got = memoryview(buffer), 0
        try:
            with self.zip.open(info) as member:
                member.read(offset)
                while got < nbytes:
                    chunk = member.read(min(nbytes - got, 1 << 20))
                    if not chunk:
                        raise self.refuse(f"its data ends after {got:,} of {nbytes:,} bytes (truncated)", info.filename)
                    view[got:got + len(chunk)] = chunk
                    got += len(chunk)
                if member.read(1):
                    raise self.refuse("it holds more data than its .npy header describes", info.filename)
        except UnsafeFileError:
            raise
        except zipfile.BadZipFile as e:
            raise self.refuse(_damage(e), info.filename) from None
        except _BROKEN as e:
            raise self.refuse(f"its data cannot be unpacked ({type(e).__name__}: {e})", info.filename) from None
        array = np.frombuffer(buffer, dtype)
        array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
        return array if dtype.isnative else array.astype(dtype.newbyteorder("="))
