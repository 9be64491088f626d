"""Convert a custom tracegrad Module (its own `forward`) to torch by recording its forward on an example.

`trace(module, example, torch)` runs `module(example)` in tracegrad, walks the recorded
graph and emits a `torch.fx.GraphModule` that replays it with torch ops (nn.torch_ops):
the module's parameters keep their names (so the state dicts load into each other), numbers
made inside forward become buffers, and the replay is checked against tracegrad on the
example and on a second, different input. Like torch.jit.trace, one path is recorded: Python
branches on the input's values and shapes given to reshape are fixed by the example.

Refused, with the class and the obstacle named: an op with no torch equivalent, a Value made
from the input's numbers (`.data`, numpy) outside the graph, a mask or index computed from
the input (e.g. `where`'s cond), and outputs that are not Values.
"""
from __future__ import annotations

import numpy as np

from autograd.engine import topological_order
from autograd.mode import enable_grad
from autograd.value import Value


class ConversionError(TypeError):
    """A module cannot be converted to torch; the message names its class and the obstacle."""


def _inputs(example) -> tuple:
    items = example if isinstance(example, tuple) else (example,)
    return tuple(np.array(x.data if isinstance(x, Value) else x, dtype=np.float64) for x in items)


def _record(module, arrays):
    """(output Values as a tuple, every node in topological order, the input leaves)."""
    leaves = tuple(Value(a.copy()) for a in arrays)
    with enable_grad():
        out = module(*leaves)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    name = type(module).__name__
    for o in outs:
        if not isinstance(o, Value):
            raise ConversionError(f"to_torch: {name}.forward returned a {type(o).__name__}, not a Value "
                                  "(or a tuple of Values); only Value outputs can be replayed with torch")
    return tuple(outs), topological_order(list(outs)), leaves


def _describe(node) -> str:
    label = f" {node.label!r}" if getattr(node, "label", "") else ""
    return f"a Value{label} of shape {np.shape(node.data)}"


def _find_input_dependence(module, nodes1, nodes2, known) -> str | None:
    """What in the two recordings (different inputs) changed outside the graph, or None."""
    name = type(module).__name__
    if [n.op for n in nodes1] != [n.op for n in nodes2]:
        return (f"{name}.forward records different ops for different inputs (Python control flow on "
                "the input's values), so no single torch graph replays it")
    for a, b in zip(nodes1, nodes2):
        if not a.parents and id(a) not in known and not np.array_equal(a.data, b.data):
            users = [n.op for n in nodes1 if any(p is a for p in n.parents)]
            return (f"{name}.forward makes {_describe(a)} from the input's numbers outside the graph (with "
                    f".data or numpy; used by op {users[0]!r}); compute it with Value ops instead")
        for key, value in (a.attrs or {}).items():
            other = (b.attrs or {}).get(key)
            if isinstance(value, np.ndarray) and not np.array_equal(value, other):
                return (f"{name}.forward computes op {a.op!r}'s {key} from the input's numbers (numpy, not a "
                        "recorded op), so a replay would keep the example's; compute it with Value ops")
    return None


def _tensor(torch, value):
    # order="C": a contiguous tensor, as torch's own parameters (nn.Layer's weight may be column-major: autograd.blas)
    return torch.from_numpy(np.array(value, dtype=np.float64 if np.asarray(value).dtype.kind == "f"
                                     else np.asarray(value).dtype, order="C"))


def _set_path(torch, root, dotted: str, tensor, parameter: bool):
    """Put `tensor` at `root.<dotted>`, creating plain torch Modules for the dots."""
    *parents, leaf = dotted.split(".")
    owner = root
    for part in parents:
        if not hasattr(owner, part):
            owner.add_module(part, torch.nn.Module())
        owner = getattr(owner, part)
    if parameter:
        owner.register_parameter(leaf, torch.nn.Parameter(tensor))
    else:
        owner.register_buffer(leaf, tensor)


def trace(module, example, torch):
    """A torch.fx.GraphModule replaying `module`'s forward, with `module`'s weights (see module doc)."""
    from .torch_ops import TORCH_OPS

    name = type(module).__name__
    params = {id(p): key for key, p in module.named_parameters()}
    arrays = _inputs(example)
    outs, nodes, leaves = _record(module, arrays)
    missing = sorted({n.op for n in nodes if n.parents and n.op not in TORCH_OPS})
    if missing:
        raise ConversionError(f"to_torch: {name}.forward uses op {missing[0]!r}, which has no torch replay "
                              f"(nn.torch_ops knows {', '.join(sorted(TORCH_OPS))}); register a converter for "
                              f"{name} with @nn.torch_bridge.converts({name}) instead")
    other = tuple(a * 1.37 + 0.29 for a in arrays)  # a second input, different in every entry
    outs2, nodes2, _ = _record(module, other)
    obstacle = _find_input_dependence(module, nodes, nodes2, set(params) | {id(leaf) for leaf in leaves})
    if obstacle:
        raise ConversionError("to_torch: " + obstacle)

    graph, root, env, consts = torch.fx.Graph(), torch.nn.Module(), {}, [0]
    for i, leaf in enumerate(leaves):
        env[id(leaf)] = graph.placeholder(f"x{i}" if len(leaves) > 1 else "x")

    def constant(value):
        key = f"_const{consts[0]}"
        consts[0] += 1
        _set_path(torch, root, key, _tensor(torch, value), parameter=False)
        return graph.get_attr(key)

    def literal(value):
        if isinstance(value, np.ndarray):
            return constant(value)
        if isinstance(value, tuple):
            return tuple(literal(v) for v in value)
        if isinstance(value, np.generic):
            return value.item()
        return value

    for node in nodes:
        if id(node) in env:
            continue
        if not node.parents:
            if id(node) in params:
                env[id(node)] = graph.get_attr(params[id(node)])
            else:
                env[id(node)] = constant(node.data)
            continue
        kwargs = {k: literal(v) for k, v in (node.attrs or {}).items()}
        env[id(node)] = graph.call_function(TORCH_OPS[node.op], tuple(env[id(p)] for p in node.parents), kwargs)
    graph.output(env[id(outs[0])] if len(outs) == 1 else tuple(env[id(o)] for o in outs))
    for key, p in module.named_parameters():
        _set_path(torch, root, key, _tensor(torch, p.data), parameter=True)
    replay = torch.fx.GraphModule(root, graph, class_name=name)
    for i in range(consts[0]):  # numbers made inside forward: buffers, but not part of the state dict
        key = f"_const{i}"
        tensor = getattr(replay, key)
        delattr(replay, key)
        replay.register_buffer(key, tensor, persistent=False)
    for key, p in module.named_parameters():  # unused parameters too: the state dicts keep the same keys
        if key not in dict(replay.named_parameters()):
            _set_path(torch, replay, key, _tensor(torch, p.data), parameter=True)
    _check(replay, module, arrays, outs, torch)
    _check(replay, module, other, outs2, torch)
    return replay


def _check(replay, module, arrays, outs, torch):
    with torch.no_grad():
        got = replay(*(torch.from_numpy(a) for a in arrays))
    got = got if isinstance(got, tuple) else (got,)
    for g, o in zip(got, outs):
        if not np.allclose(g.numpy(), o.data, rtol=1e-9, atol=1e-12, equal_nan=True):
            raise ConversionError(f"to_torch: the torch replay of {type(module).__name__}.forward does not match "
                                  "tracegrad on the example (max difference "
                                  f"{np.nanmax(np.abs(g.numpy() - o.data)):.3g}); please report it")
