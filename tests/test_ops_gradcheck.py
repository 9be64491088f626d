"""Finite differences for every op in `autograd.OPS`.

Each `Case` draws (with hypothesis) the shapes, values and static arguments of one
op, keeping the values inside the op's domain and away from its kinks. The output
is weighted by random numbers before being summed, so ops whose plain sum is
constant (softmax) or symmetric still have their gradients checked. A new op
without a case fails `test_every_op_has_a_case`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
from autograd import OPS, Value, gradcheck, topological_order
from autograd.value import apply

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
TENSOR_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
DOMAINS = {"any": (-2.0, 2.0), "pos": (0.3, 3.0), "away": (0.3, 2.0)}


def arr(draw, shape, domain="any"):
    """A float64 array of `shape` inside `domain` ("away" = |x| >= 0.3, "distinct" = no near-ties)."""
    if domain == "distinct":
        n = int(np.prod(shape))
        picks = draw(st.lists(st.integers(-40, 40), min_size=n, max_size=n, unique=True))
        return np.array(picks, dtype=np.float64).reshape(shape) / 10
    lo, hi = DOMAINS[domain]
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi)))
    if domain == "away":
        x = np.where(draw(hnp.arrays(np.bool_, shape)), x, -x)
    return x


def pair(draw):
    return draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)).input_shapes


def axis_arg(draw, ndim):
    """None, one axis (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return None
    return draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
    ))


@dataclass(frozen=True)
class Case:
    op: str
    name: str
    build: Callable  # draw -> (fn(*Values) -> Value, [input arrays])

    def __str__(self):
        return self.name


def unary(op, fn, domain="any", name=None):
    return Case(op, name or op, lambda draw: (fn, [arr(draw, draw(SHAPES), domain)]))


def binary(op, fn, domains=("any", "any"), name=None):
    def build(draw):
        sa, sb = pair(draw)
        return fn, [arr(draw, sa, domains[0]), arr(draw, sb, domains[1])]
    return Case(op, name or op, build)


def pow_case(draw):
    p = draw(st.sampled_from([2, 3, -1, 0.5, 1.5, -2.5]))
    domain = "any" if p in (2, 3) else "away" if p == -1 else "pos"
    return (lambda a: a ** p), [arr(draw, draw(SHAPES), domain)]


def reduction(op, domain="any"):
    def build(draw):
        x = arr(draw, draw(SHAPES), domain)
        axis, keepdims = axis_arg(draw, x.ndim), draw(st.booleans())
        return (lambda a: getattr(a, op)(axis=axis, keepdims=keepdims)), [x]
    return Case(op, op, build)


def softmax_like(op, via_function):
    def build(draw):  # scalars: test_softmax_of_a_scalar
        x = arr(draw, draw(TENSOR_SHAPES))
        axis = draw(st.integers(-x.ndim, x.ndim - 1))
        f = getattr(autograd, op)
        return ((lambda a: f(a, axis)) if via_function else (lambda a: getattr(a, op)(axis))), [x]
    return Case(op, f"{op}{'_fn' if via_function else ''}", build)


def reshape_case(draw):
    x = arr(draw, draw(SHAPES))
    targets = [(-1,), x.shape[::-1], x.shape + (1,), (1,) + x.shape] + ([()] if x.size == 1 else [])
    target = draw(st.sampled_from(targets))
    return (lambda a: a.reshape(target)), [x]


def transpose_case(draw):
    x = arr(draw, draw(SHAPES))
    perm = tuple(draw(st.permutations(range(x.ndim))))
    choices = [lambda a: a.transpose(perm), lambda a: a.T] + ([lambda a: a.mT] if x.ndim >= 2 else [])
    return draw(st.sampled_from(choices)), [x]


def broadcast_case(draw):
    target = draw(SHAPES)
    kept = target[len(target) - draw(st.integers(0, len(target))):]  # a suffix of the target...
    x = arr(draw, tuple(n if draw(st.booleans()) else 1 for n in kept))  # ...with some sides set to 1
    return (lambda a: a.broadcast_to(target)), [x]


def index_key(draw, shape):
    n = shape[0]
    ints = hnp.arrays(np.int64, st.integers(1, 5), elements=st.integers(-n, n - 1))  # repeats allowed
    kinds = [
        draw(hnp.basic_indices(shape, allow_ellipsis=True, allow_newaxis=True)),
        draw(ints),
        draw(hnp.arrays(np.bool_, shape)),
        draw(hnp.arrays(np.bool_, (n,))),
    ]
    if len(shape) >= 2:
        kinds.append((draw(ints), slice(None, None, -1)))
    return draw(st.sampled_from(kinds))


def getitem_case(draw):
    x = arr(draw, draw(TENSOR_SHAPES))
    key = index_key(draw, x.shape)
    return (lambda a: a[key]), [x]


def scatter_case(draw):
    shape = draw(TENSOR_SHAPES)
    key = draw(hnp.arrays(np.int64, st.integers(1, 5), elements=st.integers(0, shape[0] - 1)))
    x = arr(draw, np.zeros(shape)[key].shape)
    return (lambda a: apply("scatter", (a,), {"key": key, "shape": shape})), [x]


def matmul_case(draw):
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3)).input_shapes
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    vec_a, vec_b = draw(st.booleans()), draw(st.booleans())
    sa = (k,) if vec_a else batch_a + (m, k)
    sb = (k,) if vec_b else batch_b + (k, n)
    if draw(st.booleans()):  # a plain array on the left: Value.__rmatmul__
        const = arr(draw, sa)
        return (lambda b: const.astype(b.dtype) @ b), [arr(draw, sb)]
    return (lambda a, b: a @ b), [arr(draw, sa), arr(draw, sb)]


def concat_case(draw):
    base = list(draw(TENSOR_SHAPES))
    axis = draw(st.integers(-len(base), len(base) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    shapes = [tuple(base[:axis % len(base)] + [s] + base[axis % len(base) + 1:]) for s in sizes]
    return (lambda *xs: autograd.concat(xs, axis)), [arr(draw, s) for s in shapes]


def stack_case(draw):
    shape = draw(SHAPES)
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    count = draw(st.integers(1, 3))
    return (lambda *xs: autograd.stack(xs, axis)), [arr(draw, shape) for _ in range(count)]


def where_case(draw):
    sc, sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)).input_shapes
    cond = draw(hnp.arrays(np.bool_, sc))
    return (lambda a, b: autograd.where(cond, a, b)), [arr(draw, sa), arr(draw, sb)]


def neuron_case(draw):
    n = draw(st.integers(1, 4))
    xs = [arr(draw, ()) for _ in range(n)]
    if draw(st.booleans()):
        return (lambda w, b, *x: autograd.neuron(w, b, x)), [arr(draw, (n,)), arr(draw, ())] + xs
    rows = draw(st.integers(1, 3))
    row = draw(st.integers(0, rows - 1))
    return (lambda w, b, *x: autograd.neuron(w, b, x, row=row)), [arr(draw, (rows, n)), arr(draw, (rows,))] + xs


def linear_case(draw):
    """x (..., in) through weight (out, in) and maybe a bias; sometimes x is a constant
    batch, so the rule skips its gradient (needs=(False, True, True))."""
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    lead = draw(st.sampled_from([(), (2,), (3,), (2, 2)]))
    x, w = arr(draw, lead + (n_in,)), arr(draw, (n_out, n_in))
    if draw(st.booleans()):
        return (lambda w_, b_: autograd.linear(x.astype(w_.dtype), w_, b_)), [w, arr(draw, (n_out,))]
    if draw(st.booleans()):
        return (lambda x_, w_: autograd.linear(x_, w_)), [x, w]
    return (lambda x_, w_, b_: autograd.linear(x_, w_, b_)), [x, w, arr(draw, (n_out,))]


def cross_entropy_case(draw):
    """Logits (n, classes) or (classes,), the targets' key, and a reduction."""
    classes = draw(st.integers(1, 4))
    rows = draw(st.sampled_from([None, 1, 2, 3]))
    targets = draw(hnp.arrays(np.int64, () if rows is None else (rows,), elements=st.integers(0, classes - 1)))
    key = (int(targets),) if rows is None else (np.arange(rows), targets)
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    logits = arr(draw, (classes,) if rows is None else (rows, classes))
    return (lambda a: apply("cross_entropy", (a,), {"key": key, "reduction": reduction})), [logits]


def jit_case(draw):
    """A jitted function, captured and checked, so that the calls under test replay its plan
    (the "jit" node's backward runs the captured rules, broadcasting undone by engine.fit)."""
    sa, sb = pair(draw)
    a, b = arr(draw, sa), arr(draw, sb)
    fn = autograd.jit(lambda x, y: (x * y).tanh() + (x - y) ** 2 * 0.5 + x.exp())
    for dtype in (np.float64, np.float32):  # one plan per signature: captured, then checked
        for _ in range(2):
            fn(Value(a.astype(dtype)), Value(b.astype(dtype)))
    return fn, [a, b]


CASES = [
    binary("add", lambda a, b: a + b),
    binary("add", lambda a, b: 1.5 + a + b * 0 + np.full(b.shape, 0.25, b.dtype), name="add_reflected"),
    binary("sub", lambda a, b: a - b),
    binary("sub", lambda a, b: 2.0 - a - b, name="sub_reflected"),
    binary("mul", lambda a, b: a * b),
    binary("mul", lambda a, b: np.full(b.shape, -1.5, b.dtype) * a * b, name="mul_reflected"),
    binary("div", lambda a, b: a / b, ("any", "away")),
    binary("div", lambda a, b: 3.0 / b + a, ("any", "away"), name="div_reflected"),
    unary("neg", lambda a: -a),
    Case("pow", "pow", pow_case),
    binary("pow_value", lambda a, b: a ** b, ("pos", "any")),
    binary("pow_value", lambda a, b: 2.0 ** b + a, ("any", "any"), name="pow_value_reflected"),
    unary("exp", lambda a: a.exp()),
    unary("log", lambda a: a.log(), "pos"),
    unary("sqrt", lambda a: a.sqrt(), "pos"),
    unary("tanh", lambda a: a.tanh()),
    unary("sigmoid", lambda a: a.sigmoid()),
    unary("relu", lambda a: a.relu(), "away"),
    unary("abs", lambda a: abs(a), "away"),
    reduction("sum"),
    reduction("mean"),
    reduction("max", "distinct"),
    reduction("logsumexp"),
    softmax_like("softmax", False),
    softmax_like("softmax", True),
    softmax_like("log_softmax", False),
    softmax_like("log_softmax", True),
    softmax_like("logsumexp", True),
    Case("broadcast_to", "broadcast_to", broadcast_case),
    Case("reshape", "reshape", reshape_case),
    Case("transpose", "transpose", transpose_case),
    Case("getitem", "getitem", getitem_case),
    Case("scatter", "scatter", scatter_case),
    Case("matmul", "matmul", matmul_case),
    Case("concat", "concat", concat_case),
    Case("stack", "stack", stack_case),
    Case("where", "where", where_case),
    Case("neuron", "neuron", neuron_case),
    Case("linear", "linear", linear_case),
    Case("cross_entropy", "cross_entropy", cross_entropy_case),
    Case("jit", "jit", jit_case),
]


def _more_cases():
    """Further op families keep their cases in tests/op_cases_<family>.py: a module with a
    CASES list built from the helpers above (Case, unary, binary, arr, ...)."""
    import importlib
    import pathlib
    for path in sorted(pathlib.Path(__file__).parent.glob("op_cases_*.py")):
        yield from importlib.import_module(path.stem).CASES


CASES += list(_more_cases())


def weighted(draw, case, dtype=np.float64):
    """The case's fn times random weights of its output's shape, plus its inputs."""
    fn, inputs = case.build(draw)
    inputs = [np.asarray(x, dtype=dtype) for x in inputs]
    out = fn(*[Value(x) for x in inputs])
    assert case.op in {n.op for n in topological_order(out)}, f"case {case} does not use op {case.op}"
    w = np.asarray(arr(draw, out.shape, "away"), dtype=dtype)  # |w| >= 0.3: every element counts
    return (lambda *xs: fn(*xs) * w), inputs


def test_every_op_has_a_case():
    assert set(OPS) - {c.op for c in CASES} == set()


@pytest.mark.parametrize("case", CASES, ids=str)
@given(data=st.data())
def test_gradcheck(case, data):
    fn, inputs = weighted(data.draw, case)
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("case", CASES, ids=str)
@given(data=st.data())
def test_float32_stays_float32(case, data):
    """float32 in -> float32 value and grads, matching the float64 computation."""
    fn, inputs = weighted(data.draw, case, np.float32)
    xs32 = [Value(x) for x in inputs]
    xs64 = [Value(x.astype(np.float64)) for x in inputs]
    out32, out64 = fn(*xs32), fn(*xs64)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.data, out64.data, rtol=1e-4, atol=1e-5)
    out32.sum().backward()
    out64.sum().backward()
    for x32, x64 in zip(xs32, xs64):
        assert x32.grad.dtype == np.float32 and x32.grad.shape == x32.shape
        np.testing.assert_allclose(x32.grad, x64.grad, rtol=1e-4, atol=1e-4)


SCALAR_FNS = {  # op: (fn, number of inputs, first input must be positive)
    "add": (lambda a, b: a + b + 1.0, 2, False),
    "sub": (lambda a, b: a - b - (1.0 - a), 2, False),
    "mul": (lambda a, b: a * b * 3.0, 2, False),
    "div": (lambda a, b: a / b + 1.0 / b, 2, False),
    "neg": (lambda a: -a, 1, False),
    "pow": (lambda a: a ** 3 + a ** 2.0, 1, False),
    "pow_value": (lambda a, b: a ** b + 2.0 ** b, 2, True),
    "exp": (lambda a: a.exp(), 1, False),
    "log": (lambda a: a.log(), 1, True),
    "sqrt": (lambda a: a.sqrt(), 1, True),
    "tanh": (lambda a: a.tanh(), 1, False),
    "sigmoid": (lambda a: a.sigmoid(), 1, False),
    "relu": (lambda a: a.relu(), 1, False),
    "abs": (lambda a: abs(a), 1, False),
    "neuron": (lambda w0, b: autograd.neuron(np.array([0.5, -1.0]), b, [w0, w0 * w0]), 2, False),
    "stack": (lambda a, b: autograd.stack([a, b, a * b]), 2, False),
}


@pytest.mark.parametrize("op", sorted(SCALAR_FNS))
@pytest.mark.parametrize("x", [-1.7, -0.4, 0.3, 2.2])
def test_scalar_fast_path(op, x):
    """Python floats in -> Python float data and grads, equal to finite differences."""
    fn, arity, positive = SCALAR_FNS[op]
    xs = [Value(abs(x) if positive and i == 0 else x * (i + 1) / 2 + 0.05) for i in range(arity)]
    assert all(type(v.data) is float for v in xs)
    out = fn(*xs)
    assert op in {n.op for n in topological_order(out)}
    if out.shape == ():
        assert type(out.data) is float
    (out.sum() if out.shape else out).backward()
    assert all(type(v.grad) is float for v in xs)
    assert gradcheck(fn, xs)


def test_kinks_and_ties_have_defined_gradients():
    """relu/abs at 0 give 0; tied maxima share the gradient equally over several axes or all
    (x.max(), torch.amax) and over one axis go to the first (torch.max(x, dim))."""
    z = Value(np.array([-1.0, 0.0, 2.0]))
    (z.relu() + abs(z)).sum().backward()
    np.testing.assert_array_equal(z.grad, [-1.0, 0.0, 2.0])
    m = Value(np.array([[1.0, 3.0, 3.0], [5.0, 5.0, 5.0]]))
    m.max(axis=(1,)).sum().backward()
    np.testing.assert_allclose(m.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    m.zero_grad()
    m.max(axis=1).sum().backward()
    np.testing.assert_allclose(m.grad, [[0, 1, 0], [1, 0, 0]])
    m.zero_grad()
    m.max().backward()
    np.testing.assert_allclose(m.grad, [[0, 0, 0], [1 / 3, 1 / 3, 1 / 3]])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_a_scalar(op):
    """A single element is its own softmax (1.0; log 0.0): the gradient is exactly 0."""
    x = Value(0.7)
    out = getattr(x, op)()
    assert out.data == (1.0 if op == "softmax" else 0.0)
    (out * 3.0).backward()
    assert x.grad == 0.0
