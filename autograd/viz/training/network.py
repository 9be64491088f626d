"""Draw a network as the textbook figure: layers of neurons, one edge per weight.

>>> import nn
>>> model = nn.MLP(2, [16, 16, 1], activation="relu", seed=0)
>>> g = network_view(model)                 # a render.Digraph: g.pipe(), g.render(...), Jupyter
>>> g.source.count("class=weight")          # 16-wide layers fold to 11 neurons + "… 5 more"
154
>>> network_view(model, max_neurons=16).source.count("class=weight")   # 2·16 + 16·16 + 16·1
304

Input, hidden and output layers run left to right, one circle per neuron. An
edge's width and opacity grow with |w| (relative to the largest |w| of its
layer, or to `scales`), blue for w > 0 and orange for w < 0, as in TensorFlow
Playground. A neuron's fill shows its bias (or, given `x`, its activation) in
the same colours. Layers wider than `max_neurons` fold: the first
max_neurons - 1 neurons are drawn and one box "… 120 more" stands for the rest,
with one dashed edge per drawn neuron (or box) it connects to.

Names are stable, so a player can restyle one layout: neuron `i` of layer `l`
is node `L{l}_n{i}` (layer 0 is the input), a folded box is `L{l}_more`, and the
weight[o, i] of dense layer `l` is the edge with id `L{l}_w{o}_{i}`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from autograd.mode import no_grad
from autograd.value import Value

from ..names import preview
from ..graph.render import Digraph

__all__ = ["network_view", "dense_layers", "DenseLayer", "copy_model", "edge_style", "neuron_fill"]

POSITIVE, NEGATIVE = "#1f6fb4", "#e8730c"   # blue for w > 0, orange for w < 0
FOLD_COLOR, INK, MUTED = "#9ca3af", "#111827", "#6b7280"
MIN_WIDTH, MAX_WIDTH, MIN_OPACITY = 0.35, 5.0, 0.18
ACTIVATION_NAMES = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "identity": "linear", "linear": "linear"}


@dataclass
class DenseLayer:
    """One fully connected layer as drawn: weight (nout, nin), bias (nout,) or None."""

    name: str                 # parameter prefix, e.g. "layers.0"
    weight: Value
    bias: Value | None
    activations: list = field(default_factory=list)   # e.g. ["relu"]; [] is linear
    modules: list = field(default_factory=list)       # the modules that compute it, in order

    @property
    def nin(self) -> int:
        return self.weight.shape[-1]

    @property
    def nout(self) -> int:
        return self.weight.shape[0] if self.weight.ndim == 2 else 1

    @property
    def activation(self) -> str:
        return "∘".join(reversed(self.activations)) or "linear"

    def weights(self) -> np.ndarray:
        return np.asarray(self.weight.data, dtype=np.float64).reshape(self.nout, self.nin)

    def biases(self) -> np.ndarray:
        if self.bias is None:
            return np.zeros(self.nout)
        return np.asarray(self.bias.data, dtype=np.float64).reshape(self.nout)


def _activation_of(module) -> str | None:
    """'relu' for a parameter-free ReLU()/Tanh()/Sigmoid()/Identity() module, else None."""
    if any(True for _ in module.named_parameters()):
        return None
    return ACTIVATION_NAMES.get(type(module).__name__.lower())


def dense_layers(model) -> list[DenseLayer]:
    """The model as a chain of dense layers: an MLP, a Sequential of Linear/Layer and
    activation modules (nested ones too), one Layer/Linear, or one Neuron."""
    if not hasattr(model, "named_parameters"):
        raise TypeError(f"network_view: expected an nn model (MLP, Sequential, Layer, Neuron), "
                        f"got {type(model).__name__}")
    layers: list[DenseLayer] = []

    def visit(module, prefix):
        weight = module.__dict__.get("weight")
        if isinstance(weight, Value) and weight.ndim in (1, 2):
            act = getattr(module, "activation", "linear")
            layers.append(DenseLayer(prefix.rstrip("."), weight, module.__dict__.get("bias"),
                                     [] if act in (None, "linear") else [act], [module]))
            return
        act = _activation_of(module)
        if act is not None:
            if not layers:
                raise TypeError(f"network_view: the activation {type(module).__name__} at "
                                f"{prefix.rstrip('.')!r} comes before any layer; a network must start "
                                "with a Linear/Layer")
            if act != "linear":
                layers[-1].activations.append(act)
            layers[-1].modules.append(module)
            return
        children = getattr(module, "_modules", None)
        if not children:
            raise TypeError(f"network_view draws chains of dense layers (MLP, Sequential of Linear/Layer "
                            f"and activations, Layer, Neuron); {type(module).__name__} at "
                            f"{prefix.rstrip('.') or 'the top'!r} is none of these")
        for name, child in children.items():
            visit(child, f"{prefix}{name}.")

    visit(model, "")
    if not layers:
        raise ValueError(f"network_view: {type(model).__name__} has no dense layer to draw")
    for before, after in zip(layers, layers[1:]):
        if before.nout != after.nin:
            raise ValueError(f"network_view: layer {before.name!r} gives {before.nout} outputs but "
                             f"{after.name!r} takes {after.nin} inputs; only chains of layers can be drawn")
    return layers


def copy_model(model):
    """A deep copy of `model` whose parameters are new leaf Values (copies of the data).

    Parameters are copied by hand (a Value's attrs mapping cannot be deep-copied),
    everything else by `copy.deepcopy`.
    """
    memo = {}
    for _, p in model.named_parameters():
        twin = Value(np.array(p.data) if type(p.data) is not float else p.data, label=p.label)
        memo[id(p)] = twin
    try:
        return copy.deepcopy(model, memo)
    except TypeError as error:
        raise TypeError(f"cannot copy {type(model).__name__} to load a snapshot into ({error}); "
                        "keep only parameters, sub-modules and plain Python values on the model") from None


def edge_style(w: float, scale: float) -> tuple[float, str, float]:
    """(penwidth, colour, opacity) of a weight's edge; the player's script mirrors this."""
    r = min(abs(w) / scale, 1.0) if scale > 0 else 0.0
    width, opacity = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * r, MIN_OPACITY + (1 - MIN_OPACITY) * r
    return width, POSITIVE if w >= 0 else NEGATIVE, opacity


def neuron_fill(v: float, scale: float) -> str:
    """White mixed towards blue (v > 0) or orange (v < 0) by |v| / scale; the script mirrors this."""
    r = 0.8 * (min(abs(v) / scale, 1.0) if scale > 0 else 0.0)
    target = POSITIVE if v >= 0 else NEGATIVE
    rgb = [round(255 + (int(target[k:k + 2], 16) - 255) * r) for k in (1, 3, 5)]
    return "#%02x%02x%02x" % tuple(rgb)


def _shown(n: int, max_neurons: int) -> tuple[list[int], int]:
    """Indices drawn and how many are folded away."""
    if n <= max_neurons:
        return list(range(n)), 0
    keep = max(max_neurons - 1, 1)
    return list(range(keep)), n - keep


def _short(v: float) -> str:
    """At most 4 characters and a sign, to fit in a neuron's circle: 0.51, -12, 3e+02."""
    v = float(v)
    if v == 0 or np.isnan(v):
        return "0" if v == 0 else "nan"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}" if abs(v) < 1000 else f"{v:.0e}"


def layer_activations(layers: list[DenseLayer], x) -> list[np.ndarray]:
    """Each layer's output for one input `x` (input first), computed by the model's own modules."""
    x = np.asarray(x.data if isinstance(x, Value) else x, dtype=np.float64)
    if x.size != layers[0].nin or x.ndim > 2 or (x.ndim == 2 and x.shape[0] != 1):
        raise ValueError(f"network_view: x must be one input of {layers[0].nin} numbers (shape "
                         f"({layers[0].nin},)), got shape {x.shape}; pick one row, e.g. X[0]")
    outputs, a = [x.reshape(-1)], Value(x.reshape(1, -1), requires_grad=False)
    with no_grad():
        for layer in layers:
            for module in layer.modules:
                a = module(a)
            outputs.append(np.asarray(a.data, dtype=np.float64).reshape(-1))
    return outputs


def _layer_title(index: int, count: int, layer: DenseLayer | None, width: int) -> str:
    if layer is None:
        return f"input\n{width}"
    kind = "output" if index == count else f"hidden {index}"
    return f"{kind}\n{width} · {layer.activation}"


def _caption(show_grads: bool, has_x: bool) -> str:
    if show_grads:
        edges = "edge width: |∂L/∂w| relative to its layer · blue ∂L/∂w > 0 (descent lowers w) · orange < 0"
    else:
        edges = "edge width: |w| relative to its layer · blue w > 0 · orange w < 0"
    return f"{edges}\nneuron fill: {'activation for x' if has_x else 'bias'} · hover for numbers"


def network_view(model, x=None, show_grads: bool = False, max_neurons: int = 12,
                 scales=None, title: str | None = None) -> Digraph:
    """A graphviz drawing of `model`'s neurons and weights (see the module docstring).

    x: one input; each neuron then shows (and is filled by) its activation for x.
    show_grads: edges show each weight's gradient ∂L/∂w (after `loss.backward()`)
        instead of the weight; every tooltip holds both numbers.
    max_neurons: layers wider than this fold into max_neurons - 1 neurons and a box.
    scales: the magnitude that gets the full edge width, one per dense layer
        (default: each layer's largest), so several drawings can share one scale.
    """
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, (int, np.integer)) or max_neurons < 2:
        raise ValueError(f"network_view: max_neurons={max_neurons!r}; give a whole number >= 2")
    layers = dense_layers(model)
    weights = [layer.weights() for layer in layers]
    grads = [np.asarray(layer.weight.grad, dtype=np.float64).reshape(w.shape) for layer, w in zip(layers, weights)]
    drawn = grads if show_grads else weights
    if scales is None:
        scales = [float(np.abs(d).max()) for d in drawn]
    elif len(scales) != len(layers):
        raise ValueError(f"network_view: got {len(scales)} scales for {len(layers)} dense layers")
    values = layer_activations(layers, x) if x is not None else None
    widths = [layers[0].nin] + [layer.nout for layer in layers]
    shown = [_shown(n, max_neurons) for n in widths]

    g = Digraph("network", graph_attr={
        "rankdir": "LR", "splines": "line", "nodesep": "0.06", "ranksep": "1.3", "bgcolor": "white",
        "fontname": "Helvetica", "fontsize": "9", "fontcolor": MUTED, "pad": "0.1",
        "label": (f"{title}\n" if title else "") + _caption(show_grads, x is not None), "labelloc": "b"})
    g.attr("node", shape="circle", fixedsize="true", width="0.42", fontname="Helvetica", fontsize="8",
           style="filled", color="#475569", penwidth="0.8", fontcolor=INK)
    g.attr("edge", arrowhead="none")
    for l, (indices, folded) in enumerate(shown):
        _layer_nodes(g, l, layers, widths[l], indices, folded, values, show_grads, max_neurons)
    for l, layer in enumerate(layers, start=1):
        w, grad, d, scale = weights[l - 1], grads[l - 1], drawn[l - 1], scales[l - 1]
        (ins, in_folded), (outs, out_folded) = shown[l - 1], shown[l]
        for o in outs:
            for i in ins:
                width, color, opacity = edge_style(d[o, i], scale)
                tip = f"{layer.name}.weight[{o}, {i}] = {preview(w[o, i])}\n∂L/∂w = {preview(grad[o, i])}"
                g.edge(f"L{l - 1}_n{i}", f"L{l}_n{o}", id=f"L{l}_w{o}_{i}", penwidth=f"{width:.3f}",
                       color=f"{color}{round(opacity * 255):02x}", tooltip=tip, **{"class": "weight"})
        _fold_edges(g, l, d, ins, outs, in_folded, out_folded)
    return g


def _layer_nodes(g, l, layers, width, indices, folded, values, show_grads, max_neurons):
    """Layer `l` as one rank: its title, its drawn neurons, its fold box, in that order.

    Invisible edges keep that order top to bottom (graphviz-pure ignores rank=same
    inside clusters, so the layers are plain ranks, not cluster boxes).
    """
    layer = layers[l - 1] if l else None
    biases = layer.biases() if layer is not None else None
    bias_scale = float(np.abs(biases).max()) if biases is not None else 0.0
    act_scale = float(np.abs(values[l]).max()) if values is not None else 0.0
    with g.subgraph(name=f"layer{l}") as c:
        c.attr(rank="same")
        c.node(f"L{l}_title", _layer_title(l, len(layers), layer, width), shape="plaintext",
               fixedsize="false", style="", fontsize="10", fontcolor=MUTED)
        names = [f"L{l}_title"]
        for i in indices:
            label, fill = (f"x{i}" if l == 0 else ""), "#ffffff"
            tip = [f"neuron {i} of {repr(layer.name) if layer else 'the input'}"]
            if layer is not None:
                tip.append(f"bias = {preview(biases[i])}")
                fill = neuron_fill(biases[i], bias_scale)
                if show_grads and layer.bias is not None:
                    tip.append(f"∂L/∂b = {preview(np.ravel(layer.bias.grad)[i])}")
            if values is not None:
                label = _short(values[l][i])
                tip.append(f"activation = {preview(values[l][i])}")
                fill = neuron_fill(values[l][i], act_scale)
            c.node(f"L{l}_n{i}", label, id=f"L{l}_n{i}", tooltip="\n".join(tip), fillcolor=fill)
            names.append(f"L{l}_n{i}")
        if folded:
            c.node(f"L{l}_more", f"… {folded} more", id=f"L{l}_more", shape="box", fixedsize="false",
                   style="rounded,dashed", color=FOLD_COLOR, fontcolor=MUTED, fontsize="9",
                   tooltip=f"{folded} neurons of this layer are not drawn (max_neurons={max_neurons})")
            names.append(f"L{l}_more")
        for upper, lower in zip(names, names[1:]):
            c.edge(upper, lower, style="invis")


def _fold_edges(g, l, d, ins, outs, in_folded, out_folded):
    """One dashed edge per pair (drawn neuron or box, box) summarising the hidden weights."""
    pairs = []
    if in_folded:
        pairs += [(f"L{l - 1}_more", f"L{l}_n{o}", d[o, len(ins):]) for o in outs]
    if out_folded:
        pairs += [(f"L{l - 1}_n{i}", f"L{l}_more", d[len(outs):, i]) for i in ins]
    if in_folded and out_folded:
        pairs.append((f"L{l - 1}_more", f"L{l}_more", d[len(outs):, len(ins):]))
    for tail, head, hidden in pairs:
        g.edge(tail, head, style="dashed", color=FOLD_COLOR, penwidth="0.8",
               tooltip=f"{hidden.size} folded weights, mean |value| = {preview(np.abs(hidden).mean())}",
               **{"class": "fold"})
