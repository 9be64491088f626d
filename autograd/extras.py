"""Optional dependencies: import one, or fail naming the extra that installs it (`pip install tracegrad[plot]`).

    extra       installs        used by
    plot        matplotlib      viz.plot_* figures, demo pictures
    progress    tqdm            TrainingRecorder.progress, training_player's bar
    datasets    scikit-learn    nn.load_digits, nn.load_iris
    gif         pillow          save_gif
    torch       torch           nn.to_torch, DDP
"""
from __future__ import annotations

import importlib
import sys

PACKAGES = {"plot": "matplotlib", "progress": "tqdm", "datasets": "scikit-learn", "gif": "pillow",
            "torch": "torch", "demo": "matplotlib, tqdm, scikit-learn and pillow"}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is missing; the message names the `tracegrad[EXTRA]` to install."""


def install_hint(extra: str) -> str:
    return f"pip install 'tracegrad[{extra}]'"


def require(module: str, extra: str, feature: str):
    """Import `module` (e.g. "matplotlib.figure"), or raise MissingExtraError naming `tracegrad[extra]`."""
    try:
        __import__(module)  # through builtins.__import__, as a plain `import` statement
        return sys.modules[module]
    except ImportError as error:
        top = module.split(".")[0]
        if isinstance(error, ModuleNotFoundError) and error.name and error.name.split(".")[0] != top:
            raise  # the package is there but one of its own dependencies is missing: its message says which
        raise MissingExtraError(f"{feature} needs {PACKAGES.get(extra, top)} (not installed): "
                                f"{install_hint(extra)}", name=top) from None


class _NoBar:
    """Stands in for a tqdm bar when tqdm is not installed: iterates, shows nothing."""

    def __init__(self, iterable=None, **options):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def set_postfix_str(self, *args, **kwargs):
        pass

    def update(self, *args, **kwargs):
        pass


def progress_bar(required: bool = False):
    """tqdm.auto.tqdm when installed; else a silent stand-in (or an error naming the extra if `required`)."""
    try:
        return importlib.import_module("tqdm.auto").tqdm
    except ModuleNotFoundError:
        if required:
            require("tqdm.auto", "progress", "a progress bar")
        return _NoBar
