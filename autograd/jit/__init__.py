"""The jit: record a training step (or a loss) once, check it against a normal run, then
replay it as a list of numpy calls. An optional layer on top of the engine core.

    replay.py    `jit` / `Jit`: the jitted function, its signatures and checks
    plan.py      the recorded plan: slots, rule calls, the interpreted replay (the reference)
    codegen.py   a training step's plan as one generated straight-line function (the fast replay)
    kernels.py   the memory plan: the hottest ops with out= into buffers reused by every replay
    inputs.py    following arguments into the graph (slices, reshapes, converted copies, seeds)
    snapshot.py  saving and restoring the state a step changes (for the check)
"""
from ..mode import replayable
from .inputs import JitError, JitWarning
from .replay import Jit, jit

__all__ = ["jit", "Jit", "JitError", "JitWarning", "replayable"]
