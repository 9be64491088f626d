"""A checked training-step plan (autograd.jit.plan) as straight-line Python: one function per plan,
built once with `compile` after the plan's first replay, each slot a local variable, the memory
plan's kernels (kernels.py) written out as numpy calls into their buffers, every other op called
through its table entry, plain SGD's step and zero_grad written out too.

Why: the interpreted replay (Plan.forward / Plan.backward, kept as the readable reference and for
losses replayed as one node) spends its time in list indexing, itemgetters, tuple packing and
per-step checks; the generated function has none of that (digits MLP, batch 32: the replay's
Python went from ~40 us a step to a few). The source is kept on the function (`plan.code.source`)
and reads like a hand-written step, e.g. for the digits MLP (64-128-128-10, tanh):

    def replay(args):
        d0 = args[0]
        d1 = args[1]
        v0 = d0
        v1 = L0.data
        ...
        # linear, into its buffer
        v7 = matmul(v0, v1.T, B0)
        add(v7, v2, v7)
        ...
        # backward() from slot 12
        ...
        if g10 is not None:  # tanh
            square(v10, B14); subtract(1.0, B14, B14); g9 = multiply(g10, B14, B14)
        if g9 is not None:  # linear
            g8 = matmul(g9, v3, B15)
            g3 = matmul(g9.T, v8)
            g4 = matmul(B16, g9)
        ...
        if g3 is not None:
            t = P8._grad; P8._grad = g3 if t is None else t + g3
        ...
        groups = O1.plain_groups()  # SGD.step, written out: w -= lr·g in place

(numpy's functions by their bare names, out= by position: see UFUNCS.)
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..engine import fit, store_grads
from ..value import Value, _new, _normalize
from .kernels import Placer


def _norm(r):
    """A table forward's result as Value's ops keep it (see Plan.forward)."""
    return r if type(r) is np.ndarray and r.ndim else _normalize(r)


def _acc(total, c, template):
    """Add contribution c into a slot's gradient, fitted to the slot first when its shape or
    dtype differ (broadcasting undone): Plan.backward's `general` case."""
    if c is None:
        return total
    d = template.data
    if type(c) is not type(d) or type(d) is not float and (c.shape != d.shape or c.dtype != d.dtype):
        c = fit(c, template)
    return c if total is None else total + c


def _pairs(pairs):
    return [(node, g) for node, g in pairs if g is not None]


# numpy's functions the kernels call, as names of the function's globals, their out= given by position:
# ~50 ns less a call than np.add(..., out=...) (the attribute lookup, the keyword), ~2 us over a digits step
UFUNCS = ("matmul", "add", "subtract", "multiply", "divide", "square", "tanh", "exp", "log", "maximum", "greater",
          "copyto")


class _Source:
    """Lines of the function and the objects its names stand for."""

    def __init__(self):
        self.lines, self.counts = [], {}
        self.names = {"np": np, "_new": _new, "_norm": _norm, "_acc": _acc, "_store": store_grads, "_pairs": _pairs,
                      "_isfinite": math.isfinite, **{name: getattr(np, name) for name in UFUNCS}}

    def const(self, prefix: str, obj) -> str:
        """A name for obj in the function's globals: prefix + a number."""
        n = self.counts[prefix] = self.counts.get(prefix, -1) + 1
        self.names[f"{prefix}{n}"] = obj
        return f"{prefix}{n}"

    def emit(self, line: str, depth: int = 1):
        self.lines.append("    " * depth + line)


def generate(plan, args):
    """The function replaying `plan` (one with a backward, after its first replay: targets sorted,
    buffers planned, fresh gradients known), or None when the plan is of another kind."""
    if not plan.has_backward or not plan.checked:
        return None
    src = _Source()
    for i, a in enumerate(args):
        src.emit(f"d{i} = args[{i}].data" if isinstance(a, Value) else f"d{i} = args[{i}]")
    if any(not hasattr(make, "argument") for make in plan.makers) or any(e[0] == "backward" and e[3] for e in plan.events):
        src.emit(f"data = [{', '.join(f'd{i}' for i in range(len(args)))}]")  # what makers read
    slot = 0
    for make in plan.makers:
        src.emit(f"v{slot} = d{make.argument}" if hasattr(make, "argument") else f"v{slot} = {src.const('M', make)}(data)")
        slot += 1
    for node in plan.leaves:
        src.emit(f"v{slot} = {src.const('L', node)}.data")
        slot += 1
    attrs = [_forward(src, plan, k, step) for k, step in enumerate(plan.steps)]
    for e, event in enumerate(plan.events):
        if event[0] == "call":
            if not (_inline_zero_grad(src, event[1]) or _inline_sgd(src, plan.events[:e], event[1])):
                src.emit(f"{src.const('C', event[1])}()  # {getattr(event[1], 'func', event[1]).__qualname__}")
        else:
            _backward(src, plan, e, event, attrs)
    kind, what = plan.result
    if kind in ("slot", "detached"):
        src.emit(f"return _new(v{what})")
    elif kind == "same":
        src.emit(f"return {src.const('OUT', what)}")
    else:
        src.emit("return None")
    # one compiled function per plan: the digits step's replay Python, ~40 us interpreted, is a few us
    text = "def replay(args):\n" + "\n".join(src.lines) + "\n"
    exec(compile(text, f"<jit replay of {plan.name}>", "exec"), src.names)  # noqa: S102 (our own source)
    replay = src.names["replay"]
    replay.source = text
    return replay


def _attributes(src, k, step) -> dict:
    """Step k's attributes as Python expressions: constants by name; one holding an argument's
    array (cross_entropy's targets) remade from this call's arguments, into a local."""
    given = {}
    for key, i, _, old, shape in step.bound:
        given.setdefault(key, []).append((old, f"d{i}" if shape is None else f"d{i}.reshape({shape!r})"))
    exprs = {}
    for key, value in step.attrs.items():
        if key in given:
            src.emit(f"b{k}_{key} = {_expression(src, value, given[key])}")
            exprs[key] = f"b{k}_{key}"
        else:
            exprs[key] = src.const("A", value)
    return exprs


def _expression(src, value, given) -> str:
    """Python for `value` with each captured argument array in it replaced by this call's (d<i>)."""
    for old, made in given:
        if value is old:
            return made
    if type(value) is tuple:
        return "(" + "".join(_expression(src, v, given) + ", " for v in value) + ")"
    return src.const("A", value)


def _forward(src, plan, k, step) -> dict:
    """The lines computing step k's slot; returns its attributes' expressions (for its rule)."""
    s, ins = plan.n_in + k, [f"v{i}" for i in step.ins]
    name, exprs = step.op.name, _attributes(src, k, step)
    attrs = "".join(f", {key}={expr}" for key, expr in exprs.items())
    if step.kernel is not None:
        src.emit(f"# {name}, into its buffer")
        step.kernel.forward(src, f"v{s}", ins, exprs)
    elif step.op.saves:
        src.emit(f"r, s{s} = {src.const('F', step.op.forward)}({', '.join(ins)}{attrs})  # {name}")
        src.emit(f"v{s} = _norm(r)")
    else:
        src.emit(f"v{s} = _norm({src.const('F', step.op.forward)}({', '.join(ins)}{attrs}))  # {name}")
    return exprs


def _backward(src, plan, e, event, attrs):
    """One backward() call: the seed, each rule from the root down, the gradients into .grad."""
    _, root, seed, make = event
    src.emit(f"# backward() from slot {root}")
    if make is not None:  # a gradient given to backward() made from the arguments
        dtype = src.const("D", getattr(seed, "dtype", np.float64))
        src.emit(f"g = np.array({src.const('M', make)}(data), dtype={dtype})")
        if type(seed) is float:
            src.emit("g = float(g)")
    elif type(seed) is float or root >= plan.n_in and plan.steps[root - plan.n_in].rule is not None:
        # (a kernel's rule never passes g on: no copy needed)
        src.emit(f"g = {src.const('S', seed)}")
    else:
        src.emit(f"g = {src.const('S', seed)}.copy()")  # rules may pass it on unchanged, as a .grad
    constant = seed if make is None else None  # the root's gradient, known now
    n_in = plan.n_in
    src.emit(" = ".join(f"g{i}" for i in range(root + 1)) + " = None")
    src.emit(f"g{root} = g")
    for k in range(root - n_in, -1, -1):
        step, s = plan.steps[k], n_in + k
        if not step.direct and not step.general:  # nothing of it is read (rules have no side effects)
            continue
        src.emit(f"if g{s} is not None:  # {step.op.name}")
        if step.rule is not None:  # the kernel's lines: each contribution straight into its gradient
            names = [None] * len(step.ins)
            for j, i in step.direct:
                names[j] = f"g{i}"
            for j, i in step.general:
                names[j] = f"c{j}"
            step.rule.rule(src, f"g{s}", f"v{s}", [f"v{i}" for i in step.ins], attrs[k], names, 2,
                           constant if s == root else None)
            for j, i in step.general:
                src.emit(f"g{i} = _acc(g{i}, c{j}, {src.const('T', plan.templates[i])})", 2)
            continue
        keywords = "".join(f", {key}={expr}" for key, expr in attrs[k].items())  # as Plan.backward passes:
        if step.op.needs:  # the attributes, `needs`, the forward's saved values
            keywords += f", needs={src.const('N', step.keywords['needs'])}"
        if step.op.saves:
            keywords += f", saved=s{s}"
        src.emit(f"c = {src.const('R', step.op.backward)}(g{s}, v{s}, {', '.join(f'v{i}' for i in step.ins)}{keywords})", 2)
        for j, i in step.direct:
            src.emit(f"g{i} = c[{j}]", 2)
        for j, i in step.general:
            src.emit(f"g{i} = _acc(g{i}, c[{j}], {src.const('T', plan.templates[i])})", 2)
    targets = [src.const("P", node) if node is not None else f"args[{i}]" for i, node in plan.grad_targets]
    grads = [f"g{k}" for k in plan.grad_inputs]
    if plan.fresh[e]:  # the rules' results are arrays of their own: added in as they come
        for node, g in zip(targets, grads):
            src.emit(f"if {g} is not None:")
            src.emit(f"t = {node}._grad; {node}._grad = {g} if t is None else t + {g}", 2)
    elif targets:
        src.emit(f"_store(_pairs([{', '.join(f'({n}, {g})' for n, g in zip(targets, grads))}]))")


def _called(call, name: str):
    """The object whose method `name` the noted call calls with no arguments (opt.step()), or None."""
    ok = type(call) is functools.partial and len(call.args) == 1 and not call.keywords
    return call.args[0] if ok and getattr(call.func, "__name__", "") == name else None


def _inline_sgd(src, before, call) -> bool:
    """opt.step() of an optimizer whose step is w -= lr·g (nn.SGD without momentum, decay or
    maximize: its plain_groups()) written out, after an opt.zero_grad() in the same call (so each
    parameter's .grad is None or this replay's gradient, of the parameter's shape and dtype).
    Each update is lr·g into a kept array, then w -= it, as SGD._step; a guard checks each call
    that the optimizer is still plain with the same groups, else opt.step() runs."""
    opt = _called(call, "step")
    groups = opt.plain_groups() if hasattr(opt, "plain_groups") else None
    if groups is None or not any(_called(e[1], "zero_grad") is opt for e in before if e[0] == "call"):
        return False
    params = [p for group in groups for p in group["params"]]
    if not all(type(p.data) is np.ndarray and p.data.dtype.kind == "f" for p in params) or \
            not all(type(group["lr"]) is float for group in groups):
        return False
    name, lists = src.const("O", opt), [src.const("G", group["params"]) for group in groups]
    src.emit(f"groups = {name}.plain_groups()  # {type(opt).__name__}.step, written out: w -= lr·g in place")
    checks = " and ".join(f"groups[{i}]['params'] is {lst} and len({lst}) == {len(group['params'])} and "
                          f"type(groups[{i}]['lr']) is float" for i, (lst, group) in enumerate(zip(lists, groups)))
    src.emit(f"if groups is not None and len(groups) == {len(groups)} and {checks}:")
    for i, group in enumerate(groups):
        src.emit(f"lr = groups[{i}]['lr']", 2)
        for p in group["params"]:
            node, scratch = src.const("P", p), src.const("X", Placer().empty_like(p.data))
            src.emit(f"g = {node}._grad", 2)
            src.emit("if g is not None:", 2)
            src.emit(f"w = {node}.data; subtract(w, multiply(lr, g, {scratch}), w)", 3)
    src.emit("else:")
    src.emit(f"{src.const('C', call)}()", 2)
    return True


def _inline_zero_grad(src, call) -> bool:
    """opt.zero_grad() of nn's Optimizer (not overridden) written out: each parameter's .grad set to
    None, as it does (2.9 -> ~0.5 us a step, digits MLP); a guard checks the groups are the same."""
    opt = _called(call, "zero_grad")
    method = getattr(type(opt), "zero_grad", None)
    if opt is None or getattr(method, "__wrapped__", None) is not call.func or \
            (call.func.__module__, call.func.__qualname__) != ("nn.optimizer", "Optimizer.zero_grad"):
        return False
    groups = opt.param_groups
    lists = [src.const("G", group["params"]) for group in groups]
    checks = " and ".join(f"groups[{i}]['params'] is {lst} and len({lst}) == {len(group['params'])}"
                          for i, (lst, group) in enumerate(zip(lists, groups)))
    src.emit(f"groups = {src.const('O', opt)}.param_groups  # {type(opt).__name__}.zero_grad, written out")
    src.emit(f"if len(groups) == {len(groups)} and {checks}:")
    src.emit(" = ".join(f"{src.const('P', p)}._grad" for group in groups for p in group["params"]) + " = None", 2)
    src.emit("else:")
    src.emit(f"{src.const('C', call)}()", 2)
    return True
