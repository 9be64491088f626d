"""Record backpropagation one node at a time, so it can be watched and explained.

`record(loss)` replays the backward pass of a scalar `loss` from zeroed gradients,
in backprop's order (the deepest node first), with exactly the math of `autograd.engine.backprop`
(the op table's derivative rules, then `engine.fit` to undo broadcasting). Each
step keeps the node processed, its upstream gradient, every parent's local
derivative (formula and, for scalars, its number), the contribution passed on and
the gradient accumulated so far. The user's `.grad` values are never touched.

>>> from autograd import Value
>>> x, w = Value(2.0, label="x"), Value(-0.5, label="w")
>>> n = x * w; n.label = "n"; L = n.tanh()
>>> rec = record(L)
>>> print(rec.steps[-1].text.splitlines()[1])
dL/dw += dL/dn · dn/dw = 0.42 × 2 = 0.8399   (dn/dw = x)

Node numbers are positions in `autograd.topological_order(loss)`, the numbering the
graph drawer uses for its node ids (`v3`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autograd.engine import topological_order
from autograd.ops import OPS
from autograd.value import Value
from autograd.engine import by_depth, extra_keywords, fit

from ..names import readable
from .explain import backward_line, fill_formula, formula_of, forward_line, grad_name, node_names, preview

__all__ = ["ParentStep", "Step", "Recording", "record", "preview"]


@dataclass
class ParentStep:
    """What one parent of the processed node receives in a backward step."""

    parent: int           # node number of the parent
    formula: str          # the op table's formula for this input (in a, b, out, g)
    local: float | None   # its numeric value d(node)/d(parent); scalar elementwise ops only
    contribution: object  # raw float/array added to the parent's gradient (its shape)
    grad_after: object    # the parent's accumulated gradient after this step
    rule: str = ""        # the formula with node names filled in


@dataclass
class Step:
    """One frame: a forward value computed, or one node's gradient passed to its parents."""

    index: int
    kind: str                    # "forward" or "backward"
    node: int
    upstream: object             # dL/d(node) (backward steps), else None
    value: object                # the node's data (forward steps), else None
    parents: list[ParentStep]
    text: str                    # the explanation, one line per parent
    grads: dict = field(default_factory=dict)  # {node: gradient} changed by this step


@dataclass
class Recording:
    """Every step of one forward/backward pass over `nodes` (topological order)."""

    nodes: list[Value]
    steps: list[Step]
    root_index: int
    names: list[str] = field(default_factory=list)  # display name per node

    def grads_at(self, step_index: int) -> dict:
        """{node number: gradient} accumulated after step `step_index` (negative counts from the end)."""
        if not -len(self.steps) <= step_index < len(self.steps):
            raise IndexError(f"step {step_index} is out of range: this recording has {len(self.steps)} steps")
        grads = {}
        for step in self.steps[: step_index % len(self.steps) + 1]:
            grads.update(step.grads)
        return grads

    @property
    def final_grads(self) -> dict:
        """{node number: gradient} after the last step (what `backward()` would add)."""
        return self.grads_at(-1) if self.steps else {}

    def to_json(self) -> dict:
        """JSON-safe data for the player: node ids `v{i}`, preview strings, per-step changes.

        Strings (labels, texts) are not HTML-escaped: whoever embeds them in a page must.
        """
        final = self.final_grads
        position = {node: i for i, node in enumerate(self.nodes)}
        nodes = []
        for i, node in enumerate(self.nodes):
            nodes.append({
                "id": f"v{i}", "label": readable(node.label), "name": self.names[i], "op": node.op,
                "dname": grad_name(self.names[self.root_index], self.names[i]),
                "op_label": OPS[node.op].describe(node.attrs) if node.op else "",
                "shape": list(node.shape), "dtype": str(node.dtype), "data": preview(node.data),
                "grad": preview(final.get(i)), "requires_grad": bool(node.requires_grad),
                "formulas": [formula_of(node, k) for k in range(len(node.parents))] if node.op else [],
            })
        steps = []
        for step in self.steps:
            target = f"v{step.node}"
            if step.kind == "forward":
                edges = [[f"v{position[p]}", target] for p in self.nodes[step.node].parents]
                values = {target: preview(step.value)}
            else:
                edges = [[f"v{ps.parent}", target] for ps in step.parents]
                values = {}
            steps.append({
                "index": step.index, "kind": step.kind, "node": target, "text": step.text,
                "edges": edges, "values": values,
                "grads": {f"v{i}": preview(g) for i, g in step.grads.items()},
                "upstream": preview(step.upstream),
                "parents": [{"id": f"v{ps.parent}", "formula": ps.formula, "rule": ps.rule,
                             "local": None if ps.local is None else preview(ps.local),
                             "contribution": preview(ps.contribution), "grad": preview(ps.grad_after)}
                            for ps in step.parents],
            })
        return {"root": f"v{self.root_index}", "nodes": nodes, "steps": steps}


def _check_loss(loss) -> None:
    if not isinstance(loss, Value):
        raise TypeError(f"record() needs the Value to differentiate (a scalar loss), got {type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(
            f"record() needs a scalar loss, but this one has shape {loss.shape}: reduce it first, "
            "e.g. record(loss.sum()) or record(loss.mean())")
    if not loss.requires_grad:
        raise ValueError(
            f"record(): the loss ({loss.label or loss.op or 'leaf'}) does not require grad, so no gradient "
            "flows anywhere: build it from Values with requires_grad=True, outside no_grad()")


def record(loss: Value, forward: bool = False) -> Recording:
    """Replay the backward pass of a scalar `loss`, one step per node (forward steps first if asked).

    The derivative rules and broadcasting are those of `backward()`, so the gradients
    after the last step equal what `loss.backward()` adds to each `.grad`. Hooks
    registered with `register_hook` are not run (a recording has no side effects).
    """
    _check_loss(loss)
    nodes = topological_order(loss)
    index = {node: i for i, node in enumerate(nodes)}
    root = index[loss]
    names = node_names(nodes, root)
    steps: list[Step] = []
    if forward:
        for i, node in enumerate(nodes):
            if node.op:
                steps.append(Step(len(steps), "forward", i, None, node.data, [],
                                  forward_line(node, names, index)))
    grads = {loss: 1.0 if type(loss.data) is float else np.ones(loss.shape, loss.dtype)}
    uses: dict = {}  # how many times each node is an input of a node the gradient flows through
    for node in nodes:
        if node.op and node.requires_grad:
            for p in node.parents:
                if p.requires_grad:
                    uses[p] = uses.get(p, 0) + 1
    received: dict = {}  # node -> contributions so far
    first = True
    # the nodes in the order backprop visits them (order.by_depth), so the sums are the same
    buckets = {loss._depth: [loss]}
    for node in by_depth(buckets):
        g = grads.get(node)
        if g is None or not node.op or not node.requires_grad:
            continue
        fresh = [p for p in dict.fromkeys(node.parents) if p.requires_grad and p not in grads]
        step = _backward_step(node, g, grads, names, index, root, uses, received)
        for p in fresh:  # a first gradient: its turn comes at its depth
            if p in grads:
                buckets.setdefault(p._depth, []).append(p)
        step.index = len(steps)
        if first:
            step.grads = {root: grads[loss], **step.grads}
            first = False
        steps.append(step)
    if first:  # the loss is a leaf: its gradient is the seed, and nothing flows further
        steps.append(Step(len(steps), "backward", root, grads[loss], None, [],
                          f"{grad_name(names[root], names[root])} = 1: the loss is a leaf, "
                          "there is nothing to propagate", {root: grads[loss]}))
    return Recording(nodes, steps, root, names)


def _backward_step(node, g, grads, names, index, root, uses, received) -> Step:
    """Apply node's derivative rule (as backprop does) and describe each contribution."""
    op = OPS[node.op]
    inputs = [p.data for p in node.parents]
    # with what the forward saved and which inputs need a gradient, as backprop calls it
    extra = extra_keywords(op, node, node.parents, False)
    contributions = op.backward(g, node.data, *inputs, **extra, **node.attrs)
    # local derivatives as numbers: the same rule with an upstream gradient of 1
    unit = op.backward(1.0, node.data, *inputs, **node.attrs) if (
        type(node.data) is float and op.elementwise) else None
    name = names[index[node]]
    parents, lines, changed = [], [], {}
    for k, (p, c) in enumerate(zip(node.parents, contributions)):
        if c is None or not p.requires_grad:
            continue
        raw_shape = getattr(c, "shape", ())
        if type(c) is not float or type(p.data) is not float:
            c = fit(c, p)  # undo broadcasting, exactly as backprop does
        before = grads.get(p)
        grads[p] = c if before is None else before + c
        local = None
        if unit is not None and type(p.data) is float and getattr(unit[k], "ndim", 0) == 0:
            local = float(unit[k])
        formula = formula_of(node, k)
        rule = fill_formula(formula, node, k, names, index, grad_name(names[root], name))
        j = index[p]
        parents.append(ParentStep(j, formula, local, c, grads[p], rule))
        changed[j] = grads[p]
        earlier = received.setdefault(p, [])
        lines.append(backward_line(names[root], name, names[j], rule, op.elementwise, g, local, c,
                                   raw_shape, before, uses.get(p, 1), earlier))
        earlier.append(c)
    return Step(0, "backward", index[node], g, None, parents, "\n".join(lines), changed)
