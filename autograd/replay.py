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
when used as they are: as an input, a slice of one (`x[t]`), or an attribute such as
cross_entropy's targets. An argument copied or converted first (`np.array(x)`) would be
frozen: the check on the second call reports it when the two calls' data differ. An array
computed inside the function and given to an op as an attribute (a `where` mask, an index)
is frozen too; jit warns about it at capture (`JitWarning`). A plan holds the parameters
and optimizers it captured: after `model = nn.MLP(...)` binds a name to a new model, jit the
step again.
"""
from __future__ import annotations

import functools
import operator
import warnings
from types import MappingProxyType

import numpy as np

from . import ops
from .engine import backprop, fit, store_grads
from .mode import MODE, replayable  # noqa: F401  (re-exported)
from .value import Value, _new, _normalize, _record


class JitError(RuntimeError):
    """A function that jit cannot replay faithfully (the message says why and what to do)."""


class JitWarning(UserWarning):
    """Something jit will replay as a constant that may not be one."""


def jit(fn=None, *, check: bool = True):
    """Replay the graph `fn` builds instead of rebuilding it, call after call (see the module doc).

    `fn` takes arrays, Values and plain settings (numbers, strings: part of the signature)
    as positional arguments and returns a Value (or nothing, if it calls backward itself).
    `check=False` skips the comparison with a normal run on each signature's second call.
    """
    if fn is None:
        return functools.partial(jit, check=check)
    return Jit(fn, check)


class Jit:
    """A function with its plans, one per signature (`plans`); call it like the function."""

    MANY_PLANS = 16  # warn beyond this many signatures: a setting that changes every call

    def __init__(self, fn, check: bool = True):
        self.fn, self.check, self.plans = fn, check, {}
        self.name = getattr(fn, "__name__", type(fn).__name__)
        functools.update_wrapper(self, fn)

    def __get__(self, obj, objtype=None):  # @jit on a method: self becomes the first argument
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args):
        key = tuple([(a.shape, a.dtype, a.strides) if type(a) is np.ndarray and a.ndim else _key(a, args)
                     for a in args])
        if len({id(a) for a in args}) < len(args):  # the same object passed twice is another signature
            key += tuple([[b is a for b in args].index(True) for a in args])
        plan = self.plans.get(key)
        if (plan is not None and plan.verified and MODE.capture is None and MODE.grad_enabled
                and not MODE.anomaly and plan.still_valid()):
            return plan.replay(args)
        if not MODE.grad_enabled or MODE.anomaly or MODE.capture is not None:
            return self.fn(*args)  # nothing to record / each op's site to report / inside another jit
        if plan is None or not plan.still_valid():
            out, events = _capturing(self.fn, args)
            self.plans[key] = _Plan(out, events, args, self.name, verified=not self.check)
            if len(self.plans) == self.MANY_PLANS + 1:
                warnings.warn(f"jit: {self.name} has been captured for {len(self.plans)} signatures; a number "
                              "argument that changes every call is part of the signature (pass it as a Value, "
                              "or as a 1-element array, to make it an input instead)", stacklevel=2)
            return out
        return plan.verify(self.fn, args)

    def __repr__(self):
        return f"jit({self.name!r}, {len(self.plans)} plans)"


def _key(a, args):
    """The signature entry of an argument that is not an array of one or more dimensions."""
    if isinstance(a, Value):
        d = a.data
        return ("Value", a.requires_grad) + (("float",) if type(d) is float else (d.shape, d.dtype, d.strides))
    i = [x is a for x in args].index(True)
    if isinstance(a, np.ndarray):
        if type(a) is not np.ndarray:
            raise TypeError(f"jit: argument #{i} is a {type(a).__name__} (an ndarray subclass); pass np.asarray(it)")
        return ("0-d", a.dtype, a.item())  # a number in an array: a Value would copy it, so it is a setting
    try:
        hash(a)
    except TypeError:
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


_MISMATCH = ("the function depends on something its graph does not show: Python code that changes Values "
             "(p.data -= ...) instead of a method marked @replayable (an optimizer's step), an optimizer or "
             "other object created inside the function (create it outside), an argument converted or copied "
             "in a way jit does not follow (np.array(x), x.astype(...)), a branch on a value, a random draw, or an op after the "
             "optimizer's step. Do that outside and pass the result in, or drop @jit.")


def _copy_tree(x):
    """x with its arrays copied, through lists, tuples and dicts (Values and other objects kept)."""
    if type(x) is np.ndarray:
        return x.copy()
    if type(x) in (list, tuple):
        return type(x)(_copy_tree(v) for v in x)
    if type(x) is dict:
        return {k: _copy_tree(v) for k, v in x.items()}
    return x


def _snapshot(values, objects):
    """Where Values (their data object, a copy of it, a copy of .grad) and objects (their state) are now."""
    return ([(v, v.data, _copy_tree(v.data), _copy_tree(v._grad)) for v in values],
            [(obj, _copy_tree(vars(obj))) for obj in objects])


def _restore(snapshot):
    values, objects = snapshot
    for v, data, copied, grad in values:
        if type(data) is np.ndarray:
            np.copyto(data, copied)  # the same array object: the graph and optimizers hold it
        v.data, v._grad = data, _copy_tree(grad)
    for obj, state in objects:
        vars(obj).clear()
        vars(obj).update(_copy_tree(state))


def _values_in(x, depth: int = 0, seen=None) -> list:
    """The Values inside x: through lists, tuples, dicts and the attributes of plain objects
    (an optimizer's parameters, a module's), a few levels deep."""
    seen = set() if seen is None else seen
    if isinstance(x, Value):
        return [x]
    if id(x) in seen or depth > 6:
        return []
    seen.add(id(x))
    if type(x) in (list, tuple):
        return [v for item in x for v in _values_in(item, depth + 1, seen)]
    if type(x) is dict:
        return [v for item in x.values() for v in _values_in(item, depth + 1, seen)]
    if hasattr(x, "__dict__") and not isinstance(x, type) and not callable(x):
        return _values_in(vars(x), depth + 1, seen)
    return []


def _has_replayable_methods(obj) -> bool:
    if isinstance(obj, (Value, type)) or not hasattr(obj, "__dict__"):
        return False
    return any(getattr(getattr(type(obj), name, None), "replayable", False) for name in dir(type(obj)))


def _kind(data) -> tuple:
    return ("float",) if type(data) is float else (type(data), data.shape, data.dtype)


_byte_bounds = np.lib.array_utils.byte_bounds if hasattr(np.lib, "array_utils") else np.byte_bounds  # numpy 2 / 1


def _maker_of(a, data, converted, name):
    """How to make array `a` again from the next call's arguments, or None if it does not come
    from them: a function of the list of argument data. `a` may be a view into an argument
    (x[t], one time step of a sequence) or a converted copy of an argument or of such a view
    (Value(x), an int array made float), as `converted` {id(copy): source} records."""
    if type(a) is not np.ndarray:
        return None
    for i, d in enumerate(data):
        if a is d:
            return lambda data, i=i: data[i]
    if id(a) in converted:
        source, dtype = converted[id(a)], a.dtype
        make = _maker_of(source, data, converted, name)
        return None if make is None else (lambda data: np.array(make(data), dtype=dtype))
    if a.base is None:
        return None
    low, high = _byte_bounds(a)
    holders = [i for i, d in enumerate(data) if type(d) is np.ndarray and d.size
               and _byte_bounds(d)[0] <= low and high <= _byte_bounds(d)[1]]
    if len(holders) > 1:
        raise JitError(f"jit: {name} takes a part of arguments #{holders[0]} and #{holders[1]}, which share "
                       "memory (overlapping windows of one array), so which one it came from is unclear; "
                       "pass copies (x.copy()) to the jitted function")
    if not holders:
        return None
    i = holders[0]
    if not data[i].flags.c_contiguous:
        raise JitError(f"jit: {name} takes a part of argument #{i}, which is not C-contiguous (a transpose "
                       "or a strided slice); pass np.ascontiguousarray(it) to the jitted function")
    shape, dtype, strides = a.shape, a.dtype, a.strides
    offset = a.__array_interface__["data"][0] - data[i].__array_interface__["data"][0]
    return lambda data: np.ndarray(shape, dtype, buffer=data[i], offset=offset, strides=strides)


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
        self.has_backward = bool(roots)
        if isinstance(out, Value) and out.op:
            roots.append(out)
        elif not (out is None or isinstance(out, Value)) or not roots:
            raise JitError(f"jit: {name} must return a Value computed from its inputs (or call backward() "
                           f"on one), got {type(out).__name__ if not isinstance(out, Value) else 'a leaf Value'}")
        data = [a.data if isinstance(a, Value) else a for a in args]
        passed = {id(a): i for i, a in enumerate(args) if isinstance(a, Value)}
        arrays = {id(d): i for i, d in enumerate(data) if type(d) is np.ndarray}
        inputs, nodes = self._walk(roots, passed)
        if any(n.op == "jit" for n in nodes):
            raise JitError(f"jit: {name}'s graph holds the result of another jitted function's replay; "
                           "jit only the outer function (a jitted function called while another is being "
                           "captured runs normally)")
        hooked = [n for n in inputs + nodes if n._extra is not None and "hooks" in n._extra]
        if hooked:
            raise JitError(f"jit: {name}'s graph has hooks (on {hooked[0].label or hooked[0].op or 'a node'}), "
                           "which a replay would not call; drop @jit or the hook")
        if not nodes:
            raise JitError(f"jit: {name} returns one of its arguments; there is no graph to replay")
        if self.has_backward:
            for i, a in enumerate(args):
                if isinstance(a, Value) and a.op and a.requires_grad:
                    raise JitError(f"jit: argument #{i} of {name} was computed outside from Values that need a "
                                   "gradient; the step's backward would flow into that outside graph, which a "
                                   "replay does not rebuild. Pass it .detach()ed, or compute it inside.")
        # an input is an argument (a Value passed in, or a leaf wrapping an argument's array),
        # made from the arguments (a view such as x[t], a converted copy such as Value(x) or an
        # int array made float: made again from the new arguments each call), or a leaf read
        # afresh on every replay (parameters change)
        converted = {id(e[2]): e[1] for e in events if e[0] == "converted"}
        from_args, made, self.leaves = [], [], []
        for node in inputs:
            i = passed.get(id(node), arrays.get(id(node.data)) if type(node.data) is np.ndarray else None)
            make = None if i is not None else _maker_of(node.data, data, converted, name)
            if i is not None:
                from_args.append((node, i))
            elif make is not None:
                made.append((node, make))
            else:
                self.leaves.append(node)
        self.arg_index = [i for _, i in from_args]
        self.made = [make for _, make in made]
        inputs = [node for node, _ in from_args] + [node for node, _ in made] + self.leaves
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
        # each slot's shape and dtype, for engine.fit (zero-stride stand-ins, not the data)
        self.templates = [_new(n.data if type(n.data) is float else np.broadcast_to(n.data.dtype.type(0), n.shape))
                          for n in inputs + nodes]
        # the inputs that need a gradient: (argument index, None) for a Value passed in, else (None, leaf)
        self.grad_inputs = [k for k in range(self.n_in) if needs[k]]
        self.grad_sources = [(from_args[k][1], None) if k < len(from_args) else (None, inputs[k])
                             for k in self.grad_inputs]
        # what still_valid compares: each leaf's data object and requires_grad, and its kind
        self.leaf_data = [node.data for node in self.leaves]
        self.leaf_rg = [node.requires_grad for node in self.leaves]
        self.leaf_kinds = [_kind(node.data) for node in self.leaves]
        # the Values that get gradients, when none of them is an argument (the usual case)
        self.grad_nodes = None if any(i is not None for i, _ in self.grad_sources) else [
            leaf for _, leaf in self.grad_sources]
        # what happened besides the ops, in order: ("backward", root slot, seed, argument index of
        # the seed or None) or ("call", fn)
        self.events = [self._backward_event(e, slot, args, data, name) if e[0] == "backward" else e
                       for e in events if e[0] != "converted"]
        self.fresh = [False] * len(self.events)  # did that backward's gradients come out as arrays of their own?
        self.out_slot = slot[out] if isinstance(out, Value) and out in slot else None
        self.out_leaf = isinstance(out, Value) and out.op == ""  # a function that returns a parameter
        self.out = out if self.out_leaf else None
        self.attrs = MappingProxyType({"plan": self})

    @staticmethod
    def _backward_event(event, slot, args, data, name):
        """("backward", root slot, seed, i): a gradient given to backward() that is argument #i
        (or its data) is taken from the new arguments each call; any other is a constant."""
        _, root, seed, _, given = event
        i = next((k for k, a in enumerate(args) if given is not None and (given is a or given is data[k])), None)
        if i is None and type(given) is np.ndarray and given.size > 1 and given.flags.writeable:
            warnings.warn(JitWarning(f"jit: {name} calls backward() with an array of shape {given.shape} that is "
                                     "not an argument: every replay reuses these numbers; pass it in if it "
                                     "changes"), stacklevel=5)
        return ("backward", slot[root], seed, i)

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
                elif a.size > 1 and a.flags.writeable:  # (read-only ones are tracegrad's own constants)
                    warnings.warn(JitWarning(
                        f"jit: {name} gives {node.op} an array of shape {a.shape} as its {key!r} that is not an "
                        "argument: every replay reuses these numbers. If they are computed from an argument "
                        "(a mask such as y >= 0), compute them outside and pass them in."), stacklevel=4)
        return bound

    def still_valid(self) -> bool:
        """False when a leaf the plan reads changed kind (model.to(np.float32), a new shape) or
        started or stopped requiring grad. Data that is still the same object is unchanged in
        kind (in-place updates keep shape and dtype), which is the check made on every call."""
        for node, data, rg in zip(self.leaves, self.leaf_data, self.leaf_rg):
            if node.data is not data or node.requires_grad is not rg:
                return self._recheck()
        return True

    def _recheck(self) -> bool:
        if [n.requires_grad for n in self.leaves] != self.leaf_rg:
            return False
        if [_kind(n.data) for n in self.leaves] != self.leaf_kinds:
            return False
        self.leaf_data = [node.data for node in self.leaves]  # new objects of the same kind: fine
        return True

    # ---- replaying -------------------------------------------------------------------
    def replay(self, args):
        """Run the plan: the forward, then the events (backward into .grad, noted calls)."""
        data = [a.data if type(a) is Value else a for a in args]
        vals, saved, rebound = self.forward(data)
        for k, event in enumerate(self.events):
            if event[0] == "call":
                event[1]()
                continue
            _, root, seed, i = event
            if i is not None:  # the gradient given to backward() is an argument
                seed = float(data[i]) if type(seed) is float else np.array(data[i], dtype=seed.dtype)
            elif type(seed) is not float:
                seed = seed.copy()  # rules may pass it on unchanged, as a .grad
            grads = self.backward(seed, vals, saved, rebound, root)
            nodes = self.grad_nodes or [leaf if leaf is not None else args[i] for i, leaf in self.grad_sources]
            if self.fresh[k]:  # (see below) no copy needed: add them in
                for node, g in zip(nodes, grads):
                    if g is not None:
                        node._grad = g if node._grad is None else node._grad + g
            else:
                # the first time, as backward() does (copies where needed), noting whether any copy
                # was needed: the same rules on the same shapes give the same kinds of arrays
                pairs = [(node, g) for node, g in zip(nodes, grads) if g is not None]
                arrays = [g for node, g in pairs if type(node.data) is not float]
                self.fresh[k] = len({id(g) for g in arrays}) == len(arrays) and all(
                    type(g) is np.ndarray and g.base is None and g.flags.writeable for g in arrays)
                store_grads(pairs)
        if self.out_slot is None:
            return self.out
        if self.has_backward:
            return _new(vals[self.out_slot])  # the gradients are stored already: no graph to keep
        parents = tuple([node if node is not None else args[i] for i, node in self.grad_sources])
        return _record("jit", vals[self.out_slot], None, None, parents, self.attrs, bool(parents),
                       (vals, saved, rebound))

    def forward(self, data):
        """Every slot's value: the inputs, then each op's forward on the slots it reads."""
        vals = [data[i] for i in self.arg_index]
        if self.made:
            vals += [make(data) for make in self.made]
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
    def verify(self, fn, args):
        """Run the plan and note where it leaves every Value it reads or writes (data and grad)
        and every object whose calls it repeats (optimizer buffers, step counts); put all of it
        back; run fn for real; compare. A mismatch raises JitError and leaves the real run's state."""
        objects = self._noted_objects()
        values = list({id(v): v for v in self.leaves + [a for a in args if isinstance(a, Value)]
                       + _values_in([vars(o) for o in objects if hasattr(o, "__dict__")])
                       + [o for o in objects if isinstance(o, Value)]}.values())
        objects = [o for o in objects if hasattr(o, "__dict__")]
        before = _snapshot(values, objects)
        replayed = self.replay(args)
        after_replay = _snapshot(values, objects)
        replay_grads = None
        if isinstance(replayed, Value) and replayed.op == "jit" and replayed.requires_grad:  # its backward too
            seed = 1.0 if type(replayed.data) is float else np.ones_like(replayed.data)
            replay_grads = self.backward(seed, *replayed._extra["saved"])
        _restore(before)
        out, events = _capturing(fn, args)
        if isinstance(out, Value) and isinstance(replayed, Value):
            self._same(replayed.data, out.data, "the result")
        for (node, _, data, grad), (_, _, data_run, grad_run) in zip(after_replay[0], _snapshot(values, [])[0]):
            name = node.label or "an input"
            self._same(data, data_run, f"{name}'s data after the call")
            self._same(grad, grad_run, f"{name}'s gradient after the call")
        if replay_grads is not None and out.requires_grad:
            run_grads = backprop([out], [1.0 if type(out.data) is float else np.ones_like(out.data)])
            for (i, leaf), g in zip(self.grad_sources, replay_grads):
                node = leaf if leaf is not None else args[i]
                self._same(g, run_grads.get(node), f"the gradient of {node.label or 'an input'}")
        self.verified = True
        return out

    def _noted_objects(self) -> list:
        """The objects whose methods the events call, and objects of theirs with such methods
        (a schedule's optimizer): their state is saved and restored around the check's replay."""
        found, todo = [], [e[1].args[0] for e in self.events if e[0] == "call"]
        while todo:
            obj = todo.pop()
            if any(obj is f for f in found):
                continue
            found.append(obj)
            if hasattr(obj, "__dict__"):  # (a Value has slots: its data and grad are saved as a value's)
                todo += [v for v in vars(obj).values() if _has_replayable_methods(v)]
        return found

    def _same(self, replayed, run, what):
        if replayed is None or run is None:
            if replayed is None and run is None:
                return
            a, b = ("none", "an array") if replayed is None else ("an array", "none")
            raise JitError(f"jit: replaying {self.name} gave {a} for {what} but running it gave {b}: "
                           + _MISMATCH)
        a, b = np.asarray(replayed), np.asarray(run)
        tol = 1e-5 if np.float32 in (a.dtype, b.dtype) else 1e-9
        if a.shape != b.shape or not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
            raise JitError(f"jit: replaying {self.name} gave {what} {a.ravel()[:3]} but running it gave "
                           f"{b.ravel()[:3]}: " + _MISMATCH)

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
