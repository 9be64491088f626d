"""nn.save: the umask's permissions, fsync before the rename, stale temporaries of killed saves
removed, symlinks followed, and a save killed by SIGKILL leaving the previous file loadable."""
import os
import pathlib
import signal
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest

import nn

ROOT = pathlib.Path(__file__).resolve().parents[1]


def states_equal(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test, then restore it."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_new_files_follow_the_umask_and_overwrites_keep_their_mode(tmp_path, umask, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    model = nn.Linear(3, 2, seed=0)
    umask(0o022)
    nn.save(model, tmp_path / f"a{suffix}")
    assert mode_of(tmp_path / f"a{suffix}") == 0o644
    umask(0o077)
    nn.save(model, tmp_path / f"b{suffix}")
    assert mode_of(tmp_path / f"b{suffix}") == 0o600
    os.chmod(tmp_path / f"a{suffix}", 0o640)
    nn.save(model, tmp_path / f"a{suffix}")
    assert mode_of(tmp_path / f"a{suffix}") == 0o640


def test_the_file_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(a, b):
        events.append("rename")
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    nn.save(nn.Linear(3, 2, seed=0), tmp_path / "m.npz")
    assert events == ["fsync file", "rename", "fsync folder"]


def test_saving_onto_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "runs").mkdir()
    nn.save(nn.Linear(3, 2, seed=0), tmp_path / "runs" / "step_1.npz")
    link = tmp_path / "latest.npz"
    link.symlink_to(pathlib.Path("runs") / "step_1.npz")
    newer = nn.Linear(3, 2, seed=1)
    nn.save(newer, link)
    assert link.is_symlink() and os.readlink(link) == str(pathlib.Path("runs") / "step_1.npz")
    back = nn.load(nn.Linear(3, 2, seed=2), tmp_path / "runs" / "step_1.npz")
    assert states_equal(back.state_dict(), newer.state_dict())
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["step_1.npz"]


def test_saving_onto_a_directory_or_a_fifo_is_refused(tmp_path):
    model = nn.Linear(3, 2, seed=0)
    with pytest.raises(IsADirectoryError, match="is a directory; give a file name"):
        nn.save(model, tmp_path)
    os.mkfifo(tmp_path / "pipe")
    done = []
    saver = threading.Thread(target=lambda: done.append(pytest.raises(FileExistsError, nn.save, model,
                                                                        tmp_path / "pipe")), daemon=True)
    saver.start()
    saver.join(60)
    assert done and "is a named pipe (FIFO), not a regular file" in str(done[0].value)
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe").st_mode)


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_stale_temporaries_of_the_same_path_are_removed(tmp_path):
    dead = dead_pid()
    stale = tmp_path / f".tmp-m.npz.{dead}.{'a' * 16}"
    running = tmp_path / f".tmp-m.npz.{os.getpid()}.{'b' * 16}"   # a save in progress in this process
    other = tmp_path / f".tmp-other.npz.{dead}.{'c' * 16}"         # another path's
    for p in (stale, running, other):
        p.write_bytes(b"partial")
    nn.save(nn.Linear(3, 2, seed=0), tmp_path / "m.npz")
    assert not stale.exists() and running.exists() and other.exists()


CHILD = r"""
import os, sys, time
import numpy as np
import nn
where = sys.argv[2]

def pause(*args, **kwargs):
    if where == "in the data":
        args[0].write(b"PK\x03\x04 half an archive")
        args[0].flush()
    print("ready", flush=True)
    time.sleep(600)

if where == "in the data":
    nn.io.np.savez = pause
else:
    nn.checkpoint_files.os.fsync = pause
nn.save(nn.Linear(50, 40, seed=1), sys.argv[1])
"""


@pytest.mark.parametrize("where", ["in the data", "before the rename"])
def test_a_save_killed_by_sigkill_leaves_the_previous_file_loadable(tmp_path, where):
    path = tmp_path / "model.npz"
    old = nn.Linear(50, 40, seed=0)
    nn.save(old, path)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), where], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline() == "ready\n"   # the child is inside nn.save, its temporary written
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-model.npz.")]
    assert leftovers == [f".tmp-model.npz.{child.pid}.{leftovers[0][-16:]}"]
    back = nn.load(nn.Linear(50, 40, seed=2), path)
    assert states_equal(back.state_dict(), old.state_dict())
    nn.save(old, path)   # the next save to the same path removes the dead save's temporary
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_saving_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "latest.npz"
    link.symlink_to(tmp_path / "runs" / "step_1.npz")
    with pytest.raises(FileNotFoundError, match=r"folder .*runs does not exist \(.*latest.npz is a symbolic link"):
        nn.save(nn.Linear(3, 2, seed=0), link)
    (tmp_path / "runs").mkdir()
    nn.save(nn.Linear(3, 2, seed=0), link)
    assert link.is_symlink() and (tmp_path / "runs" / "step_1.npz").is_file()
