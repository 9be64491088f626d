"""A float rule that `engine.backprop` runs without the op table's call: a neuron's rule for one
row of a weight matrix (div's and pow's are written out in backprop's float loop)."""
from __future__ import annotations

import numpy as np


def neuron_row(g, node, grads, rows, shared, queue, owned):
    """neuron's rule for row j of a weight matrix W (example mode), its contributions added in
    place: W's gradient row j += g·x, the bias's entry j += g, each input x_i += g·W[j, i]. The
    rule scatters g·x into a fresh W-shaped array per neuron (the moons in example mode: 3,300
    neurons a step, 105 -> 48 ms a step); these are the same sums in the same order. Only
    arrays this backward made are added into in place (rows, and backprop's `owned`: a fresh
    rule's result, which may already be W's .grad), never another rule's result. An input
    getting its first gradient goes into its depth's bucket: queue(depth, []) (see backprop)."""
    pn = node._p1 if node._p0 is None else (node._p0, node._p1)  # (W, b, x0, ...): see Value.__slots__
    w, b, *xs = pn
    row = node._details.attrs["row"]
    # a layer's neurons share one parents tuple (functional.neurons) and one weight matrix: their
    # inputs' numbers and W's rows as floats are made once per backward (moons, example mode: ~8%)
    xv = shared.get(id(pn))
    if xv is None:
        xv = shared[id(pn)] = np.array([x.data for x in xs])
    wrows = shared.get(id(w))
    if wrows is None:
        wrows = shared[id(w)] = w.data.tolist()
    for p in (w, b):
        if not p.requires_grad:
            continue
        mine, prev = rows.get(p), grads.get(p)
        if prev is not None and prev is not mine and p in owned:
            mine = rows[p] = prev  # backprop's own array (a fresh rule's, maybe already p's .grad): added into
        elif prev is None or prev is not mine:
            # (zeros_like: in W's layout, a column-major one too (autograd.blas), as the batch rule's gradient)
            mine = rows[p] = np.zeros_like(p.data) if prev is None else np.array(prev)
            grads[p] = mine
            if prev is None:
                queue(p._depth, []).append(p)
        mine[row] += g * xv if p is w else g
    for x, wi in zip(xs, wrows[row]):
        if x.requires_grad:
            prev = grads.get(x)
            if prev is None:
                grads[x] = g * wi
                queue(x._depth, []).append(x)
            else:
                grads[x] = prev + g * wi
