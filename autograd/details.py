"""`Details`: what a graph node carries besides its data, gradient, inputs, depth and flag.

Most nodes of a scalar graph are `a * b`, `a + 0.5`, `x.relu()`: an op's name and one or two
inputs, nothing else. They all share their op's one `Details` (`PLAIN["mul"]`), so a Value is
eight pointers (see Value.__slots__). A node with more to say (keyword arguments such as
sum(axis=0) or x ** 2, a label, hooks, what its forward saved for the backward) has a Details of
its own.

Why not four more slots on Value: the cyclic GC's full collections visit every live node, and
their cost follows the node's size (100k-op random expression, build with the GC on: 128-byte
nodes 0.17-0.18 s, 96-byte ones 0.14-0.15 s; see benchmarks/engine.py and docs/ARCHITECTURE.md).

A Details is never changed in place: a change makes a new one (`replace`), so a shared one is
safe to hand to any number of nodes.
"""
from __future__ import annotations


class FrozenAttrs(dict):
    """An op's keyword arguments on a shared record: a dict (copies, pickles, prints as one) that
    refuses changes, which would reach every node sharing it."""

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("these attrs cannot be changed: other nodes may share them; "
                        "change a copy instead: dict(node.attrs)")

    __setitem__ = __delitem__ = __ior__ = update = pop = popitem = clear = setdefault = _refuse

    def __reduce__(self):
        return (FrozenAttrs, (dict(self),))


_NO_ATTRS = FrozenAttrs()  # a node without keyword arguments (tested by identity: `attrs is _NO_ATTRS`)


class Details:
    """op: the op table entry that made the node ("" for a leaf); attrs: its keyword arguments;
    label: a display name; extra: None or a dict of "hooks", "saved" (what the forward kept for
    the backward), "site" (anomaly mode's line of code)."""

    __slots__ = ("op", "attrs", "label", "extra")

    def __init__(self, op: str = "", attrs=_NO_ATTRS, label: str = "", extra=None):
        self.op = op
        self.attrs = attrs
        self.label = label
        self.extra = extra

    def replace(self, **changes) -> "Details":
        """A copy with some fields changed (the original may be shared: it stays as it is)."""
        fields = {k: getattr(self, k) for k in self.__slots__}
        fields.update(changes)
        return Details(**fields)

    def __reduce__(self):  # pickling (any protocol): empty attrs come back as the shared _NO_ATTRS (tested by `is`)
        return (_restore, (self.op, dict(self.attrs), self.label, self.extra))

    def __repr__(self):
        return f"Details({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"


def _restore(op, attrs, label, extra) -> Details:
    return Details(op, FrozenAttrs(attrs) if attrs else _NO_ATTRS, label, extra)


class _Plain(dict):
    """op name -> the Details shared by that op's plain nodes (made on first use: ops may be defined later)."""

    def __missing__(self, op):
        details = self[op] = Details(op)
        return details


PLAIN = _Plain()
LEAF = PLAIN[""]  # an unlabelled leaf's

_LABELLED = {}  # (op, label) -> the shared Details of a plain node with that label


def labelled(details: Details, label: str) -> Details:
    """details with `label` instead of its own. A record that says nothing but the op and a label is
    shared per (op, label): a layer labels its nodes "L0.n3.out", "h7" ... anew every step, which would
    otherwise make a record per node for the GC to visit (micrograd's moons in example mode: 3,300 a step)."""
    if details.attrs is not _NO_ATTRS or details.extra is not None:
        return Details(details.op, details.attrs, label, details.extra)
    if not label:
        return PLAIN[details.op]
    key = (details.op, label)
    shared = _LABELLED.get(key)
    if shared is None:
        if len(_LABELLED) >= 4096:  # (labels made on the fly, e.g. one per step of a long sequence: bounded)
            _LABELLED.clear()
        shared = _LABELLED[key] = Details(details.op, _NO_ATTRS, label)
    return shared


_POWERS = ({}, {})  # (int exponents, float exponents) -> the shared Details of x ** e


def power(exponent) -> Details:
    """The Details of `x ** exponent` for an int or float exponent, shared per exponent (a scalar
    graph's x ** 2 nodes would otherwise each carry a record the GC visits: 100k-op expression ~4% of
    the build). Ints and floats apart: 2 and 2.0 are equal keys but draw as different labels; and
    ±0.0 and NaN, which a dict cannot tell apart or find, get a record each."""
    is_float = type(exponent) is float
    cache = _POWERS[is_float]
    details = cache.get(exponent)
    if details is None:
        details = Details("pow", FrozenAttrs(exponent=exponent))
        if is_float and (exponent == 0 or exponent != exponent):
            return details
        if len(cache) >= 256:  # (random exponents: a bounded cache)
            cache.clear()
        cache[exponent] = details
    return details
