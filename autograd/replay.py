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
an optimizer's `zero_grad` and `step`). The second call runs the plan on the side and the
function for real, and checks that they agree. Later calls run only the plan: the same
forward functions and derivative rules on the same kinds of arrays, without a Value, a
dict or a shape check per node.

What a replay returns: when the function called `backward()`, the result's number as a
leaf Value (its gradients are already in the parameters' `.grad`; as in PyTorch, only
leaves get one); otherwise ONE graph node, op "jit", whose inputs are the Values the
function read that need a gradient, and whose backward replays the captured rules, so
`.backward()`, `grad()` and optimizers work on it as on the graph it stands for.

This is tinygrad's TinyJit and `torch.jit.trace`'s idea, with their limits: what the
function does in Python besides building the graph (an `if` on a value, a print, a
random draw, a number read with `.item()`) happens at capture only, and ops must come
before the backward and the optimizer step. Arrays passed in are followed into the graph
when used as they are (as an input, or an index such as cross_entropy's targets); an
argument copied or converted first would be frozen, which the second call's check reports.
"""
from __future__ import annotations

import functools
import operator
from types import MappingProxyType

import numpy as np

from . import ops
from .engine import fit, store_grads
from .mode import MODE
from .value import Value, _new, _normalize, _record


class JitError(RuntimeError):
    """A function that jit cannot replay faithfully (the message says why and what to do)."""


def jit(fn=None, *, check: bool = True):
    """Replay the graph `fn` builds instead of rebuilding it, call after call (see the module doc).

    `fn` takes arrays, Values and plain settings (numbers, strings: part of the signature)
    as positional arguments and returns a Value (or nothing, if it calls backward itself).
    `check=False` skips the comparison with a normal run on each signature's second call.
    """
    if fn is None:
        return functools.partial(jit, check=check)
    return Jit(fn, check)


def replayable(method):
    """Mark a method whose effect a jitted function must repeat on every replay (an optimizer's
    `step` and `zero_grad`, a schedule's `step`): called inside a capture, it is noted."""
    @functools.wraps(method)
    def noted(self, *args, **kwargs):
        if MODE.capture is not None:
            MODE.capture.append(("call", functools.partial(method, self, *args, **kwargs)))
        return method(self, *args, **kwargs)
    return noted


class Jit:
    """A function with its plans, one per signature (`plans`); call it like the function."""

    def __init__(self, fn, check: bool = True):
        self.fn, self.check, self.plans = fn, check, {}
        self.name = getattr(fn, "__name__", type(fn).__name__)
        functools.update_wrapper(self, fn)

    def __call__(self, *args):
        key = tuple([(a.shape, a.dtype, a.strides) if type(a) is np.ndarray else _key(a, args) for a in args])
        plan = self.plans.get(key)
        if plan is not None and plan.verified and plan.still_valid() and MODE.grad_enabled and not MODE.anomaly:
            return plan.replay(args)
        if not MODE.grad_enabled or MODE.anomaly or MODE.capture is not None:
            return self.fn(*args)  # nothing to record / each op's site to report / inside another jit
        if plan is None or not plan.still_valid():
            out, events = _capturing(self.fn, args)
            self.plans[key] = _Plan(out, events, args, self.name, verified=not self.check)
            return out
        expected = plan.replay(args, pure=True)
        out, events = _capturing(self.fn, args)
        plan.compare(expected, out, events)
        return out

    def __repr__(self):
        return f"jit({self.name!r}, {len(self.plans)} plans)"


def _key(a, args):
    """The signature entry of an argument that is not an array."""
    if isinstance(a, Value):
        d = a.data
        return ("Value", a.requires_grad) + (("float",) if type(d) is float else (d.shape, d.dtype, d.strides))
    try:
        hash(a)
    except TypeError:
        i = [x is a for x in args].index(True)
        raise TypeError(f"jit: argument #{i} is a {type(a).__name__}; pass arrays, Values or "
                        "hashable settings (numbers, strings, tuples)") from None
    return ("setting", type(a), a)


def _capturing(fn, args):
    """fn(*args), run normally, and the events noted meanwhile (backward calls, @replayable calls)."""
    events = MODE.capture = []
    try:
        return fn(*args), events
    finally:
        MODE.capture = None


def _arrays_in(value):
    """The arrays inside an attribute (itself, or the items of a tuple such as an index key)."""
    if type(value) is np.ndarray:
        yield value
    elif type(value) is tuple:
        for item in value:
            yield from _arrays_in(item)


def _view_of(a, data):
    """(argument index, shape, dtype, byte offset, strides) when array `a` is a view into the
    memory of a C-contiguous argument array (so the same view of the next argument can be
    made), else None."""
    if type(a) is not np.ndarray or a.base is None:
        return None
    start = a.__array_interface__["data"][0]
    for i, d in enumerate(data):
        if type(d) is np.ndarray and d.flags.c_contiguous and np.may_share_memory(a, d):
            offset = start - d.__array_interface__["data"][0]
            if offset >= 0:
                return i, a.shape, a.dtype, offset, a.strides
    return None


def _rebuild(value, old):
    """A function of the new argument array giving `value` with `old` replaced by it."""
    if value is old:
        return lambda new: new
    if type(value) is not tuple:
        return lambda new: value
    parts = [_rebuild(v, old) for v in value]
    return lambda new: tuple([part(new) for part in parts])


class _Plan:
    """One captured call. Slots 0..n_in-1 hold the inputs (the arguments' data, then leaves
    the function read), then one slot per op node in topological order."""

    def __init__(self, out, events, args, name: str, verified: bool):
        self.name, self.verified = name, verified
        roots = [e[1] for e in events if e[0] == "backward"]
        if isinstance(out, Value) and out.op:
            roots.append(out)
        elif not (out is None or isinstance(out, Value)) or not roots:
            raise JitError(f"jit: {name} must return a Value computed from its inputs (or call backward() "
                           f"on one), got {type(out).__name__ if not isinstance(out, Value) else 'a leaf Value'}")
        data = [a.data if isinstance(a, Value) else a for a in args]
        passed = {id(a): i for i, a in enumerate(args) if isinstance(a, Value)}
        arrays = {id(d): i for i, d in enumerate(data) if type(d) is np.ndarray}
        inputs, nodes = self._walk(roots, passed)
        hooked = [n for n in inputs + nodes if n._extra is not None and "hooks" in n._extra]
        if hooked:
            raise JitError(f"jit: {name}'s graph has hooks (on {hooked[0].label or hooked[0].op or 'a node'}), "
                           "which a replay would not call; drop @jit or the hook")
        if not nodes:
            raise JitError(f"jit: {name} returns one of its arguments; there is no graph to replay")
        # an input is an argument (a Value passed in, or a leaf wrapping an argument's array)
        # or a leaf read afresh on every replay (parameters change between calls)
        # an input is an argument (a Value passed in, or a leaf wrapping an argument's array),
        # a view of an argument's array (x[t], one time step of a sequence: re-made from the
        # new argument each call), or a leaf read afresh on every replay (parameters change)
        from_args, views, self.leaves = [], [], []
        for node in inputs:
            i = passed.get(id(node), arrays.get(id(node.data)) if type(node.data) is np.ndarray else None)
            view = None if i is not None or node.requires_grad else _view_of(node.data, data)
            if i is not None:
                from_args.append((node, i))
            elif view is not None:
                views.append((node, view))
            else:
                self.leaves.append(node)
        self.arg_index = [i for _, i in from_args]
        self.views = [view for _, view in views]
        inputs = [node for node, _ in from_args] + [node for node, _ in views] + self.leaves
        self.n_in = len(inputs)
        slot = {node: k for k, node in enumerate(inputs + nodes)}
        needs = [n.requires_grad for n in inputs + nodes]
        # One step per op node, a list [op, pick, attrs, keywords, bound, direct, general]:
        # pick(vals) gives its inputs' values (operator.itemgetter: one C call); keywords are
        # what its rule takes besides them; bound lists the attributes that take a new
        # argument each call; direct and general split the (position, slot) pairs of the
        # inputs that get a gradient. Until a first backward has checked them all are general
        # (engine.fit, accumulation); afterwards a slot whose one contribution needed no fit
        # is direct: shapes and dtypes repeat call after call.
        self.steps = []
        for node in nodes:
            op = ops.OPS[node.op]
            ins = tuple(slot[p] for p in node.parents)
            pick = operator.itemgetter(*ins) if len(ins) > 1 else (lambda vals, i=ins[0]: (vals[i],))
            attrs = dict(node.attrs)
            keywords = {**attrs, "needs": tuple(needs[i] for i in ins)} if op.needs else attrs
            targets = tuple((j, i) for j, i in enumerate(ins) if needs[i])
            self.steps.append([op, pick, attrs, keywords, self._bind(node, data, arrays, name), (), targets])
        self.checked = False  # has a backward sorted the targets into direct and general?
        self.fresh = False  # did a replay's gradients all come out as arrays of their own?
        # each slot's shape and dtype, for engine.fit (zero-stride stand-ins, not the data)
        self.templates = [_new(n.data if type(n.data) is float else np.broadcast_to(n.data.dtype.type(0), n.data.shape))
                          for n in inputs + nodes]
        # the inputs that need a gradient: (argument index, None) for a Value passed in, else (None, leaf)
        self.grad_inputs = [k for k in range(self.n_in) if needs[k]]
        self.grad_sources = [(from_args[k][1], None) if k < len(from_args) else (None, inputs[k])
                             for k in self.grad_inputs]
        self.leaf_dtypes = [getattr(node.data, "dtype", None) for node in self.leaves]
        # the Values that get gradients, when none of them is an argument (the usual case)
        self.grad_nodes = [leaf for i, leaf in self.grad_sources] if all(i is None for i, _ in self.grad_sources) else None
        # what happened besides the ops, in order: ("backward", root slot, seed) or ("call", fn)
        self.events = [("backward", slot[e[1]], e[2]) if e[0] == "backward" else e for e in events]
        self.out_slot = slot[out] if isinstance(out, Value) and out in slot else None
        self.out_leaf = isinstance(out, Value) and out.op == ""  # a function that returns a parameter
        self.out = out if self.out_leaf else None
        self.attrs = MappingProxyType({"plan": self})

    @staticmethod
    def _walk(roots, passed):
        """Inputs (leaves and Values passed in, where the walk stops) and op nodes, in order."""
        stack = list(dict.fromkeys(roots))  # each root once
        seen, inputs, nodes = set(stack), [], []
        while stack:
            node = stack.pop()
            if not node.op or id(node) in passed:
                inputs.append(node)
                continue
            nodes.append(node)
            for p in reversed(node.parents):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        nodes.sort(key=lambda n: n._depth)
        return inputs, nodes

    @staticmethod
    def _bind(node, data, arrays, name):
        """Attributes that hold an argument's array (cross_entropy's targets, a where mask):
        [(attribute, argument index, rebuild)] so a replay puts the new argument there."""
        bound = []
        for key, value in node.attrs.items():
            for a in _arrays_in(value):
                if id(a) in arrays:
                    i = arrays[id(a)]
                    bound.append((key, i, _rebuild(value, data[i])))
                elif any(type(d) is np.ndarray and np.may_share_memory(a, d) for d in data):
                    raise JitError(f"jit: {name} gives {node.op} a part or a view of an argument as its "
                                   f"{key!r} (e.g. y[:10] or y.T); a replay would keep the captured numbers. "
                                   "Slice or convert the argument before calling the jitted function.")
        return bound

    def still_valid(self) -> bool:
        """False when a captured leaf's data changed kind (e.g. model.to(np.float32))."""
        return [getattr(node.data, "dtype", None) for node in self.leaves] == self.leaf_dtypes

    # ---- replaying -------------------------------------------------------------------
    def replay(self, args, pure: bool = False):
        """Run the plan: the forward, then the events (backward into .grad, noted calls).
        pure=True touches nothing and returns (output data, {leaf or argument: gradient})."""
        data = [a.data if type(a) is Value else a for a in args]
        vals, saved, rebound = self.forward(data)
        found = {}
        for event in self.events:
            if event[0] == "call":
                if not pure:
                    event[1]()
                continue
            grads = self.backward(event[2], vals, saved, rebound, event[1])
            pairs = zip(self.grad_nodes or [leaf if leaf is not None else args[i] for i, leaf in self.grad_sources],
                        grads)
            if pure:
                for node, g in pairs:
                    found[node] = g if node not in found else found[node] + g
            elif self.fresh:  # (see below) no copy needed: add them in
                for node, g in pairs:
                    if g is not None:
                        node._grad = g if node._grad is None else node._grad + g
            else:
                # the first time, as backward() does (copies where needed), noting whether any copy
                # was needed: the same rules on the same shapes give the same kinds of arrays
                pairs = [(node, g) for node, g in pairs if g is not None]
                arrays = [g for node, g in pairs if type(node.data) is not float]
                self.fresh = len({id(g) for g in arrays}) == len(arrays) and all(
                    type(g) is np.ndarray and g.base is None and g.flags.writeable for g in arrays)
                store_grads(pairs)
        if pure:
            return (self.out.data if self.out_leaf else None if self.out_slot is None else vals[self.out_slot]), found
        if self.out_slot is None:
            return self.out
        if any(e[0] == "backward" for e in self.events):
            return _new(vals[self.out_slot])  # the gradients are stored already: no graph to keep
        parents = tuple([node if node is not None else args[i] for i, node in self.grad_sources])
        return _record("jit", vals[self.out_slot], None, None, parents, self.attrs, bool(parents),
                       (vals, saved, rebound))

    def forward(self, data):
        """Every slot's value: the inputs, then each op's forward on the slots it reads."""
        vals = [data[i] for i in self.arg_index]
        if self.views:
            vals += [np.ndarray(shape, dtype, buffer=data[i], offset=offset, strides=strides)
                     for i, shape, dtype, offset, strides in self.views]
        vals += [node.data for node in self.leaves]
        saved, rebound = [], {}  # what saves=True forwards kept; the attributes given new arrays
        for op, pick, attrs, keywords, bound, direct, general in self.steps:
            if bound:
                attrs = rebound[len(saved)] = dict(attrs)
                for key, i, rebuild in bound:
                    attrs[key] = rebuild(data[i])
            r = op.forward(*pick(vals), **attrs)
            if op.saves:
                r, s = r
                saved.append(s)
            else:
                saved.append(None)
            vals.append(r if type(r) is np.ndarray and r.ndim else _normalize(r))  # as Value's ops do
        return vals, saved, rebound

    def backward(self, g, vals, saved, rebound, root=None) -> tuple:
        """The captured rules in reverse from slot `root` (default: the last) seeded with g:
        one gradient (or None) per input that needs one."""
        grads = [None] * len(vals)
        root = len(vals) - 1 if root is None else root
        grads[root] = g
        n_in, exact = self.n_in, set()  # exact: (step, position) pairs seen to need no fit
        for k in range(root - n_in, -1, -1):
            gk = grads[n_in + k]
            if gk is None:
                continue
            op, pick, attrs, keywords, bound, direct, general = self.steps[k]
            if bound:
                keywords = {**keywords, **rebound[k]}
            if op.saves:
                keywords = {**keywords, "saved": saved[k]}
            contributions = op.backward(gk, vals[n_in + k], *pick(vals), **keywords)
            for j, i in direct:
                grads[i] = contributions[j]
            for j, i in general:
                c = contributions[j]
                if c is None:
                    continue
                d = self.templates[i].data
                if type(c) is not type(d) or type(d) is not float and (c.shape != d.shape or c.dtype != d.dtype):
                    c = fit(c, self.templates[i])
                elif not self.checked:
                    exact.add((k, j))
                grads[i] = c if grads[i] is None else grads[i] + c
        if not self.checked:
            self._sort_targets(exact)
        return tuple([grads[k] for k in self.grad_inputs])

    def _sort_targets(self, exact):
        """After a first backward: a target slot with one contributor, whose contribution had
        the slot's shape and dtype already, becomes direct (no fit, no accumulation)."""
        contributors = {}
        for step in self.steps:
            for j, i in step[6]:
                contributors[i] = contributors.get(i, 0) + 1
        for k, step in enumerate(self.steps):
            direct = tuple((j, i) for j, i in step[6] if (k, j) in exact and contributors[i] == 1)
            step[5], step[6] = direct, tuple(t for t in step[6] if t not in direct)
        self.checked = True

    # ---- the check on a signature's second call ----------------------------------------
    def compare(self, expected, out, events) -> None:
        """The plan must give what the normal run gave: the output, and every gradient the
        run's backward calls computed for the plan's inputs."""
        value, grads = expected
        if value is not None:
            self._same(value, out.data if isinstance(out, Value) else out, "the result")
        computed = {}
        for event in events:
            if event[0] == "backward":
                for key, g in event[3].items():
                    computed[key] = g if key not in computed else computed[key] + g
        for key, g in grads.items():
            run = computed.get(key)
            if run is not None and g is not None:
                self._same(g, run, f"the gradient of {getattr(key, 'label', '') or 'an input'}")
        self.verified = True

    def _same(self, replayed, run, what):
        a, b = np.asarray(replayed), np.asarray(run)
        tol = 1e-5 if np.float32 in (a.dtype, b.dtype) else 1e-9
        if a.shape != b.shape or not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
            raise JitError(
                f"jit: replaying {self.name} gave {what} {a.ravel()[:3]} but running it gave {b.ravel()[:3]}: "
                "the function depends on something its graph does not show (an argument converted or copied "
                "before use, e.g. x.astype(...) or np.array(x); a Python branch on a value; a random draw; an "
                "op after the optimizer's step). Do that outside and pass the result in, or drop @jit.")

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<jit plan of {self.name}: {len(self.steps)} ops, {self.n_in} inputs, {len(self.events)} events>"


def _jit_forward(*inputs, plan):
    raise JitError("jit: a jit node is made by calling the jitted function, not by ops.call")


def _jit_backward(g, out, *inputs, plan, saved=None):
    if saved is None:
        raise JitError(f"jit: {plan.name}'s graph was replayed, which gives first derivatives only; "
                       "for grad(..., create_graph=True) call the function without @jit")
    return plan.backward(g, *saved)


ops.defop("jit", _jit_forward, _jit_backward, "jit {plan}", ("the replayed graph's own backward",),
          elementwise=False, doc="a jitted function's whole graph as one node", saves=True)
