"""Checkpoint files on disk: the refusals, opening only regular files, and saves that outlive a kill."""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat

from .module import StateDictError

TEMPORARY = ".tmp-"   # a save writes ".tmp-<name>.<pid>.<random>" beside <name>, then renames it


class UnsafeFileError(StateDictError):
    """`nn.load` refused the file before reading its data: not a regular file, not a checkpoint,
    damaged, holding pickled Python objects (which could run code), or larger than the model needs.
    The message names the path and the cause; the module is unchanged."""


class MissingFileError(UnsafeFileError, FileNotFoundError):
    """The path does not exist (or is a symbolic link to nothing); also a FileNotFoundError."""


class CheckpointWarning(UserWarning):
    """A checkpoint loaded, with something a careful user should know: float16 precision, NaN/inf weights."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words ("a directory", "a character device", ...)."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str):
    """(binary file, size) of the regular file at `path`, following symbolic links.

    Anything else is refused *before* it is opened: opening a device can have effects, and
    reading a FIFO or /dev/zero never ends. The file is opened non-blocking and checked again
    (same inode, still regular), so a swap between the check and the open is refused too."""
    shown = f"{path} (a symbolic link to {os.readlink(path)!r})" if os.path.islink(path) else path
    try:
        before = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise MissingFileError(f"load: {shown}: the file it points to does not exist") from None
        raise MissingFileError(f"load: {path} does not exist") from None
    except OSError as e:   # a symlink loop, a folder we may not enter, a name too long
        raise UnsafeFileError(f"load: cannot reach {shown}: {e.strerror}") from None
    if not stat.S_ISREG(before.st_mode):
        raise UnsafeFileError(f"load: {shown} is {kind_of(before.st_mode)}, not a regular file; only regular "
                              "files are read (a pipe or a device can block forever or never end)")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise UnsafeFileError(f"load: cannot open {shown}: {e.strerror}") from None
    now = os.fstat(fd)
    if not stat.S_ISREG(now.st_mode) or (now.st_ino, now.st_dev) != (before.st_ino, before.st_dev):
        os.close(fd)
        raise UnsafeFileError(f"load: {shown} was replaced while it was being opened; try again")
    return os.fdopen(fd, "rb"), now.st_size


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (on this machine's process table; True when unsure)."""
    if pid == os.getpid() or os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:        # EPERM: someone else's process
        return True
    return True


def remove_stale_temporaries(folder: str, name: str) -> list[str]:
    """Remove the temporaries that killed saves to `folder/name` left behind (their process is
    gone); a save still running, here or in another process, keeps its own. Returns the removed."""
    pattern = re.compile(re.escape(f"{TEMPORARY}{name}.") + r"(\d+)\.[0-9a-f]{16}")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(entry.path)
                removed.append(entry.path)
    return removed


def _fsync_folder(folder: str) -> None:
    """Make the folder's entries (the rename just done) durable; a no-op where folders cannot be synced."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError:   # EINVAL: this file system does not sync folders
        pass
    finally:
        os.close(fd)


def atomic_write(path: str, write) -> str:
    """Call write(binary file) on a temporary beside the target, then rename it over the target.

    The target is never half-written: a reader sees the old file or the new one. The data is
    fsync'ed before the rename and the folder after it, so a power cut keeps one of the two.
    A symbolic link is followed (like open(path, "w") and torch.save): the file it points to is
    replaced and the link stays. A new file gets the umask's permissions (0644 under umask 022),
    an overwritten one keeps its own. Temporaries of earlier saves to the same path that were
    killed (SIGKILL, power cut) are removed first."""
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        mode = None
    else:
        if stat.S_ISDIR(existing.st_mode):
            raise IsADirectoryError(f"save: {path} is a directory; give a file name, e.g. {os.path.join(path, 'model.npz')}")
        if not stat.S_ISREG(existing.st_mode):
            raise FileExistsError(f"save: {path} is {kind_of(existing.st_mode)}, not a regular file; refusing to replace it")
        mode = stat.S_IMODE(existing.st_mode)
    if not os.path.isdir(folder):
        via = f" ({path} is a symbolic link to {target})" if os.path.islink(path) else ""
        raise FileNotFoundError(f"save: the folder {folder} does not exist{via}; create it first")
    remove_stale_temporaries(folder, name)
    tmp = os.path.join(folder, f"{TEMPORARY}{name}.{os.getpid()}.{secrets.token_hex(8)}")
    # mode 0o666 through os.open: the kernel applies the umask, as for any new file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)
    return path
