"""Save and load parameters as `.npz`: plain numeric arrays, never pickled objects.

A pickle can run arbitrary code when it is read, so `load` opens files with
allow_pickle=False and refuses any entry that is not a numeric array. Loading is
all-or-nothing: every key and shape is checked before a single parameter changes.
"""
from __future__ import annotations

import os
import tempfile
import zipfile

import numpy as np

from .module import Module, StateDictError


class UnsafeFileError(StateDictError):
    """The file holds pickled Python objects (which could run code) or is not an .npz archive."""


def save(module: Module, path) -> str:
    """Write module.state_dict() to `path` as an uncompressed .npz (written atomically)."""
    path = os.fspath(path)
    state = module.state_dict()
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, **state)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def read_arrays(path) -> dict:
    """{name: numpy array} from an .npz file, refusing pickled or non-numeric entries."""
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        raise UnsafeFileError(f"load: {path} is not an .npz archive (tracegrad files are written by nn.save); "
                              "refusing to read it")
    arrays = {}
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            try:
                arr = archive[key]
            except ValueError as e:  # "Object arrays cannot be loaded when allow_pickle=False"
                raise UnsafeFileError(
                    f"load: refusing {path}: entry {key!r} holds pickled Python objects, which can run code "
                    f"when read ({e}). Only numeric arrays are accepted; nothing was loaded.") from None
            if arr.dtype.kind not in "biuf":
                raise UnsafeFileError(f"load: refusing {path}: entry {key!r} has dtype {arr.dtype}; only numeric "
                                      "arrays are accepted. Nothing was loaded.")
            arrays[key] = arr
    return arrays


def load(module: Module, path, strict: bool = True) -> Module:
    """Read parameters saved by `save` into `module` (all-or-nothing; see Module.load_state_dict)."""
    arrays = read_arrays(path)
    try:
        return module.load_state_dict(arrays, strict=strict)
    except StateDictError as e:
        raise StateDictError(f"load {os.fspath(path)}: {e}") from None
