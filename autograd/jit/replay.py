"""`jit`: build a function's graph once, then replay it as a plain list of numpy calls.

A whole training step, or just the loss:

    @jit                                        @jit
    def train_step(x, y):                       def loss_fn(x, y):
        loss = nn.cross_entropy(model(x), y)        return nn.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()                         loss = loss_fn(xb, yb)   # a Value, op "jit"
        opt.step()                              opt.zero_grad(); loss.backward(); opt.step()
        return loss

    for xb, yb in nn.batches(X, Y, 32):
        loss = train_step(xb, yb)

The first call with a given *signature* (each array argument's shape, dtype and layout,
every other argument's value) runs the function as usual and turns the graph it built into a
plan: the op nodes in topological order, each reading numbered slots, plus what happened
around them (each `backward()`, and each call of a method marked `@replayable`, such as
an optimizer's `zero_grad` and `step`). The second call runs the plan on a saved copy of
the state, puts the state back, runs the function for real and checks that both ended the
same. Later calls run only the plan: the same forward functions and derivative rules on
the same kinds of arrays, without a Value, a dict or a shape check per node.

What a replay returns: when the function called `backward()`, the result's number as a
leaf Value (its gradients are already in the parameters' `.grad`; as in PyTorch, only
leaves get one); otherwise ONE graph node, op "jit", whose inputs are the Values the
function read that need a gradient, and whose backward replays the captured rules, so
`.backward()`, `grad()` and optimizers work on it as on the graph it stands for.

This is tinygrad's TinyJit and `torch.jit.trace`'s idea, with their limits: what the
function does in Python besides building the graph (an `if` on a value, a print, a
random draw, a number read with `.item()`) happens at capture only, and ops must come
before the backward and the optimizer step. Arrays passed in are followed into the graph
when used as they are (an input, a slice `x[t]` of a 2-D or larger one, an attribute such
as cross_entropy's targets, a gradient given to backward) and when copied into a Value
(`Value(x)`, int labels made float) or stacked from its slices into a constant (nn.LSTM given a
plain numpy sequence stacks its steps). An argument converted otherwise (`x.astype(...)`)
would be frozen: the check on the second call reports it when the two calls' data differ.
An array computed inside the function and given to an op as an attribute (a `where` mask,
an index) is frozen too; jit warns about it at capture (`JitWarning`). A plan holds the
parameters and optimizers it captured: after `model = nn.MLP(...)` binds a name to a new
model, jit the step again.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .. import ops
from ..mode import MODE, replayable  # noqa: F401  (replayable: re-exported)
from .inputs import JitError, JitWarning  # noqa: F401  (re-exported)
from .plan import Plan, capturing
from ..value import Value


def jit(fn=None, *, check: bool = True):
    """Replay the graph `fn` builds instead of rebuilding it, call after call (see the module doc).

    `fn` takes arrays, Values and plain settings (numbers, strings: part of the signature)
    as positional arguments and returns a Value (or nothing, if it calls backward itself).
    `check=False` skips the comparison with a normal run on each signature's second call.
    """
    if fn is None:
        return functools.partial(jit, check=check)
    return Jit(fn, check)


# ---- the jitted function: one plan per signature --------------------------------------------


class Jit:
    """A function with its plans, one per signature (`plans`); call it like the function."""

    MANY_PLANS = 16  # warn beyond this many signatures: a setting that changes every call

    def __init__(self, fn, check: bool = True):
        self.fn, self.check, self.plans = fn, check, {}
        self.name = getattr(fn, "__name__", type(fn).__name__)
        functools.update_wrapper(self, fn)

    def __get__(self, obj, objtype=None):
        """@jit on a method: each instance gets its own jitted function, kept on the instance
        (so plans never mix instances, and go when the instance goes)."""
        if obj is None:
            return self
        slot = f"__jit_{self.name}_{id(self)}"
        try:
            return vars(obj)[slot]
        except KeyError:
            bound = vars(obj)[slot] = Jit(functools.partial(self.fn, obj), self.check)
            bound.name = self.name
            return bound
        except TypeError:
            raise TypeError(f"jit: @jit on a method needs instances with a __dict__ "
                            f"({type(obj).__name__} has none)") from None

    def __call__(self, *args):
        key = tuple([(a.shape, a.dtype, a.strides) if type(a) is np.ndarray and a.ndim and a.dtype.kind != "b"
                     else _key(a, args) for a in args])
        if len({id(a) for a in args}) < len(args):  # the same object passed twice is another signature
            key += tuple([[b is a for b in args].index(True) for a in args])
        plan = self.plans.get(key)
        plain = MODE.capture is None and MODE.grad_enabled and not MODE.anomaly
        if plan is not None and plan.verified and plain and plan.still_valid():
            return plan.replay(args)
        if not plain:  # nothing to record / each op's site to report / inside another jit's capture
            return self.fn(*args)
        if plan is None or not plan.still_valid():
            out, events = capturing(self.fn, args)
            self.plans[key] = Plan(out, events, args, self.name, verified=not self.check)
            if len(self.plans) == self.MANY_PLANS + 1:
                warnings.warn(f"jit: {self.name} has been captured for {len(self.plans)} signatures; a number "
                              "argument that changes every call is part of the signature (pass it as a Value, "
                              "or as a 1-element array, to make it an input instead)", stacklevel=2)
            return out
        return plan.verify(self.fn, args)

    def __repr__(self):
        return f"jit({self.name!r}, {len(self.plans)} plans)"


def _key(a, args):
    """The signature entry of an argument that is not a plain numeric array of one or more dimensions."""
    if isinstance(a, Value):
        d = a.data
        kind = ("float",) if type(d) is float else (d.shape, d.dtype, d.strides)
        return ("Value", a.requires_grad, bool(a.op)) + kind
    i = [x is a for x in args].index(True)
    if isinstance(a, np.ndarray):
        if type(a) is not np.ndarray:
            raise TypeError(f"jit: argument #{i} is a {type(a).__name__} (an ndarray subclass); pass np.asarray(it)")
        if a.ndim and a.dtype.kind == "b":  # a mask: how many it picks shapes the graph
            return (a.shape, a.dtype, a.strides, int(np.count_nonzero(a)))
        return ("0-d", a.dtype, a.item())  # a number in an array: a Value would copy it, so it is a setting
    try:
        hash(a)
    except TypeError:
        raise TypeError(f"jit: argument #{i} is a {type(a).__name__}; pass arrays, Values or "
                        "hashable settings (numbers, strings, tuples)") from None
    return ("setting", type(a), a)


# ---- the "jit" op: a replayed loss as one graph node ----------------------------------------


def _jit_forward(*inputs, plan):
    raise JitError("jit: a jit node is made by calling the jitted function, not by ops.call")


def _jit_backward(g, out, *inputs, plan, saved=None):
    if saved is None:
        raise JitError(f"jit: {plan.name}'s graph was replayed, which gives first derivatives only; "
                       "for grad(..., create_graph=True) call the function without @jit")
    return plan.backward(g, *saved)


ops.defop("jit", _jit_forward, _jit_backward, "jit {plan}", ("the replayed graph's own backward",),
          elementwise=False, doc="a jitted function's whole graph as one node", saves=True)
