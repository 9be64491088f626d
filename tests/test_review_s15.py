"""Review of the Details refactor (2ea6cc7 + eae9533): node records shared per op / exponent / label."""
import copy
import math
import pickle

import numpy as np

from autograd import Value
from autograd.ops import OPS


def test_pow_negative_zero_exponent_is_not_taken_from_the_positive_zero_record():
    # details.power caches float exponents in a dict: 0.0 == -0.0 (same hash), so whichever of
    # x ** 0.0 and x ** -0.0 is made first lends its exponent to the other
    x = Value(2.0)
    pos, neg = x ** 0.0, x ** -0.0
    assert str(pos.attrs["exponent"]) == "0.0"
    assert str(neg.attrs["exponent"]) == "-0.0"   # what the user wrote (and what an array x records)
    assert OPS["pow"].describe(neg.attrs) == OPS["pow"].describe((Value(np.array([2.0])) ** -0.0).attrs)


def test_pow_node_attrs_copy_like_other_ops_attrs():
    # before the refactor x ** 2's attrs were a plain dict (deepcopy / pickle worked, as they still do
    # for x.sum(axis=0) and for an array's x ** 2); now the scalar fast path hands out a mappingproxy
    s = Value(np.ones(3)) ** 2
    p = Value(2.0) ** 2
    assert copy.deepcopy(s.attrs) == {"exponent": 2}
    assert copy.deepcopy(p.attrs) == {"exponent": 2}
    assert pickle.loads(pickle.dumps(p.attrs)) == {"exponent": 2}


def test_neuron_with_a_non_str_name_still_runs_like_layer():
    # the label setter now refuses non-str labels; nn.Neuron.forward does `z.label = self.name`
    # (nn.Layer formats f"{name}.z", so Layer(name=0) works); before the refactor both ran
    import nn
    layer_out = nn.Layer(3, 1, name=0, seed=0)([1.0, 2.0, 3.0])
    assert layer_out.label == "0.n0.out"
    y = nn.Neuron(3, name=0, seed=0)([1.0, 2.0, 3.0])
    assert y.label == "0.out"
