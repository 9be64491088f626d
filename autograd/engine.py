"""Reverse-mode traversal: the gradient loop (nodes visited deepest first, see order.by_depth),
`grad` and `backward`. The walk orders live in order.py, the fitting of a gradient to its node's
shape in fitting.py.

`backprop` returns {node: gradient}; given backward's `stored` list it also adds each gradient
into `.grad` at its node's turn (undone if it fails, see storing.py). `grad()` picks the requested
inputs out of its result and touches no `.grad`.
"""
from __future__ import annotations

import math

import numpy as np

from . import ops
from . import value as _value
from .fitting import _fit_value, fit  # noqa: F401  (fit: engine.fit for the jit and the step recorder)
from .mode import ALTERED, MODE, check_finite
from .order import by_depth, topological_order  # noqa: F401  (engine.by_depth: the player's; engine.topological_order)
from .scalar_rules import neuron_row
from .slices import slice_into as _slice_into
from .storing import keep, store_grads, unstore  # noqa: F401  (engine.store_grads: the jit's)


# Ops whose first-order rule on Python floats backprop runs inline (no rule call, no tuple of
# contributions, no fit check): a scalar graph's backward spends its time on exactly these.
_SCALAR = frozenset(("add", "sub", "mul", "div", "neg", "pow", "relu", "tanh", "exp", "sigmoid"))
_IN_PLACE = frozenset(("neuron", "getitem"))  # ops whose contributions backprop may add in place itself


def backprop(outputs, seeds, create_graph: bool = False, stored=None) -> dict:
    """{node: d(sum of seeds·outputs)/d(node)} for every node that requires grad.

    Visits the nodes that receive a gradient from the deepest down (see `by_depth`): a node
    used twice receives both contributions before its turn. With create_graph the gradients
    are Values (differentiable). With `stored` (a list, from backward): each node's gradient is
    added into its .grad at its turn (an array leaf's, which has no turn, at the end), and the
    node (its .grad was None) or (node, its .grad before) appended; a hook empties the list
    again and stops this (see backward). With `stored`, the seeds must be arrays (or floats) of
    their own, as backward's `_seed` makes them: .grad keeps them as they are.
    """
    buckets = {}  # depth -> the nodes queued there
    queue = buckets.setdefault  # (not a defaultdict: a chain's backward is 13% faster so)
    if len(outputs) == 1:  # (backward's one output, written out: the loop below costs a training step ~1 µs)
        out = outputs[0]
        grads = {out: seeds[0]}  # node -> its gradient
        queue(out._depth, []).append(out)
    else:
        grads = {}
        for out, seed in zip(outputs, seeds):
            if out not in grads:
                queue(out._depth, []).append(out)
            grads[out] = grads[out] + seed if out in grads else seed
    get = grads.get
    table = ops.OPS
    anomaly = ALTERED[0] and MODE.anomaly  # (no thread-local read outside no_grad/anomaly/jit blocks)
    first = not (create_graph or anomaly)  # first order, no anomaly check: fresh=True rules take the array path below
    scalar = _SCALAR if first else ()
    # (neuron_row's two dicts, made at the first neuron node: a graph of layers needs neither)
    rows = shared = None  # weight matrix -> its gradient array this backward made; id(...) -> numbers made once
    # nodes whose gradient array this backward made and nobody else holds before their turn (a sum
    # of two contributions below, a getitem buffer of _slice_into, a fresh=True rule's result): further
    # contributions go in in place, and .grad keeps it without store_grads' copy checks (at its turn,
    # only if its own rule is fresh too: others, such as add, pass g on as it is)
    if first:
        # backward's seed (stored is its list) is _seed's own array: .grad keeps it as it is (no keep() call)
        owned = own = set() if stored is None else set(outputs)
    else:
        owned, own = None, ()  # (own: for `in` tests, no None test per node)
    leaves, kept = [], set()  # (with stored) array leaves to store at the end; ids of arrays in a .grad
    # by_depth's order (see order.by_depth) written out: no generator resumed per depth (digits step: ~0.5 µs)
    pop = buckets.pop
    for depth in range(max(buckets) if buckets else -1, -1, -1):
        nodes = pop(depth, None)  # (buckets filled meanwhile are shallower: inputs sort before results)
        if nodes is None:
            continue
        nodes.reverse()  # the last in a bucket first
        for node in nodes:
            g = grads[node]  # (every queued node has its gradient: it is queued when it gets its first)
            details = node._details  # (op, attrs, hooks ...: see autograd.details)
            if details.extra is not None and "hooks" in details.extra:
                if stored:  # a hook may read any .grad: as before, none changes until backprop returns
                    unstore(stored)
                stored = None
                g = _run_hooks(node, g, grads, create_graph)
            op = details.op
            if type(g) is not float:
                fresh = op and table[op].fresh  # (its rule will not pass g on, see ops.Op)
                if stored is not None:
                    # .grad set here, not in a second pass over every node (store_grads; digits step: -2 µs); a
                    # fresh=True rule will not pass g on, so an array this backward made is kept without checks
                    if node in own and (fresh or not op):
                        if node._grad is None:
                            node._grad = g  # (the usual case written out: a call less per node)
                            stored.append(node)
                        else:
                            keep(node, g, True, kept, stored)
                    else:
                        keep(node, g, False, kept, stored)
            else:
                if stored is not None:
                    if type(node.data) is float:
                        # .grad set here, the node in the cache, not in a pass over all nodes by store_grads
                        # (100k-op expression: backward 85 -> 72 ms CPU, with order.by_depth's chain)
                        old = node._grad
                        if old is None:
                            node._grad = g
                            stored.append(node)
                        else:
                            node._grad = old + g
                            stored.append((node, old))
                    else:  # a number for a node whose .data is no Python float (a numpy scalar set by hand)
                        keep(node, g, False, kept, stored)
                if op in scalar:
                    # A float node of these elementwise ops has float inputs (0-d float64 results are
                    # Python floats, see value._normalize), so these are the rules' own expressions;
                    # a string test each, frequent first (this loop -12% against int codes per node).
                    p0, p1 = node._p0, node._p1
                    c1 = None
                    if p1 is None:
                        if op == "tanh":
                            out = node.data
                            c0 = g * (1 - out * out)
                        elif op == "relu":
                            c0 = g * (p0.data > 0)
                        elif op == "neg":
                            c0 = -g
                        elif op == "exp":
                            c0 = g * node.data
                        elif op == "sigmoid":
                            out = node.data
                            c0 = g * out * (1 - out)
                        else:  # pow, its entry's float rule written out (a call less per node: backward -3%)
                            e = details.attrs["exponent"]
                            try:
                                c0 = g * 0.0 if e == 0 else g * e * math.pow(p0.data, e - 1)  # x**0: 0, not 0·inf
                            except (ValueError, OverflowError, ZeroDivisionError):  # math.pow refuses: the entry's rule
                                (c0,) = _rule(table[op], g, node, (p0,), False)
                    elif op == "add":
                        c0 = c1 = g
                    elif op == "mul":
                        c0, c1 = g * p1.data, g * p0.data
                    elif op == "sub":
                        c0, c1 = g, -g
                    elif p1.data:  # div, as its entry computes it
                        c0, c1 = g / p1.data, -g * node.data / p1.data
                    else:  # div by zero: the entry's own rule
                        c0, c1 = _rule(table[op], g, node, (p0, p1), False)
                    if p0.requires_grad:
                        prev = get(p0)
                        if prev is None:  # its first gradient: its turn comes at its depth
                            grads[p0] = c0
                            queue(p0._depth, []).append(p0)
                        else:
                            grads[p0] = prev + c0
                    if c1 is not None and p1.requires_grad:
                        prev = get(p1)
                        if prev is None:
                            grads[p1] = c1
                            queue(p1._depth, []).append(p1)
                        else:
                            grads[p1] = prev + c1
                    continue
                # a float node of a fresh op with a first_order rule (a float64 batch's loss): the fresh path too
                fresh = first and op and type(node.data) is float and table[op].first_order is not None
            if fresh and first and (type(g) is np.ndarray or type(g) is float):  # (not a numpy scalar)
                # A fresh=True rule on arrays, first order (a layer network's nodes): its results have their
                # inputs' shapes and dtypes and are nobody else's (see ops.Op), so no fit check, each kept as
                # its input's own and added into in place; an array leaf's first one goes straight into a
                # .grad that was None (in-place sums later reach it too). The general path below without its
                # float, in-place, create_graph, fit and anomaly branches (digits step, float32 batch 32,
                # pinned: 7.3 µs less than through the general path; a float64 loss's node: ~2 µs less).
                # g has the node's shape and dtype (every gradient here is a seed, a fresh rule's result, or
                # fitted): the op's first_order form relies on it (no _rule call, no checks: ~3 µs a step)
                p0, parents = node._p0, node._p1  # (the inputs: see Value.__slots__)
                if p0 is not None:
                    parents = (p0,) if parents is None else (p0, parents)
                rule = table[op].first_order
                contributions = rule(g, node.data, node) if rule else _rule(table[op], g, node, parents, False)
                for p, c in zip(parents, contributions):
                    if c is None or not p.requires_grad:
                        continue
                    prev = get(p)
                    if prev is None:
                        grads[p] = c
                        owned.add(p)
                        d = p._details
                        if d.op or d.extra is not None:
                            queue(p._depth, []).append(p)  # its turn comes at its depth
                        elif stored is not None:  # an array leaf: no turn (6 turns less a training step)
                            if p._grad is None:
                                p._grad = c
                                stored.append(p)
                            else:
                                leaves.append(p)
                    elif p in owned:
                        prev += c
                    else:
                        grads[p] = prev = prev + c
                        if type(prev) is np.ndarray:  # (a float's sum is no array to add into)
                            owned.add(p)
                continue
            if not op:
                continue
            p0 = node._p0
            if op in _IN_PLACE:  # (one set lookup rather than two string tests per node)
                if op == "neuron" and type(g) is float and scalar and details.attrs.get("row") is not None:
                    if rows is None:
                        rows, shared = {}, {}
                    neuron_row(g, node, grads, rows, shared, queue, owned)
                    continue
                if op == "getitem" and owned is not None:
                    unqueued = p0 not in grads  # (not `first`: that one says which path fresh rules take)
                    if _slice_into(g, node, p0, grads, owned):
                        if unqueued:  # its first gradient: its turn comes at its depth (as below)
                            queue(p0._depth, []).append(p0)
                        continue
            parents = node._p1
            if p0 is not None:
                parents = (p0,) if parents is None else (p0, parents)
            entry = table[op]
            contributions = _rule(entry, g, node, parents, create_graph)
            for p, c in zip(parents, contributions):
                if c is None or not p.requires_grad:
                    continue
                if create_graph:
                    c = _fit_value(c, p)
                else:
                    d = p.data  # fit() unless c already has p's type, shape and dtype (the usual case)
                    if type(c) is not type(d) or type(d) is not float and (c.shape != d.shape or c.dtype != d.dtype):
                        c = fit(c, p)
                if anomaly:
                    # (the input's number found by identity: == is elementwise)
                    _check_gradient(c, node, [q is p for q in node.parents].index(True), p)
                prev = get(p)
                if prev is None:
                    grads[p] = c
                    if owned is not None and entry.fresh and type(c) is np.ndarray:
                        owned.add(p)  # (a fresh rule's array, as in the fresh path: anomaly mode's cross_entropy)
                    # its first gradient: its turn comes at its depth; an array leaf has none unless it has
                    # hooks (a float node's turn stores its .grad, see backward)
                    d = p._details
                    if d.op or d.extra is not None or type(c) is float:
                        queue(p._depth, []).append(p)
                    elif stored is not None:
                        leaves.append(p)
                elif owned is not None and p in owned:
                    # in place into the sum made below: a weight used at every step of a sequence (an LSTM's
                    # W_hh, 32 steps) gets no fresh (4H, H) array per step (nn.LSTM(32, 128) step: 10.0 -> 9.7 ms CPU)
                    prev += c
                else:
                    grads[p] = prev = prev + c
                    if owned is not None and type(prev) is np.ndarray:
                        owned.add(p)
    if stored is not None:
        for p in leaves:  # (those not stored at their first contribution above)
            keep(p, grads[p], p in own, kept, stored)
    return grads


def _rule(op, g, node, parents, create_graph):
    """op's backward on this node (its inputs `parents`): its contributions, one per input."""
    rule, attrs = op.backward, node._details.attrs
    # The rule is called without * or ** unpacking where it can be (each builds a
    # list or a dict per node): this runs once per node of every backward.
    if create_graph:
        return rule(g, node, *parents, **extra_keywords(op, node, parents, True), **attrs)
    n = len(parents)
    if op.needs or op.saves:  # rules that take extra keywords (see autograd.ops)
        return rule(g, node.data, *[p.data for p in parents], **extra_keywords(op, node, parents, False), **attrs)
    if n == 1:
        return rule(g, node.data, parents[0].data, **attrs) if attrs else rule(g, node.data, parents[0].data)
    if n == 2:
        a, b = parents
        return rule(g, node.data, a.data, b.data, **attrs) if attrs else rule(g, node.data, a.data, b.data)
    return rule(g, node.data, *[p.data for p in parents], **attrs)


def extra_keywords(op, node, parents, create_graph) -> dict:
    """needs= (which inputs need a gradient: the rule skips the others) and saved= (what the
    forward kept for the backward; raw data, so first order only) for rules that take them."""
    extra = {}
    if op.needs:
        extra["needs"] = tuple([p.requires_grad for p in parents])
    if op.saves:
        saved_by = node._details.extra
        extra["saved"] = None if create_graph or saved_by is None else saved_by.get("saved")
    return extra


def _run_hooks(node, g, grads, create_graph):
    """Call node's hooks on its finished gradient; a hook's non-None return replaces it."""
    for hook in node._details.extra.get("hooks", ()):
        replaced = hook(g)
        if replaced is not None:  # copied: the hook's caller may keep and change its array
            if not create_graph and isinstance(replaced, _value.Value):
                replaced = replaced.data
            if np.shape(replaced) != node.shape:  # like PyTorch: a hook may not reshape (nor broadcast)
                raise _hook_shape_error(hook, np.shape(replaced), node)
            g = grads[node] = _fit_value(replaced, node) if create_graph else fit(np.copy(replaced), node)
    return g


def _hook_shape_error(hook, got, node):
    import os.path   # (an error path: kept out of the module's imports)

    name = repr(getattr(hook, "__name__", hook))
    code = getattr(hook, "__code__", None)
    if code is not None:   # where it was written: lambdas all share one name
        name += f" ({os.path.basename(code.co_filename)}:{code.co_firstlineno})"
    what = (f"{node.op} node" if node.op else "leaf") + (f" {node.label!r}" if node.label else " (unlabelled)")
    return RuntimeError(f"hook {name} has changed the size of value: it returned a gradient of shape {got} for "
                        f"the {what} of shape {node.shape}; return one of shape {node.shape} "
                        "(or None to keep the gradient it was given)")


def _check_gradient(c, node, i, parent):
    site = (node._details.extra or {}).get("site", "a line outside detect_anomaly() (build the graph inside it to see where)")
    check_finite(ops.data(c), f"in the backward of {node.op} (node {node.label!r}, created at {site}): "
                 f"the gradient sent to input #{i} ({parent.label or parent.op or 'unnamed'})")


def _seed(out, grad):
    """The starting gradient for `out`, checked against its shape."""
    if grad is None:
        d = out.data  # (not out.size/.shape/.dtype: three property calls less a backward)
        if type(d) is float:
            return 1.0
        if d.size != 1:
            raise ValueError(
                f"backward() on a tensor of shape {out.shape} needs a starting gradient: reduce it first "
                f"(out.sum().backward()) or pass one of the same shape, e.g. out.backward(np.ones({out.shape}))")
        return np.array(1, d.dtype) if not d.ndim else np.ones(d.shape, d.dtype)
    grad = grad.data if isinstance(grad, _value.Value) else grad
    if np.shape(grad) != out.shape:
        raise ValueError(f"backward(): the gradient has shape {np.shape(grad)} but the output has shape {out.shape}")
    return float(grad) if type(out.data) is float else np.array(grad, dtype=out.dtype)


def _require_grad(out):
    if not out.requires_grad:
        raise RuntimeError(
            f"this Value ({out.label or out.op or 'leaf'}) does not require grad: none of its inputs has "
            "requires_grad=True, or it was computed inside no_grad(). Create inputs with Value(x) "
            "(requires_grad=True is the default).")


def backward(out, grad=None) -> None:
    """Add d(out)/d(node) into `.grad` of every node `out` depends on (see Value.backward)."""
    _require_grad(out)
    seed = _seed(out, grad)
    if ALTERED[0] and MODE.capture is not None:  # jit is capturing a training step (autograd.jit.replay)
        grads = backprop([out], [seed])
        MODE.capture.append(("backward", out, seed, grads, grad))
        store_grads(grads.items())
        return
    stored = []  # the nodes whose .grad backprop set: node (it was None) or (node, .grad before)
    try:
        grads = backprop([out], [seed], stored=stored)
    except BaseException:
        unstore(stored)  # as before: a backward that fails changes no .grad
        raise
    if not stored:  # a hook stopped backprop's storing (hooks may read any .grad): all of them now
        store_grads(grads.items())


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[_value.Value, ...]:
    """d(outputs)/d(inputs) as a tuple of Values, without touching any `.grad`.

    With create_graph=True the results are part of the graph and can be
    differentiated again (second derivatives, Hessian-vector products).

    >>> x = Value(0.5); (dx,) = grad(x.tanh(), x, create_graph=True)
    >>> (d2x,) = grad(dx, x)   # second derivative of tanh at 0.5
    """
    outputs = [outputs] if isinstance(outputs, _value.Value) else list(outputs)
    inputs = [inputs] if isinstance(inputs, _value.Value) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (_value.Value, np.ndarray, float, int)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for out in outputs:
        _require_grad(out)
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise ValueError(f"grad(): input #{i} ({x.label or 'unnamed'}) has requires_grad=False")
    seeds = [_seed(o, g) for o, g in zip(outputs, grad_outputs)]
    if create_graph:
        seeds = [_value.const(s) for s in seeds]
    grads = backprop(outputs, seeds, create_graph=create_graph)
    result = []
    for i, x in enumerate(inputs):
        g = grads.get(x)
        if g is None and not allow_unused:
            raise ValueError(f"grad(): input #{i} ({x.label or 'unnamed'}) is not used by the outputs; "
                             "pass allow_unused=True to get None for it")
        result.append(g if g is None or create_graph else _value._new(g))
    return tuple(result)
