"""Value's arithmetic operators (+ - * / ** neg // % @): two Python floats take a direct path.

Each operator records the op table's entry of its name (`add`, `mul`, ...). When both operands
are Python floats (a scalar Value's data, or a number mixed in) and no thread is inside
no_grad()/detect_anomaly(), the operator computes the float itself and makes the node with
`value._node1`/`_node2`: the same arithmetic as the table's forward, without apply2's lookup
of the entry and call of its forward (100k-op expression: ~0.26 us of ~0.6 us per op).
Anything else (arrays, a zero divisor, a power math.pow refuses) goes through the table.
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from . import value as _value  # (value imports this module first; its names are read at call time)
from .arguments import check_matmul
from .details import PLAIN, power
from .mode import ALTERED

if TYPE_CHECKING:
    from .value import Value


class Arithmetic:
    """The arithmetic operators of `autograd.Value` (a base class: Value holds the data)."""

    __slots__ = ()
    data: object

    def __add__(self, other) -> Value:
        a = self.data
        if type(a) is float and not ALTERED[0]:
            if type(other) is _value.Value:
                if type(other.data) is float:
                    return _value._node2("add", a + other.data, self, other)
            elif type(other) is float or type(other) is int:
                b = float(other)
                return _value._node2("add", a + b, self, _value._new(b))
        return _value.apply2("add", self, other)

    def __radd__(self, other) -> Value:  # only ever a number first: a Value first calls __add__
        b = self.data
        if (type(other) is float or type(other) is int) and type(b) is float and not ALTERED[0]:
            a = float(other)
            return _value._node2("add", a + b, _value._new(a), self)
        return _value.apply2("add", other, self)

    def __sub__(self, other) -> Value:
        a = self.data
        if type(a) is float and not ALTERED[0]:
            if type(other) is _value.Value:
                if type(other.data) is float:
                    return _value._node2("sub", a - other.data, self, other)
            elif type(other) is float or type(other) is int:
                b = float(other)
                return _value._node2("sub", a - b, self, _value._new(b))
        return _value.apply2("sub", self, other)

    def __rsub__(self, other) -> Value:
        b = self.data
        if (type(other) is float or type(other) is int) and type(b) is float and not ALTERED[0]:
            a = float(other)
            return _value._node2("sub", a - b, _value._new(a), self)
        return _value.apply2("sub", other, self)

    def __mul__(self, other) -> Value:
        a = self.data
        if type(a) is float and not ALTERED[0]:
            if type(other) is _value.Value:
                if type(other.data) is float:
                    return _value._node2("mul", a * other.data, self, other)
            elif type(other) is float or type(other) is int:
                b = float(other)
                return _value._node2("mul", a * b, self, _value._new(b))
        return _value.apply2("mul", self, other)

    def __rmul__(self, other) -> Value:
        b = self.data
        if (type(other) is float or type(other) is int) and type(b) is float and not ALTERED[0]:
            a = float(other)
            return _value._node2("mul", a * b, _value._new(a), self)
        return _value.apply2("mul", other, self)

    def __truediv__(self, other) -> Value:  # a zero divisor: the table's forward (inf/nan, not an error)
        a = self.data
        if type(a) is float and not ALTERED[0]:
            if type(other) is _value.Value:
                if type(other.data) is float and other.data:
                    return _value._node2("div", a / other.data, self, other)
            elif (type(other) is float or type(other) is int) and other:
                b = float(other)
                return _value._node2("div", a / b, self, _value._new(b))
        return _value.apply2("div", self, other)

    def __rtruediv__(self, other) -> Value:
        b = self.data
        if (type(other) is float or type(other) is int) and type(b) is float and b and not ALTERED[0]:
            a = float(other)
            return _value._node2("div", a / b, _value._new(a), self)
        return _value.apply2("div", other, self)

    def __pow__(self, other) -> Value:
        if type(other) is int or type(other) is float:  # skips two ABC isinstance checks (~0.5 us of ~1.5)
            a = self.data
            if type(a) is float and not ALTERED[0]:
                try:  # the pow entry's float forward, without its call through **attrs (~0.7 us)
                    out = math.pow(a, other)
                except (ValueError, OverflowError, ZeroDivisionError):
                    return _value.apply1("pow", self, {"exponent": other})
                return _value._node1(power(other), out, self)  # (a record per exponent, shared: see autograd.details)
            return _value.apply1("pow", self, {"exponent": other})
        if isinstance(other, _value.Value):
            return _value.apply2("pow_value", self, other)
        if not isinstance(other, numbers.Real):
            raise TypeError(f"exponent must be a number or a Value, got {type(other).__name__}")
        other = int(other) if isinstance(other, numbers.Integral) else float(other)
        return _value.apply1("pow", self, {"exponent": other})

    def __rpow__(self, other) -> Value:
        return _value.apply2("pow_value", other, self)

    def __neg__(self) -> Value:
        a = self.data
        if type(a) is float and not ALTERED[0]:
            return _value._node1(PLAIN["neg"], -a, self)
        return _value.apply1("neg", self)

    def __floordiv__(self, other) -> Value:  # PyTorch's gradient: 0 (see the floor_divide entry)
        return _value.apply2("floor_divide", self, other)

    def __rfloordiv__(self, other) -> Value:
        return _value.apply2("floor_divide", other, self)

    def __mod__(self, other) -> Value:  # Python's % (sign of the divisor), as torch.remainder
        return _value.apply2("remainder", self, other)

    def __rmod__(self, other) -> Value:
        return _value.apply2("remainder", other, self)

    def __matmul__(self, other) -> Value:
        return _value.apply("matmul", check_matmul(self, _value.const(other)))

    def __rmatmul__(self, other) -> Value:
        return _value.apply("matmul", check_matmul(_value.const(other), self))
