"""A Value is eight pointers; op, attrs, label, hooks, saved arrays and a third input live in one
Details record that plain nodes share (autograd/details.py). Sharing must never leak a change from
one node to another."""
import copy
import pickle
import sys

import numpy as np
import pytest

from autograd import Value, functional
from autograd.details import LEAF, PLAIN, Details


def test_a_node_is_eight_pointers():
    # 16 bytes of object header, 8 slots, 16 bytes of GC header: the 96-byte size class (see details.py)
    assert len(Value.__slots__) == 8
    assert sys.getsizeof(Value(1.0)) <= 96
    assert not hasattr(Value(1.0), "__dict__")


def test_plain_nodes_share_their_ops_details():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    assert (a * b)._details is (b * c)._details is PLAIN["mul"]
    assert (a + 2)._details is PLAIN["add"]
    assert Value(4.0)._details is LEAF
    assert (a * b).op == "mul" and (a * b).attrs == {} and (a * b).label == ""


def test_a_label_set_on_one_node_stays_on_it():
    a, b = Value(1.0), Value(2.0)
    x, y = a * b, b * a
    x.label = "x"
    assert (x.label, y.label, (a * a).label) == ("x", "", "")
    assert PLAIN["mul"].label == "" and x.op == "mul"
    x.label = "renamed"
    assert x.label == "renamed"
    x.label = 3  # a name given as a number is shown as one; None is no label
    assert x.label == "3"
    x.label = None
    assert x.label == "" and x._details is PLAIN["mul"]


def test_powers_share_per_exponent_and_keep_ints_apart_from_floats():
    x = Value(1.5)
    p2, q2, p2f = x ** 2, (x + 1) ** 2, x ** 2.0
    assert p2._details is q2._details
    assert p2.attrs == {"exponent": 2} and type(p2.attrs["exponent"]) is int
    assert type(p2f.attrs["exponent"]) is float and p2f._details is not p2._details
    with pytest.raises(TypeError, match="other nodes may share them"):
        p2.attrs["exponent"] = 3  # read-only: the record is shared
    assert copy.deepcopy(p2.attrs) == pickle.loads(pickle.dumps(p2.attrs)) == {"exponent": 2}
    p2.label = "square"
    assert q2.label == "" and q2.attrs == {"exponent": 2}
    q2.backward()
    assert x.grad == pytest.approx(2 * 2.5)


def test_a_hook_on_one_node_is_not_called_for_another_sharing_its_record():
    a, b = Value(1.0), Value(2.0)
    x, y = a * b, a * b
    calls = []
    x.register_hook(lambda g: calls.append("x"))
    x.register_hook(lambda g: calls.append("x2"))
    assert y._details is PLAIN["mul"] and PLAIN["mul"].extra is None
    y.backward()
    assert calls == []
    x.backward()
    assert calls == ["x", "x2"]


def test_three_inputs_are_in_order_in_parents():
    x = Value(np.ones((2, 3)))
    w, bias = Value(np.ones((4, 3))), Value(np.zeros(4))
    z = functional.linear(x, w, bias)
    assert z.parents == (x, w, bias) and z._p0 is None
    z.sum().backward()
    np.testing.assert_array_equal(bias.grad, [2.0] * 4)


def test_pickle_keeps_op_attrs_label_and_inputs():
    x = Value(np.arange(6.0).reshape(2, 3), label="x")
    s = x.sum(axis=0)
    s.label = "column sums"
    back = pickle.loads(pickle.dumps(s))
    assert (back.op, dict(back.attrs), back.label) == ("sum", dict(s.attrs), "column sums")
    assert back.parents[0].label == "x"
    np.testing.assert_array_equal(back.data, s.data)
    with pytest.raises(TypeError):  # (a record pickle may have restored for several nodes)
        back.attrs["axis"] = 1


def test_a_value_pickled_before_the_details_record_loads():
    v = Value.__new__(Value)
    parent = Value(2.0, label="p")
    v.__setstate__({"data": 4.0, "_grad": None, "label": "sq", "op": "pow", "_p0": parent, "_p1": None,
                    "_pn": None, "_depth": 1, "attrs": {"exponent": 2}, "requires_grad": True, "_extra": None})
    assert (v.op, v.label, v.attrs, v.parents) == ("pow", "sq", {"exponent": 2}, (parent,))
    v.backward()
    assert parent.grad == 4.0


def test_deepcopy_keeps_labels_and_inputs_and_drops_hooks():
    x = Value(np.ones((2, 3)), label="x")
    w, bias = Value(np.ones((4, 3))), Value(np.zeros(4))
    z = functional.linear(x, w, bias)
    z.label = "z"
    z.register_hook(lambda g: None)
    out = z.tanh()
    twin = copy.deepcopy(out)
    zc = twin.parents[0]
    assert zc.label == "z" and zc.op == "linear" and zc._details.extra is None
    assert [p.label for p in zc.parents] == ["x", "", ""] and zc.parents[0] is not x
    assert z._details.extra is not None  # the original keeps its hook


def test_details_replace_leaves_the_original():
    d = Details("sum", label="a")
    e = d.replace(label="b")
    assert (d.label, e.label, e.op) == ("a", "b", "sum")
    assert "sum" in repr(e)


def test_labels_of_plain_nodes_share_a_record_per_op_and_label():
    a, b = Value(1.0), Value(2.0)
    x, y = a * b, b * a
    x.label = y.label = "product"
    assert x._details is y._details and x._details is not PLAIN["mul"]
    y.label = "other"
    assert (x.label, y.label) == ("product", "other")
    y.label = ""
    assert y._details is PLAIN["mul"]
    assert Value(1.0, label="w")._details is Value(2.0, label="w")._details
    s = a.tanh()
    s.register_hook(lambda g: None)
    s.label = "hooked"  # a record with hooks is the node's own: never shared
    assert s._details.extra["hooks"] and s._details is not x._details and s.label == "hooked"
