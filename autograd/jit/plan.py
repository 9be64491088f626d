"""A jit plan (autograd.jit.replay): one captured call of a jitted function as numbered slots and
steps, replayed without building Values, and checked on its signature's second call.
"""
from __future__ import annotations

import operator
from types import MappingProxyType

import numpy as np

from .. import ops
from ..engine import backprop, fit, store_grads, topological_order
from .codegen import generate
from .kernels import plan_memory
from .inputs import (JitError, argument, arrays_in, kind, maker_of, rebuild, reshaped_from, stacked_from,
                     warn)
from .snapshot import copy_tree, has_replayable_methods, restore, same, snapshot, values_in
from ..mode import noting
from ..value import Value, _new, _normalize, _record


def capturing(fn, args):
    """fn(*args), run normally, and the events noted meanwhile: ("backward", root, seed, grads,
    given gradient), ("call", fn) for @replayable methods, ("converted", source, copy) for arrays
    copied into Values (autograd.arguments.to_data)."""
    events = []
    with noting(events):
        return fn(*args), events


class Step:
    """One op node of the plan: `op` run on the slots `pick(vals)` gives, with `attrs` (some of
    them, `bound`, taken from the arguments each call) and its rule's `keywords`. Its inputs that
    get a gradient are (position, slot) pairs: `general` ones go through engine.fit and add up;
    after a first backward, a slot whose one contribution already had the slot's shape and
    dtype is `direct` (stored as it comes): shapes and dtypes repeat call after call."""

    __slots__ = ("op", "ins", "pick", "attrs", "keywords", "bound", "direct", "general", "kernel", "rule")

    def __init__(self, op, ins, pick, attrs, keywords, bound, general):
        self.op, self.ins, self.pick, self.attrs, self.keywords, self.bound = op, ins, pick, attrs, keywords, bound
        self.direct, self.general = (), general
        self.kernel = self.rule = None  # kernels.py objects that write its forward / rule, out= into buffers


class Plan:
    """One captured call. Slots 0..n_in-1 hold the inputs (the arguments' data, arrays made
    from them, then leaves the function read), then one slot per op node in topological order."""

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
        converted = {id(e[2]): e[1] for e in events if e[0] == "converted"}
        inputs, nodes = self._walk(roots, passed)
        self._refuse(args, inputs, nodes, name)
        inputs = self._sort_inputs(inputs, passed, data, converted, name)
        slot = {node: k for k, node in enumerate(inputs + nodes)}
        needs = [n.requires_grad for n in inputs + nodes]
        self.steps = [self._step(node, slot, needs, data, name) for node in nodes]
        self.checked = False  # has a backward sorted the steps' targets into direct and general?
        # each slot's shape and dtype, for engine.fit (zero-stride stand-ins, not the data)
        self.templates = [_new(n.data if type(n.data) is float else np.broadcast_to(n.data.dtype.type(0), n.shape))
                          for n in inputs + nodes]
        # the inputs that need a gradient, and where it goes: the Value passed in (argument #i: a
        # new object each call) or the node itself
        self.grad_inputs = [k for k in range(self.n_in) if needs[k]]
        self.grad_targets = [(passed[id(inputs[k])], None) if id(inputs[k]) in passed else (None, inputs[k])
                             for k in self.grad_inputs]
        self.fixed_targets = None if any(i is not None for i, _ in self.grad_targets) else [
            node for _, node in self.grad_targets]
        # what still_valid compares: each leaf's data object and requires_grad, and its kind
        self.leaf_data = [node.data for node in self.leaves]
        self.leaf_rg = [node.requires_grad for node in self.leaves]
        self.leaf_kinds = [kind(node.data) for node in self.leaves]
        # what happened besides the ops, in order: ("backward", root slot, seed, seed maker or None)
        # or ("call", fn); fresh[k]: did backward k's gradients come out as arrays of their own?
        self.events = [self._backward_event(e, slot, data, converted, name) if e[0] == "backward" else e
                       for e in events if e[0] != "converted"]
        self.fresh = [False] * len(self.events)
        self.result = self._result(out, slot, nodes)
        self.attrs = MappingProxyType({"plan": self})
        self.code = None  # the straight-line replay (codegen.py), made after the first replay

    # -- building ------------------------------------------------------------------------------
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

    def _refuse(self, args, inputs, nodes, name):
        """What a replay could not do faithfully: say so now, with what to do instead."""
        if not nodes:
            raise JitError(f"jit: {name} returns one of its arguments; there is no graph to replay")
        if any(n.op == "jit" for n in nodes):
            raise JitError(f"jit: {name}'s graph holds the result of another jitted function's replay; "
                           "jit only the outer function (a jitted function called while another is being "
                           "captured runs normally)")
        hooked = [n for n in inputs + nodes if n._details.extra is not None and "hooks" in n._details.extra]
        if hooked:
            raise JitError(f"jit: {name}'s graph has hooks (on {hooked[0].label or hooked[0].op or 'a node'}), "
                           "which a replay would not call; drop @jit or the hook")
        for i, a in enumerate(args):
            if self.has_backward and isinstance(a, Value) and a.op and a.requires_grad:
                raise JitError(f"jit: argument #{i} of {name} was computed outside from Values that need a "
                               "gradient; the step's backward would flow into that outside graph, which a "
                               "replay does not rebuild. Pass it .detach()ed, or compute it inside.")

    def _sort_inputs(self, inputs, passed, data, converted, name) -> list:
        """Inputs in slot order: Values passed in and arrays made from the arguments (`makers`:
        functions of the argument data), then the leaves read afresh on every replay."""
        made, self.leaves, self.makers = [], [], []
        for node in inputs:
            i = passed.get(id(node))
            make = argument(i) if i is not None else maker_of(node.data, data, converted, name)
            if make is None and not node.requires_grad:  # a constant stacked from an argument's slices
                make = stacked_from(node.data, data)
            if make is None:
                self.leaves.append(node)
            else:
                made.append(node)
                self.makers.append(make)
        self.n_in = len(inputs)
        return made + self.leaves

    @staticmethod
    def _step(node, slot, needs, data, name) -> Step:
        op = ops.OPS[node.op]
        ins = tuple(slot[p] for p in node.parents)
        pick = operator.itemgetter(*ins) if len(ins) > 1 else (lambda vals, i=ins[0]: (vals[i],))
        attrs = dict(node.attrs)
        keywords = {**attrs, "needs": tuple(needs[i] for i in ins)} if op.needs else attrs
        targets = tuple((j, i) for j, i in enumerate(ins) if needs[i])
        return Step(op, ins, pick, attrs, keywords, Plan._bind(node, data, name), targets)

    @staticmethod
    def _bind(node, data, name):
        """Attributes that hold an argument's array (cross_entropy's targets, a where mask):
        [(attribute, argument index, remake, the captured array, the shape it was reshaped to or None)]
        so a replay puts the new one there."""
        bound = []
        for key, value in node.attrs.items():
            for a in arrays_in(value):
                i = next((k for k, d in enumerate(data) if a is d), None)
                if i is not None:
                    bound.append((key, i, rebuild(value, data[i]), data[i], None))
                elif reshaped_from(a, data) is not None:  # targets.reshape(-1): reshaped again each call
                    i, shape, remake = reshaped_from(a, data), a.shape, rebuild(value, a)
                    bound.append((key, i, lambda new, remake=remake, shape=shape: remake(np.reshape(new, shape)),
                                  a, shape))
                elif any(type(d) is np.ndarray and np.may_share_memory(a, d) for d in data):
                    raise JitError(f"jit: {name} gives {node.op} a part or a view of an argument as its "
                                   f"{key!r} (e.g. y[:10] or y.T); a replay would keep the captured numbers. "
                                   "Slice or convert the argument before calling the jitted function.")
                elif a.size > 1 and a.flags.writeable:  # (read-only ones are tracegrad's own constants)
                    warn(f"jit: {name} gives {node.op} an array of shape {a.shape} as its {key!r} that is not "
                          "an argument: every replay reuses these numbers. If they are computed from an "
                          "argument (a mask such as y >= 0), compute them outside and pass them in.")
        return bound

    @staticmethod
    def _backward_event(event, slot, data, converted, name):
        """("backward", root slot, seed, make): a gradient given to backward() that is made from
        the arguments (`make`) is made again each call; any other is a constant."""
        _, root, seed, _, given = event
        given = given.data if isinstance(given, Value) else given
        make = maker_of(given, data, converted, name)
        if make is None and type(given) is np.ndarray and given.size > 1 and given.flags.writeable:
            warn(f"jit: {name} calls backward() with an array of shape {given.shape} that is not an argument: "
                  "every replay reuses these numbers; pass it in if it changes")
        return ("backward", slot[root], seed, make)

    @staticmethod
    def _result(out, slot, nodes):
        """What a replay returns: ("slot", k) the value of slot k (also for out.detach() of a
        node), ("same", out) a leaf that is not computed here (a parameter), ("none", None)."""
        if not isinstance(out, Value):
            return ("none", None)
        if out in slot and out.op:
            return ("slot", slot[out])
        k = next((slot[n] for n in nodes if n.data is out.data), None)
        return ("same", out) if k is None else ("detached", k)

    # -- replaying -----------------------------------------------------------------------------
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
        if [kind(n.data) for n in self.leaves] != self.leaf_kinds:
            return False
        self.leaf_data = [node.data for node in self.leaves]  # new objects of the same kind: fine
        return True

    def replay(self, args):
        """Run the plan: the forward, then the events (backward into .grad, noted calls)."""
        if self.code is not None:
            return self.code(args)
        out = self.interpret(args)
        if self.checked and self.has_backward:  # targets sorted, buffers planned, fresh gradients known
            self.code = generate(self, args)
        return out

    def interpret(self, args):
        """replay(), step by step: the readable reference the generated code follows."""
        data = [a.data if isinstance(a, Value) else a for a in args]
        vals, saved, rebound = self.forward(data)
        targets = self.fixed_targets or [node if node is not None else args[i] for i, node in self.grad_targets]
        for k, event in enumerate(self.events):
            if event[0] == "call":
                event[1]()
                continue
            _, root, seed, make = event
            if make is not None:  # the gradient given to backward() comes from the arguments
                seed = np.array(make(data), dtype=getattr(seed, "dtype", np.float64))
                seed = float(seed) if type(event[2]) is float else seed
            elif type(seed) is not float:
                seed = seed.copy()  # rules may pass it on unchanged, as a .grad
            grads = self.backward(seed, vals, saved, rebound, root)
            if self.fresh[k]:  # (see below) no copy needed: add them in
                for node, g in zip(targets, grads):
                    if g is not None:
                        node._grad = g if node._grad is None else node._grad + g
            else:
                # the first time, as backward() does (copies where needed), noting whether any copy
                # was needed: the same rules on the same shapes give the same kinds of arrays
                self.fresh[k] = store_grads([(node, g) for node, g in zip(targets, grads) if g is not None])
        kind, what = self.result
        if kind == "slot" and not self.has_backward:  # a loss: one node standing for the graph
            parents = tuple([node if node is not None else args[i] for i, node in self.grad_targets])
            return _record("jit", vals[what], None, None, parents, self.attrs, bool(parents), (vals, saved, rebound))
        if kind in ("slot", "detached"):
            return _new(vals[what])  # gradients stored already (or not wanted): no graph to keep
        return what

    def forward(self, data):
        """Every slot's value: the inputs, then each op's forward on the slots it reads."""
        vals = [make(data) for make in self.makers]
        vals += [node.data for node in self.leaves]
        saved, rebound = [], {}  # what saves=True forwards kept; the attributes given new arrays
        for step in self.steps:
            attrs = step.attrs
            if step.bound:
                attrs = rebound[len(saved)] = dict(attrs)
                for key, i, remake, _, _ in step.bound:
                    attrs[key] = remake(data[i])
            r = step.op.forward(*step.pick(vals), **attrs)
            if step.op.saves:
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
            step = self.steps[k]
            keywords = step.keywords  # the table's rule, with this replay's attributes
            if step.bound:
                keywords = {**keywords, **rebound[k]}
            if step.op.saves:
                keywords = {**keywords, "saved": saved[k]}
            contributions = step.op.backward(gk, vals[n_in + k], *step.pick(vals), **keywords)
            for j, i in step.direct:
                grads[i] = contributions[j]
            for j, i in step.general:
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
            for j, i in step.general:
                contributors[i] = contributors.get(i, 0) + 1
        for k, step in enumerate(self.steps):
            direct = tuple((j, i) for j, i in step.general if (k, j) in exact and contributors[i] == 1)
            step.direct, step.general = direct, tuple(t for t in step.general if t not in direct)
        self.checked = True
        if self.has_backward:  # (a loss returned for a later backward keeps its values: no buffers)
            plan_memory(self)

    # -- the check on a signature's second call ------------------------------------------------
    def verify(self, fn, args):
        """Run the plan and note where it leaves every Value it reads or writes (data and grad)
        and every object whose calls it repeats (optimizer buffers, step counts); put all of it
        back; run fn for real; compare. A mismatch raises JitError and leaves the real run's state."""
        objects = self._noted_objects()
        values = list({id(v): v for v in self.leaves + [a for a in args if isinstance(a, Value)]
                       + values_in([vars(o) for o in objects if hasattr(o, "__dict__")])
                       + [o for o in objects if isinstance(o, Value)]}.values())
        objects = [o for o in objects if hasattr(o, "__dict__")]
        before = snapshot(values, objects)
        try:
            replayed = self.replay(args)
            after_replay = [(v, copy_tree(v.data), copy_tree(v._grad)) for v in values]
            replay_grads = None
            if isinstance(replayed, Value) and replayed.op == "jit" and replayed.requires_grad:  # its backward too
                seed = 1.0 if type(replayed.data) is float else np.ones_like(replayed.data)
                replay_grads = self.backward(seed, *replayed._details.extra["saved"])
        finally:
            restore(before)
        out, events = capturing(fn, args)
        if isinstance(out, Value) and isinstance(replayed, Value):
            same(self.name, replayed.data, out.data, "the result")
        # the Values the real run used (leaves made inside the function are new objects each call)
        used = set(topological_order([e[1] for e in events if e[0] == "backward"]
                                     + ([out] if isinstance(out, Value) else [])))
        leaves = {id(node) for node in self.leaves}  # by identity: == between Values is elementwise
        for v, data, grad in after_replay:
            if v in used or id(v) not in leaves:
                name = v.label or "an input"
                same(self.name, data, v.data, f"{name}'s data after the call")
                same(self.name, grad, v._grad, f"{name}'s gradient after the call")
        if replay_grads is not None and out.requires_grad:
            run_grads = backprop([out], [1.0 if type(out.data) is float else np.ones_like(out.data)])
            for (i, node), g in zip(self.grad_targets, replay_grads):
                node = node if node is not None else args[i]
                if node in used:
                    same(self.name, g, run_grads.get(node), f"the gradient of {node.label or 'an input'}")
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
                todo += [v for v in vars(obj).values() if has_replayable_methods(v)]
        return found

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<jit plan of {self.name}: {len(self.steps)} ops, {self.n_in} inputs, {len(self.events)} events>"
