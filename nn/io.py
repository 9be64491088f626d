"""Save and load a module's state as `.npz` or `.safetensors`: plain numeric arrays, never pickles.

`load` trusts nothing in the file. It opens only regular files (a FIFO, a device, a directory or a
symbolic link to /dev/zero is refused before it is opened), then checks every entry's name,
declared size, dtype and shape against `module.state_dict()` *before reading any data*: unknown
entries are refused (strict) or skipped (strict=False) unread, and nothing larger than the model
needs is ever unpacked, so memory and time are bounded by the model's size whatever the file
claims. Loading is all-or-nothing: on any refusal the module is unchanged.

Dtypes (decided here, documented in the README):
- float16 entries load into float32/float64 parameters with a `CheckpointWarning` (the file kept
  only ~3 significant digits); float32 <-> float64 converts silently, as in PyTorch.
- an integer or bool entry where the module holds floats (or a float where it holds integers,
  e.g. a batch count) is refused with a StateDictError: no save of this model writes that, so
  the file is not its checkpoint. Convert it yourself and call load_state_dict if you mean it.
- NaN or inf weights load (to inspect a diverged run) with a `CheckpointWarning` naming the
  entries and counts. Make it an error with warnings.simplefilter("error", nn.CheckpointWarning).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from .checkpoint_files import CheckpointWarning, MissingFileError, UnsafeFileError, atomic_write, open_regular
from .module import Module, StateDictError
from .npz_reader import NpzArchive
from .safetensors_io import SafetensorsFile, encode, looks_like_safetensors

__all__ = ["save", "load", "read_arrays", "UnsafeFileError", "MissingFileError", "CheckpointWarning"]
FORMATS = ("npz", "safetensors")


def _format(path: str, format) -> str:
    if format is None:
        return "safetensors" if path.lower().endswith(".safetensors") else "npz"
    if format not in FORMATS:
        raise ValueError(f"save: format={format!r}; use 'npz' or 'safetensors' (or None: from the file name)")
    return format


def save(module: Module, path, format: str | None = None) -> str:
    """Write module.state_dict() (parameters and buffers) to `path`, atomically and durably.

    format: "npz" (uncompressed, numpy only), "safetensors" (needs `tracegrad[safetensors]`;
    PyTorch reads it with safetensors.torch.load_file), or None: safetensors for a name ending
    in .safetensors, npz otherwise. A reader sees the old file or the new one, never a mix; a
    save killed midway leaves the old file, and the next save to that path removes its
    temporary. A symbolic link is followed (its target is replaced, the link stays). A new file
    gets the umask's permissions (0644 under umask 022); an overwritten file keeps its own.
    """
    path = os.fsdecode(path)
    state = module.state_dict()
    if _format(path, format) == "safetensors":
        blob = encode(state)
        return atomic_write(path, lambda f: f.write(blob))
    return atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **state))


def _sniff(f, path: str) -> str:
    head = f.read(16)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "npz"
    if looks_like_safetensors(head):
        return "safetensors"
    if not head:
        cause = "it is empty (0 bytes): a save that never finished, or not a checkpoint"
    elif head[:6] == b"\x93NUMPY":
        cause = "it is a single .npy array (np.save), not a checkpoint of named arrays (nn.save)"
    elif head[:1] == b"\x80":
        cause = ("it is not an .npz archive nor a .safetensors file but a Python pickle (pickle.dump, an old "
                 "torch.save), which can run code when read")
    else:
        cause = "it is not an .npz archive nor a .safetensors file (tracegrad files are written by nn.save)"
    raise UnsafeFileError(f"load: refusing {path}: {cause}; nothing was read")


_GROUPS = {"f": "floating point", "i": "integer", "u": "integer", "b": "bool"}


def _names(keys: list, most: int = 20) -> str:
    return repr(keys) if len(keys) <= most else f"{keys[:most]!r} and {len(keys) - most} more"


def _check(owner: str, path: str, expected: dict, found: dict, unknown: list, strict: bool) -> None:
    """Raise one StateDictError naming every missing, unexpected, mis-shaped or mis-typed entry."""
    missing = [k for k in expected if k not in found]
    shapes = [f"{k}: expected shape {expected[k][0]}, got {found[k][0]}"
              for k in expected if k in found and tuple(found[k][0]) != tuple(expected[k][0])]
    kinds = [f"{k}: the module holds {expected[k][1]}, the file {found[k][1]}"
             for k in expected if k in found and _GROUPS[found[k][1].kind] != _GROUPS[expected[k][1].kind]]
    problems = []
    if missing and strict:
        problems.append(f"missing keys {_names(missing)}")
    if unknown and strict:
        problems.append(f"unexpected keys {_names(unknown)} (not read)")
    if shapes:
        problems.append("shape mismatches: " + "; ".join(shapes))
    if kinds:
        problems.append("dtype mismatches: " + "; ".join(kinds) + " (cast it yourself and call load_state_dict "
                        "if that is meant)")
    if problems:
        raise StateDictError(f"load {path}: load_state_dict into {owner}: " + ", ".join(problems) +
                             ". The state comes from a different architecture; nothing was loaded.")


def _warn(path: str, arrays: dict, expected: dict) -> None:
    low = [k for k, a in arrays.items() if a.dtype == np.float16 and expected[k][1].itemsize > 2]
    if low:
        warnings.warn(f"load {path}: {_names(low)} stored as float16: loaded into wider floats with only "
                      "float16's ~3 significant digits", CheckpointWarning, stacklevel=3)
    bad = []
    for k, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            nan = int(np.isnan(a).sum())
            bad.append(f"{k} ({nan} NaN, {a.size - nan - int(np.isfinite(a).sum())} inf of {a.size})")
    if bad:
        warnings.warn(f"load {path}: non-finite weights loaded: {', '.join(bad)}; the model will compute NaN "
                      "(the run that saved them probably diverged)", CheckpointWarning, stacklevel=3)


def read_arrays(path, expected: dict, strict: bool = True, owner: str = "the module") -> dict:
    """{name: numpy array} for the entries of `expected` ({name: (shape, dtype)}) that `path` holds,
    after checking every name, size, dtype and shape (see the module docstring)."""
    path = os.fsdecode(path)
    f, size = open_regular(path)
    with f:
        kind = _sniff(f, path)
        archive = (NpzArchive if kind == "npz" else SafetensorsFile)(f, size, path, expected)
        found, unknown = archive.headers()
        _check(owner, path, expected, found, unknown, strict)
        return {k: archive.read(k) for k in found}


def load(module: Module, path, strict: bool = True) -> Module:
    """Read a checkpoint written by `save` (or any .npz / .safetensors of the same names) into `module`.

    Parameters and buffers come through module.state_dict()/load_state_dict(). All-or-nothing;
    refusals raise UnsafeFileError (a file that is not a sound checkpoint: the message names the
    path and the cause) or StateDictError (the names, shapes or dtypes of another model). With
    strict=False, missing entries keep their values and unknown ones are skipped unread.
    """
    expected = {k: (np.shape(v), np.asarray(v).dtype) for k, v in module.state_dict().items()}
    arrays = read_arrays(path, expected, strict, type(module).__name__)
    _warn(os.fsdecode(path), arrays, expected)
    try:
        return module.load_state_dict(arrays, strict=strict)
    except StateDictError as e:
        raise StateDictError(f"load {os.fsdecode(path)}: {e}") from None
