"""A replay's memory plan (autograd.jit.plan): the hottest ops' forward and rule as numpy calls
with out=, writing into one buffer per slot that every replay reuses, written as lines of the
generated replay (codegen.py) by each kernel's `forward` and `rule`. Each kernel gives the same
bits as the op's table entry (the same ufuncs and BLAS calls in the same order); only where the
result lands changes.

A buffer is only handed to a slot nobody outside the replay can hold: not the result, not a
gradient that becomes a .grad, and only read by ops listed in SAFE (whose forward and rule
never return their inputs, their output or their upstream gradient, or views of them).
"""
from __future__ import annotations

import numpy as np

from .. import alignment
from ..ops.network import SHORT, _cross_entropy, _weight_grad, input_grad_copy

# ops whose forward and rule make new arrays from what they read (no pass-through, no views)
SAFE = {"linear", "tanh", "relu", "sigmoid", "cross_entropy"}


class Placer:
    """Makes the plan's buffers, each starting at its own place within a 4 KiB page, away from the
    arrays it will meet. An elementwise op whose input and output start at the same offset modulo
    4 KiB runs at about half speed on x86 ("4K aliasing": a load looks like it depends on an earlier
    store): np.multiply on two (32, 128) arrays took 2.2 us into such a buffer, 1.2 us into another.
    malloc gives arrays of one size nearly the same offset, so a hand-written step meets it often."""

    PAGE, LINE = 4096, alignment.LINE

    def __init__(self, arrays=()):
        self.taken = [a.ctypes.data % self.PAGE for a in arrays if type(a) is np.ndarray]

    def empty(self, shape, dtype, avoid=()):
        """np.empty(shape, dtype) starting as far as can be from the offsets taken and `avoid`'s."""
        dtype = np.dtype(dtype)
        taken = self.taken + [a.ctypes.data % self.PAGE for a in avoid]

        def gap(c):  # the distance to the nearest offset taken, round the page
            return min([min((c - t) % self.PAGE, (t - c) % self.PAGE) for t in taken] or [self.PAGE])
        offset = max(range(0, self.PAGE, self.LINE), key=gap)
        self.taken.append(offset)
        return alignment.empty(shape, dtype, offset=offset, modulo=self.PAGE)

    def empty_like(self, a):
        """A buffer of a's shape, dtype and layout (a column-major weight's: w -= buffer across layouts
        is ~10x slower), away from a's own offset."""
        if a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous:
            return self.empty(a.shape[::-1], a.dtype, [a]).T
        return self.empty(a.shape, a.dtype, [a])

    def like(self, template):
        """A buffer of a slot's shape and dtype (template: the plan's zero-stride stand-in)."""
        return self.empty(template.shape, template.dtype)


class Linear:
    """x @ wᵀ (+ b) on a 2-D x and its rule, as network._linear and _linear_grad: the product
    into the slot's buffer and the bias added in place; gradients into buffers where given.
    `transposed`: a buffer for a contiguous copy of wᵀ, made each replay, for small float32
    products (see `direct`)."""

    # rows·in·out up to which a float32 x @ wᵀ runs as x @ (a contiguous copy of wᵀ): OpenBLAS's
    # direct sgemm path (no packing) takes only untransposed operands. (32, 64) @ (64, 128): 9.5 ->
    # 4.2 us, the copy 2.9 us; at (32, 128) @ (128, 128) the copy (9.5 us) costs more than it saves
    DIRECT = 32 * 64 * 128

    def __init__(self, out, grads, ones, transposed=None, column_major=False, g_copy=None, w_copy=None):
        self.out, self.grads, self.ones = out, grads, ones  # ones: the bias gradient as ones @ g
        self.transposed = transposed
        # a column-major weight (nn.Layer's where autograd.blas picks that layout): gW made in its layout, and
        # g @ W on g copied column-major or on W copied row-major where network.input_grad_copy says (as the
        # eager rule, bit for bit)
        self.column_major, self.g_copy, self.w_copy = column_major, g_copy, w_copy

    @classmethod
    def direct(cls, rows, w) -> bool:
        """Is x @ wᵀ's float32 product small enough for the copy to pay (DIRECT), and bit for bit the
        same with the copy? Checked on random numbers, x C- and F-ordered: BLAS picks its kernels by
        shape and layout, not by value, so one product per layout tells."""
        if w.dtype != np.float32 or w.ndim != 2 or rows * w.size > cls.DIRECT:
            return False
        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((rows, w.shape[1]), np.float32), rng.standard_normal(w.shape, np.float32)
        wt = np.ascontiguousarray(w.T)
        return all(np.array_equal(x @ w.T, x @ wt) for x in (x, np.asfortranarray(x)))

    def _into(self, src, j):
        buffer = self.grads[j]
        return "" if buffer is None else f", {src.const('B', buffer)}"

    def forward(self, src, o, ins, attrs):
        if self.transposed is not None:  # wᵀ copied (w changes every step), then the direct product
            t = src.const("B", self.transposed)
            src.emit(f"copyto({t}, {ins[1]}.T); {o} = matmul({ins[0]}, {t}, {src.const('B', self.out)})")
        else:
            src.emit(f"{o} = matmul({ins[0]}, {ins[1]}.T, {src.const('B', self.out)})")
        if len(ins) == 3:
            src.emit(f"add({o}, {ins[2]}, {o})")

    def rule(self, src, g, o, ins, attrs, names, depth, seed=None):
        if names[0] and self.g_copy is not None:  # (none for an input batch: one matrix product less)
            c = src.const("B", self.g_copy)
            src.emit(f"copyto({c}, {g}); {names[0]} = matmul({c}, {ins[1]}{self._into(src, 0)})", depth)
        elif names[0] and self.w_copy is not None:
            c = src.const("B", self.w_copy)
            src.emit(f"copyto({c}, {ins[1]}); {names[0]} = matmul({g}, {c}{self._into(src, 0)})", depth)
        elif names[0]:
            src.emit(f"{names[0]} = matmul({g}, {ins[1]}{self._into(src, 0)})", depth)
        if names[1] and self.column_major:  # (a leaf's: no buffer)
            src.emit(f"{names[1]} = {src.const('F', _weight_grad)}({g}, {ins[0]}, {ins[1]})", depth)
        elif names[1]:
            src.emit(f"{names[1]} = matmul({g}.T, {ins[0]}{self._into(src, 1)})", depth)
        if len(ins) == 3 and names[2]:
            # as network.column_sums: the bits of the eager step's bias gradient
            src.emit(f"{names[2]} = matmul({src.const('B', self.ones)}, {g}{self._into(src, 2)})", depth)


class Elementwise:
    """tanh and relu: the forward into the slot's buffer; the rule (given a buffer for the
    gradient) g·(1 - out²) or g·(a > 0), as the table's, without an array per step."""

    def __init__(self, op, out, grad):
        self.op, self.out, self.grad = op, out, grad
        self.mask = None if op != "relu" or grad is None else np.empty(grad.shape, bool)

    def forward(self, src, o, ins, attrs):
        call = "tanh({}, {})" if self.op == "tanh" else "maximum({}, 0, out={})"  # (maximum: out= by name)
        src.emit(f"{o} = " + call.format(ins[0], src.const("B", self.out)))

    def rule(self, src, g, o, ins, attrs, names, depth, seed=None):
        t = src.const("B", self.grad)
        if self.op == "tanh":  # np.square: the bits of out·out, ~1 us less than np.multiply at (32, 128)
            src.emit(f"square({o}, {t}); subtract(1.0, {t}, {t}); {names[0]} = multiply({g}, {t}, {t})", depth)
        else:
            mask = src.const("B", self.mask)
            src.emit(f"greater({ins[0]}, 0, {mask}); {names[0]} = multiply({g}, {mask}, {t})", depth)


class CrossEntropy:
    """cross_entropy on (rows, classes) logits, "mean" or "sum", as network._cross_entropy and its
    rule with every array but a[key] in a buffer; the softmax kept in one for the rule. The check
    that the row maxima are finite is made on the loss instead (two calls less): a loss that is
    not finite (an infinite or NaN maximum always gives one) is computed again by the table.
    `alone`: the rule runs at most once a replay (one backward), so it may work in the softmax's
    own buffer."""

    def __init__(self, a, reduction, grad, place, alone=False):
        n, dtype = a.shape[0], a.dtype
        self.n, self.alone = (n if reduction == "mean" else 1), alone
        self.top, self.sums, self.lse = (place.empty((n, 1), dtype) for _ in range(3))
        self.rows, self.softmax, self.grad = place.empty(n, dtype), place.empty(a.shape, dtype), grad
        # the logits transposed, for the row maxima of short rows (see forward)
        self.columns = place.empty(a.shape[::-1], dtype) if a.shape[1] <= SHORT else None
        self.number = float if dtype == np.float64 else np.asarray  # as Plan.forward keeps it

        def again(a, key):
            loss, e = _cross_entropy(a, key, reduction)
            self.softmax[...] = e
            return self.number(loss)
        self.again = again

    def forward(self, src, o, ins, attrs):
        a, key = ins[0], attrs["key"]
        top, sums, lse, rows, e = (src.const("B", b) for b in (self.top, self.sums, self.lse, self.rows, self.softmax))
        if self.columns is not None:
            # short rows' maxima as a maximum down the columns of a transposed copy: numpy reduces a short
            # last axis row by row (f32 (32, 10): 2.3 -> 1.2 us, (256, 10): 14 -> 2.2 us); a maximum is
            # exact, so the same numbers (a NaN row gives a NaN loss: computed again by the table)
            columns = src.const("B", self.columns)
            src.emit(f"copyto({columns}, {a}.T)")
            src.emit(f"maximum.reduce({columns}, axis=0, out={src.const('B', self.top[:, 0])})")
        else:
            src.emit(f"maximum.reduce({a}, axis=-1, keepdims=True, out={top})")
        src.emit(f"exp(subtract({a}, {top}, {e}), {e})")
        src.emit(f"add.reduce({e}, axis=-1, keepdims=True, out={sums})")
        src.emit(f"add(log({sums}, {lse}), {top}, {lse})  # logsumexp(a), then minus a[target]:")
        src.emit(f"subtract({src.const('B', self.lse[:, 0])}, {a}[{key}], {rows})")
        src.emit(f"{o} = add.reduce({rows}, axis=None) / {self.n}")
        src.emit(f"if _isfinite({o}):")
        src.emit(f"divide({e}, {sums}, {e}); {o} = {src.const('F', self.number)}({o})", 2)
        src.emit("else:")
        src.emit(f"{o} = {src.const('F', self.again)}({a}, {key})", 2)

    def rule(self, src, g, o, ins, attrs, names, depth, seed=None):
        scaled = f"{g} / {self.n}" if self.n != 1 else g
        if seed is not None:  # the loss's own backward: g / n once, here (a 0-d float32 division is ~1 us)
            scaled = src.const("S", seed / self.n if self.n != 1 else seed)
        softmax, into = src.const("B", self.softmax), "" if self.grad is None else f", {src.const('B', self.grad)}"
        if self.alone:  # softmax - onehot in the softmax's buffer, read by nobody after: no copy (0.4 us at (32, 10))
            src.emit(f"p = {softmax}; p[{attrs['key']}] -= 1; {names[0]} = multiply(p, {scaled}{into})", depth)
            return
        copy = f"p = {src.const('B', self.grad)}; p[...] = {softmax}" if self.grad is not None \
            else f"p = {softmax}.copy()"  # (a gradient that may be kept: its own array)
        src.emit(f"{copy}; p[{attrs['key']}] -= 1; {names[0]} = multiply(p, {scaled}, p)", depth)


def plan_memory(plan) -> None:
    """Give the plan's steps their kernels (step.kernel, step.rule) and buffers, after its first
    backward sorted each step's gradient targets into direct and general."""
    n_in, steps = plan.n_in, plan.steps
    place = Placer([node.data for node in plan.leaves])
    # the leaves' own arrays by slot (a template is a zero-stride stand-in: it has no layout)
    actual = {len(plan.makers) + k: node.data for k, node in enumerate(plan.leaves)}
    readers = {}  # slot -> the ops that read it
    for step in steps:
        for i in step.ins:
            readers.setdefault(i, set()).add(step.op.name)
    kept = {plan.result[1]} if plan.result[0] in ("slot", "detached") else set()
    for k, step in enumerate(steps):
        slot = n_in + k
        template, ins = plan.templates[slot].data, [plan.templates[i].data for i in step.ins]
        # a gradient buffer for input j: a direct target inside the graph whose own rule is a kernel
        direct = dict(step.direct)
        buffers = []
        for j, i in enumerate(step.ins):
            consumer = steps[i - n_in] if i >= n_in else None
            own = (j in direct and consumer is not None and consumer.op.name in SAFE
                   and type(plan.templates[i].data) is np.ndarray and plan.templates[i].data.ndim)
            buffers.append(place.like(plan.templates[i].data) if own else None)
        if step.op.name == "cross_entropy":  # (its loss is a new number each call: it may be the result)
            # (an empty batch keeps the table's rule: a nan mean and an empty gradient, no division by 0 rows)
            if (len(ins) == 1 and type(ins[0]) is np.ndarray and ins[0].ndim == 2 and ins[0].dtype.kind == "f"
                    and ins[0].size and step.attrs.get("reduction") in ("mean", "sum")):
                alone = sum(e[0] == "backward" for e in plan.events) == 1
                step.kernel = step.rule = CrossEntropy(ins[0], step.attrs["reduction"], buffers[0], place, alone)
            continue
        if type(template) is not np.ndarray or not template.ndim or step.attrs or step.bound:
            continue
        name, forward = step.op.name, slot not in kept and readers.get(slot, set()) <= SAFE
        # (one dtype throughout: with mixed ones the table's rule casts each gradient to its input's dtype)
        if name == "linear" and template.ndim == 2 and ins[0].ndim == 2 and all(type(t) is np.ndarray for t in ins) \
                and all(t.dtype == template.dtype for t in ins):
            w, rows = ins[1], template.shape[0]
            own = actual.get(step.ins[1])
            # the eager rule's own test (network._linear_grad: w.flags.f_contiguous), so a weight of one row or
            # one column, both C- and F-contiguous, takes its products too (else gW and g @ W differ in bits)
            column_major = type(own) is np.ndarray and own.flags.f_contiguous
            transposed = place.empty(w.shape[::-1], w.dtype) if (forward and not column_major and ins[0].dtype == w.dtype
                                                          == template.dtype and Linear.direct(rows, w)) else None
            copy = input_grad_copy(rows, w) if column_major else None  # (g @ W's, as network._input_grad's)
            w_copy = place.empty(w.shape, w.dtype) if copy == "W" else None
            g_copy = place.empty(template.shape[::-1], template.dtype).T if copy == "g" else None
            kernel = Linear(place.like(template) if forward else None, buffers, np.ones(rows, template.dtype),
                            transposed, column_major, g_copy, w_copy)
            step.kernel, step.rule = (kernel if forward else None), kernel
        elif name in ("tanh", "relu"):
            kernel = Elementwise(name, place.like(template) if forward else None, buffers[0])
            step.kernel, step.rule = (kernel if forward else None), (kernel if buffers[0] is not None else None)
