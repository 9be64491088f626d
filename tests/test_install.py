"""From the built wheel in fresh venvs, as a user installs it (make install-check): alone, then with
HIPS autograd (PyPI's `autograd`) installed after it, and before it; the console script, mypy on a
user file, pip check, the optional features' messages."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

pytestmark = pytest.mark.install
REPO = pathlib.Path(__file__).resolve().parent.parent

USER = textwrap.dedent("""
    import math, pathlib, sys
    from tracegrad import Value, grad, no_grad, nn, viz
    import autograd.viz, tracegrad
    import nn as top_level_nn
    assert tracegrad.nn is top_level_nn and tracegrad.nn.MLP is top_level_nn.MLP
    assert tracegrad.viz.draw is autograd.viz.draw and tracegrad.viz is autograd.viz
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.88, label="b")
    y = (x * w + b).tanh(); y.backward()
    assert abs(x.grad - w.data * (1 - math.tanh(0.88) ** 2)) < 1e-12
    (dx,) = grad((x * x).tanh(), x)
    with no_grad():
        assert (x * w).is_leaf
    assert "<svg" in viz.draw(y).pipe(encoding="utf-8")
    viz.player(y).save(pathlib.Path(sys.argv[1]) / "player.html")
    model = nn.MLP(2, [4, 1], seed=0)
    X, t = nn.make_moons(32, noise=0.1, seed=0)
    opt = nn.SGD(model.parameters(), lr=0.1)
    loss = nn.hinge(model(X).reshape(-1), 2 * t - 1); opt.zero_grad(); loss.backward(); opt.step()
    print("tracegrad", tracegrad.__version__, "works")
""")
HIPS = textwrap.dedent("""
    import numpy as np
    import autograd.numpy as anp
    from autograd import grad, elementwise_grad
    assert abs(grad(anp.tanh)(0.5) - (1 - np.tanh(0.5) ** 2)) < 1e-12
    print("HIPS autograd works")
""")
MISSING_EXTRAS = textwrap.dedent("""
    import numpy as np
    from tracegrad import nn, viz
    def message(call):
        try:
            call()
        except ModuleNotFoundError as error:
            return str(error)
        raise AssertionError("no error")
    model = nn.MLP(2, [3, 1], seed=0)
    rec = viz.TrainingRecorder(model)
    for want, call in [("tracegrad[datasets]", nn.load_digits), ("tracegrad[torch]", lambda: nn.to_torch(model)),
                       ("tracegrad[plot]", lambda: viz.plot_loss(rec)),
                       ("tracegrad[progress]", lambda: list(rec.progress(range(2))))]:
        assert want in message(call), (want, message(call))
    print("extras named")
""")
TYPED = textwrap.dedent("""
    from tracegrad import Value, grad, nn, viz
    y = Value(1.0).tanh()
    reveal_type(y)
    reveal_type(y * 2 + Value(3.0))
    reveal_type(grad(y, Value(1.0)))
    reveal_type(viz.draw(y))
    reveal_type(nn.MLP(2, [3, 1]))
""")


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def venv(path: pathlib.Path) -> pathlib.Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    return path / "bin" / "python"


def run(python, *args, env=None, check=True, cwd=None):
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(python), *args], capture_output=True, text=True, timeout=900,
                          env={**clean, **(env or {})}, cwd=cwd or python.parent.parent)
    if check:
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def pip(python, *args):
    return run(python, "-m", "pip", "--no-input", "--disable-pip-version-check", "-q", *args)


def user_works(python, tmp: pathlib.Path, hips: bool) -> None:
    (tmp / "out").mkdir(exist_ok=True)
    done = run(python, "-W", "default", "-c", USER, str(tmp / "out"))
    assert "works" in done.stdout and (tmp / "out" / "player.html").stat().st_size > 1000
    clash = "HIPS autograd" in done.stderr and "UserWarning" in done.stderr
    assert clash == hips, done.stderr
    if hips:
        assert "from tracegrad import" in done.stderr   # the way out
        assert "works" in run(python, "-c", HIPS).stdout


def cli_works(python, tmp: pathlib.Path) -> None:
    script = python.parent / "tracegrad"
    assert run(script, "--help").returncode == 0
    empty = tmp / "no-dot-here"
    empty.mkdir(exist_ok=True)
    out = tmp / "cli-out"
    run(script, "tanh(w*x + b)", "x=2", "w=-3", "b=6.88", "-o", str(out),
        env={"PATH": str(empty), "TRACEGRAD_RENDERER": "pip"})
    assert "<svg" in (out / "graph.svg").read_text() and "<html" in (out / "player.html").read_text()


def test_the_wheel_installs_exactly_autograd_nn_and_tracegrad(dist):
    wheel, sdist = dist
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if ".dist-info" not in n} == {"autograd", "nn", "tracegrad"}
    assert {"autograd/py.typed", "nn/py.typed", "tracegrad/py.typed", "tracegrad/demos/tour.ipynb"} <= set(names)
    in_sdist = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert {"tests/conftest.py", "demos/tour.ipynb", "LICENSE", "constraints.txt"} <= in_sdist


def test_alone_then_with_hips_autograd_installed_after_it(dist, tmp_path):
    wheel, _ = dist
    python = venv(tmp_path / "venv")
    pip(python, "install", str(wheel))
    run(python, "-m", "pip", "check")
    user_works(python, tmp_path, hips=False)
    cli_works(python, tmp_path)
    assert run(python, "-c", "import demos", check=False).returncode != 0     # no top-level `demos`
    assert "flagship" in run(python, "-m", "tracegrad.demos").stdout
    assert "extras named" in run(python, "-c", MISSING_EXTRAS).stdout
    pip(python, "install", "mypy")
    (tmp_path / "user.py").write_text(TYPED)
    types = run(python, "-m", "mypy", "--no-incremental", str(tmp_path / "user.py")).stdout
    assert types.count('Revealed type is "autograd.value.Value"') == 2, types
    assert 'tuple[autograd.value.Value, ...]' in types and "Digraph" in types and "nn.layers.MLP" in types

    pip(python, "install", "autograd")            # HIPS last: it overwrites autograd/__init__.py
    user_works(python, tmp_path, hips=True)
    cli_works(python, tmp_path)
    run(python, "-m", "pip", "uninstall", "-y", "autograd")
    user_works(python, tmp_path, hips=False)       # tracegrad never needed that __init__.py


def test_hips_autograd_first_then_tracegrad(dist, tmp_path):
    wheel, _ = dist
    python = venv(tmp_path / "venv")
    pip(python, "install", "autograd")
    pip(python, "install", str(wheel))            # tracegrad last: its __init__.py gives HIPS's names
    user_works(python, tmp_path, hips=True)
    cli_works(python, tmp_path)
    run(python, "-m", "pip", "uninstall", "-y", "tracegrad")   # takes the shared __init__.py with it
    pip(python, "install", "--force-reinstall", "--no-deps", "autograd")   # the way out the warning gives
    assert "works" in run(python, "-c", HIPS).stdout
