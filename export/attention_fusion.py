"""Fusing self-attention that adds a bias to its scores, which onnxruntime's optimizer leaves
unfused, into ``com.microsoft.MultiHeadAttention``.

MPNet (the ``mpnet-base`` backbone) adds a relative-position bias, computed once for all
layers, to every layer's attention scores before the padding mask. onnxruntime's BERT
attention fusion does not match that extra ``Add``, and its quantisable ``Attention`` /
``QAttention`` kernels take no such bias. Each layer's unfused attention (a dozen
``Reshape``/``Transpose``/``MatMul``/``Div``/``Add``/``Softmax`` nodes) is therefore rewritten
into one ``MultiHeadAttention`` node, whose CPU kernel takes the bias and the mask summed into
one ``attention_bias`` input (one ``Add``, shared by every layer that adds the same terms). Its
query, key and value projections, three ``MatMul`` + ``Add`` over the same input, become one
packed ``MatMul`` + ``Add`` and a ``Split``: after int8 quantisation that is one
``DynamicQuantizeMatMul`` reading the input once instead of three.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MS_DOMAIN = "com.microsoft"
_SCORES_PERM = {"query": [0, 2, 1, 3], "key": [0, 2, 3, 1], "value": [0, 2, 1, 3]}


def graph_constants(model: Any) -> dict[str, Any]:
    """Initializers and ``Constant`` node values (``TensorProto``) by tensor name."""
    constants = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = node.attribute[0].t
    return constants


class _Graph:
    """Producer / reader / constant lookups over an ONNX graph."""

    def __init__(self, model: Any) -> None:
        graph = model.graph
        self.producer = {out: node for node in graph.node for out in node.output}
        self.readers: dict[str, list[Any]] = {}
        for node in graph.node:
            for name in node.input:
                self.readers.setdefault(name, []).append(node)
        self._tensors = graph_constants(model)
        self._arrays: dict[str, np.ndarray] = {}

    def constant(self, tensor: str) -> np.ndarray | None:
        """``tensor``'s value if it is a constant (converted on first use: the weights are
        only read for the projections that get packed), else None."""
        if tensor not in self._arrays and tensor in self._tensors:
            from onnx import numpy_helper

            self._arrays[tensor] = numpy_helper.to_array(self._tensors[tensor])
        return self._arrays.get(tensor)

    def op(self, tensor: str, op_type: str) -> Any | None:
        node = self.producer.get(tensor)
        return node if node is not None and node.op_type == op_type else None

    def scalar(self, tensor: str) -> float | None:
        value = self.constant(tensor)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _heads(graph: _Graph, tensor: str, perm: list[int]) -> tuple[str, int | None] | None:
    """``(projection output, heads)`` for ``tensor = Transpose(Reshape(projection), perm)``,
    where the ``Reshape`` splits the hidden size into heads (the head count read from a constant
    or ``Concat`` shape where it can be, else None)."""
    transpose = graph.op(tensor, "Transpose")
    if transpose is None or list(_attr(transpose, "perm", [])) != perm:
        return None
    reshape = graph.op(transpose.input[0], "Reshape")
    if reshape is None:
        return None
    shape = graph.constant(reshape.input[1])
    if shape is None:
        concat = graph.op(reshape.input[1], "Concat")
        names = list(concat.input) if concat is not None else []
        parts = [part for name in names[1:] if (part := graph.constant(name)) is not None]
        if len(names) == 4 and len(parts) == 3:  # [batch, -1, heads, head size]
            shape = np.concatenate([np.array([0])] + [np.reshape(part, -1) for part in parts])
    if shape is not None and np.size(shape) != 4:
        return None
    heads = int(np.reshape(shape, -1)[2]) if shape is not None else None
    return reshape.input[0], heads


def _scores(graph: _Graph, tensor: str) -> tuple[list[str], float, Any] | None:
    """``(bias terms, scale, QK^T MatMul)`` for a softmax input ``(Q K^T) / c + b1 + b2 ...``."""
    biases: list[str] = []
    while (add := graph.op(tensor, "Add")) is not None:
        inner = [name for name in add.input if _scores(graph, name) is not None]
        if len(inner) != 1:
            return None
        biases.append(add.input[1] if add.input[0] == inner[0] else add.input[0])
        tensor = inner[0]
    node = graph.producer.get(tensor)
    if node is None or node.op_type not in ("Div", "Mul"):
        return None
    constant = graph.scalar(node.input[1])
    matmul = graph.op(node.input[0], "MatMul")
    if constant is None or constant == 0 or matmul is None:
        return None
    scale = 1.0 / constant if node.op_type == "Div" else constant
    return biases, scale, matmul


def _attention(graph: _Graph, softmax: Any) -> dict[str, Any] | None:
    """The parts of one unfused biased self-attention around ``softmax``, or None."""
    if _attr(softmax, "axis", -1) not in (-1, 3):
        return None
    found = _scores(graph, softmax.input[0])
    if found is None or not found[0]:
        return None
    biases, scale, scores = found
    readers = graph.readers.get(softmax.output[0], [])
    if len(readers) != 1 or readers[0].op_type != "MatMul" or readers[0].input[0] != softmax.output[0]:
        return None
    context = readers[0]
    query = _heads(graph, scores.input[0], _SCORES_PERM["query"])
    key = _heads(graph, scores.input[1], _SCORES_PERM["key"])
    value = _heads(graph, context.input[1], _SCORES_PERM["value"])
    after = graph.readers.get(context.output[0], [])
    if (query is None or key is None or value is None or len(after) != 1
            or after[0].op_type != "Transpose" or list(_attr(after[0], "perm", [])) != [0, 2, 1, 3]):
        return None
    readers = graph.readers.get(after[0].output[0], [])
    merge = [node for node in readers if node.op_type == "Reshape"]
    if len(merge) != 1 or any(node.op_type not in ("Reshape", "Shape") for node in readers):
        return None  # the shapes that unfused exports compute for that Reshape die with it
    heads = {h for _, h in (query, key, value) if h is not None}
    return {"q": query[0], "k": key[0], "v": value[0], "biases": biases, "scale": scale,
            "heads": heads, "output": merge[0]}


def _projection(graph: _Graph, tensor: str) -> tuple[str, np.ndarray, np.ndarray] | None:
    """``(input, weight, bias)`` for ``tensor = MatMul(input, weight) + bias`` with constant
    ``[in, out]`` weight and ``[out]`` bias, each read by this projection alone."""
    add = graph.op(tensor, "Add")
    if add is None:
        return None
    for b, m in ((0, 1), (1, 0)):
        bias, matmul = graph.constant(add.input[b]), graph.op(add.input[m], "MatMul")
        if bias is None or matmul is None or len(graph.readers.get(add.input[m], [])) != 1:
            continue
        weight = graph.constant(matmul.input[1])
        if weight is not None and weight.ndim == 2 and bias.shape == (weight.shape[1],):
            return matmul.input[0], weight, bias
    return None


def _pack_projections(graph: _Graph, node: Any, nodes: list[Any], inits: list[Any]) -> bool:
    """Feed ``node``'s query, key and value from one packed projection and a ``Split`` (its
    nodes and weights appended to ``nodes`` and ``inits``)."""
    from onnx import helper, numpy_helper

    parts = [part for i in range(3) if (part := _projection(graph, node.input[i])) is not None]
    if len(parts) != 3 or len({part[0] for part in parts}) != 1:
        return False
    weights = [part[1] for part in parts]
    if len({w.shape for w in weights}) != 1:
        return False
    stem = node.name
    inits.extend([
        numpy_helper.from_array(np.concatenate(weights, axis=1), f"{stem}/qkv.weight"),
        numpy_helper.from_array(np.concatenate([part[2] for part in parts]), f"{stem}/qkv.bias"),
        numpy_helper.from_array(np.array([weights[0].shape[1]] * 3, np.int64), f"{stem}/qkv.split"),
    ])
    nodes.extend([
        helper.make_node("MatMul", [parts[0][0], f"{stem}/qkv.weight"],
                         [f"{stem}/qkv/MatMul_output_0"], name=f"{stem}/qkv/MatMul"),
        helper.make_node("Add", [f"{stem}/qkv/MatMul_output_0", f"{stem}/qkv.bias"],
                         [f"{stem}/qkv/Add_output_0"], name=f"{stem}/qkv/Add"),
        helper.make_node("Split", [f"{stem}/qkv/Add_output_0", f"{stem}/qkv.split"],
                         [f"{stem}/query", f"{stem}/key", f"{stem}/value"],
                         name=f"{stem}/qkv/Split", axis=-1),
    ])
    node.input[0], node.input[1], node.input[2] = f"{stem}/query", f"{stem}/key", f"{stem}/value"
    return True


def _attention_bias(terms: tuple[str, ...], hidden: str, index: int, nodes: list[Any],
                    inits: list[Any]) -> str:
    """The sum of ``terms`` broadcast to ``[batch or 1, heads or 1, tokens, tokens]`` (the
    shape ``MultiHeadAttention`` takes: a padding mask alone is ``[batch, 1, 1, tokens]``),
    with the tokens read from ``hidden`` ``[batch, tokens, ...]``; appends its nodes and
    constants to ``nodes`` and ``inits``."""
    from onnx import helper, numpy_helper

    stem = f"fairguard_attention_bias_{index}"
    total = terms[0]
    for k, term in enumerate(terms[1:]):
        nodes.append(helper.make_node("Add", [total, term], [f"{stem}_{k}"], name=f"{stem}_{k}/Add"))
        total = f"{stem}_{k}"
    inits.extend([
        numpy_helper.from_array(np.array([1], np.int64), f"{stem}/token_axis"),
        numpy_helper.from_array(np.array([1, 1], np.int64), f"{stem}/ones"),
    ])
    nodes += [
        helper.make_node("Shape", [hidden], [f"{stem}/shape"], name=f"{stem}/Shape"),
        helper.make_node("Gather", [f"{stem}/shape", f"{stem}/token_axis"], [f"{stem}/tokens"],
                         name=f"{stem}/Gather", axis=0),
        helper.make_node("Concat", [f"{stem}/ones", f"{stem}/tokens", f"{stem}/tokens"],
                         [f"{stem}/square"], name=f"{stem}/Concat", axis=0),
        helper.make_node("Expand", [total, f"{stem}/square"], [stem], name=f"{stem}/Expand"),
    ]
    return stem


def fuse_biased_attention(model: Any, num_heads: int = 0) -> int:
    """Rewrite, in place, each unfused self-attention that adds bias terms to its scaled scores
    into one ``MultiHeadAttention`` node (query, key and value projections packed into one
    ``MatMul`` where they read the same input); returns how many were rewritten.

    ``num_heads``: the model's attention heads (0: read from the graph's head-splitting
    ``Reshape``). An attention whose head count cannot be told, or whose parts are read by
    other nodes, is left as it is.
    """
    from onnx import helper

    graph = _Graph(model)
    found = [(node, parts) for node in model.graph.node if node.op_type == "Softmax"
             and (parts := _attention(graph, node)) is not None]
    added: list[Any] = []
    constants: list[Any] = []
    replaced: set[int] = set()
    combined: dict[tuple[str, ...], str] = {}
    count = 0
    for _, parts in found:
        heads = num_heads or (min(parts["heads"]) if len(parts["heads"]) == 1 else 0)
        if heads <= 0 or (parts["heads"] and parts["heads"] != {heads}):
            continue
        terms = tuple(parts["biases"])
        if terms not in combined:
            projection = _projection(graph, parts["q"])  # its input outlives the projection
            tokens_of = projection[0] if projection is not None else parts["q"]
            combined[terms] = _attention_bias(terms, tokens_of, len(combined), added, constants)
        name = f"fairguard_attention_{count}/MultiHeadAttention"
        node = helper.make_node("MultiHeadAttention",
                                [parts["q"], parts["k"], parts["v"], "", "", combined[terms]],
                                list(parts["output"].output), name=name, domain=MS_DOMAIN,
                                num_heads=heads, scale=float(parts["scale"]))
        _pack_projections(graph, node, added, constants)
        added.append(node)
        replaced.add(id(parts["output"]))
        count += 1
    if not count:
        return 0
    nodes = [node for node in model.graph.node if id(node) not in replaced] + added
    ready = {init.name for init in model.graph.initializer}
    ready.update(init.name for init in constants)
    ordered = _live(_topological(nodes, model, ready), model)  # raises before any change
    model.graph.initializer.extend(constants)
    del model.graph.node[:]
    model.graph.node.extend(ordered)
    if not any(entry.domain == MS_DOMAIN for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    used = {name for node in model.graph.node for name in node.input}
    used.update(out.name for out in model.graph.output)
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return count


def _live(nodes: list[Any], model: Any) -> list[Any]:
    """``nodes`` (in topological order) without those whose outputs nothing reads."""
    wanted = {out.name for out in model.graph.output}
    live: list[Any] = []
    for node in reversed(nodes):
        if any(out in wanted for out in node.output):
            live.append(node)
            wanted.update(node.input)
    live.reverse()
    return live


def _topological(nodes: list[Any], model: Any, constants: set[str]) -> list[Any]:
    """``nodes`` in an order where each runs after what it reads (stable otherwise)."""
    ready = constants | {i.name for i in model.graph.input} | {""}
    ordered: list[Any] = []
    pending = nodes
    while pending:
        waiting = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            raise ValueError(f"{len(waiting)} nodes read tensors that nothing produces")
        pending = waiting
    return ordered
