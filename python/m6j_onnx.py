"""
Runs an ONNX graph with numpy, for checking an export of m6j_load.M6ForPrefixLM where onnxruntime is not installed
(Debian 12 packages onnx 1.12, which has no runtime or reference evaluator, and no onnxruntime).

    from m6j_onnx import run
    logits, = run("model.onnx", {"images": ..., "tokens": ..., "prefix": ...})

It reads the file with the onnx package, checks it (onnx.checker), and evaluates the nodes in order with the ONNX
operator semantics of the ops torch.onnx emits for this model (opset 14). An op it does not know raises an error
naming it; it is not a general runtime.
"""
import math

import numpy as np
import onnx
from onnx import numpy_helper


def _axes(a, nd):
    return tuple(int(x) % nd for x in np.asarray(a).reshape(-1))


def _reduce(fn):
    def op(x, axes=None, keepdims=1, noop_with_empty_axes=0, **attrs):
        axes = attrs.get("axes_attr", axes)
        if axes is None or np.asarray(axes).size == 0:
            return fn(x, axis=None, keepdims=bool(keepdims)) if not noop_with_empty_axes else x
        return fn(x, axis=_axes(axes, x.ndim), keepdims=bool(keepdims))
    return op


def _slice(x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else _axes(axes, x.ndim)
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        idx[a] = slice(int(s), int(min(max(e, -2 ** 62), 2 ** 62)), int(st))
    return x[tuple(idx)]


def _topk(x, k, axis=-1, largest=1, sorted=1):
    k = int(np.asarray(k).reshape(-1)[0])
    order = np.argsort(-x if largest else x, axis=axis, kind="stable")   # ties: the lower index first, as ONNX
    idx = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


def _one_hot(indices, depth, values, axis=-1):
    depth = int(np.asarray(depth).reshape(-1)[0])
    ind = np.where(indices < 0, indices + depth, indices)
    hot = np.expand_dims(ind, axis if axis >= 0 else ind.ndim + 1 + axis) == np.arange(depth).reshape(
        [depth if i == (axis % (ind.ndim + 1)) else 1 for i in range(ind.ndim + 1)])
    return np.where(hot, values[1], values[0]).astype(values.dtype)


def _cumsum(x, axis, exclusive=0, reverse=0):
    a = int(np.asarray(axis).reshape(-1)[0])
    y = np.flip(x, a) if reverse else x
    y = np.cumsum(y, axis=a, dtype=x.dtype)
    if exclusive:
        y = y - (np.flip(x, a) if reverse else x)
    return np.flip(y, a) if reverse else y


def _scatter_elements(data, indices, updates, axis=0, reduction="none"):
    out = data.copy()
    ax = axis % data.ndim
    idx = list(np.indices(indices.shape))
    idx[ax] = np.where(indices < 0, indices + data.shape[ax], indices)
    out[tuple(idx)] = updates                     # later updates win on duplicate indices, as a sequential loop
    return out


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _argmax(x, axis=0, keepdims=1, select_last_index=0):
    if select_last_index:
        i = x.shape[axis] - 1 - np.argmax(np.flip(x, axis), axis=axis)
    else:
        i = np.argmax(x, axis=axis)                                     # the first of equal maxima
    return (np.expand_dims(i, axis) if keepdims else i).astype(np.int64)


_erf = np.vectorize(math.erf, otypes=[np.float64])

OPS = {
    "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
    "Div": lambda a, b: (a // b) if np.issubdtype(a.dtype, np.integer) else a / b,
    "Pow": lambda a, b: np.power(a, b).astype(a.dtype), "Sqrt": np.sqrt,
    "Erf": lambda x: _erf(x).astype(x.dtype), "MatMul": np.matmul,
    "Mod": lambda a, b, fmod=0: np.fmod(a, b) if fmod else np.mod(a, b),
    "Not": np.logical_not, "Or": np.logical_or, "Less": np.less, "LessOrEqual": np.less_equal, "Equal": np.equal,
    "Where": np.where, "Identity": lambda x: x,
    "Cast": lambda x, to: x.astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[to]),
    "Concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "Gather": lambda x, i, axis=0: np.take(x, np.where(i < 0, i + x.shape[axis], i), axis=axis),
    "GatherElements": lambda x, i, axis=0: np.take_along_axis(x, np.where(i < 0, i + x.shape[axis], i), axis=axis),
    "Gemm": lambda a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0: alpha * ((a.T if transA else a) @ (b.T if transB else b)) + (0 if c is None else beta * c),
    "Reshape": lambda x, s, allowzero=0: x.reshape([x.shape[i] if (d == 0 and not allowzero) else int(d) for i, d in enumerate(s)]),
    "Transpose": lambda x, perm=None: np.transpose(x, perm),
    "Unsqueeze": lambda x, axes: np.expand_dims(x, _axes(axes, x.ndim + np.asarray(axes).size)),
    "Squeeze": lambda x, axes=None: np.squeeze(x, None if axes is None else _axes(axes, x.ndim)),
    "Slice": _slice, "TopK": _topk, "OneHot": _one_hot, "CumSum": _cumsum, "ScatterElements": _scatter_elements,
    "Softmax": _softmax, "ArgMax": _argmax, "Shape": lambda x: np.array(x.shape, dtype=np.int64),
    "Expand": lambda x, s: x * np.ones(tuple(int(d) for d in s), dtype=x.dtype),
    "ConstantOfShape": lambda s, value=None: np.full(tuple(int(d) for d in s), 0 if value is None else numpy_helper.to_array(value).reshape(-1)[0]),
    "ReduceSum": _reduce(np.sum), "ReduceMean": _reduce(np.mean), "ReduceMax": _reduce(np.max),
}


def run(path, feeds):
    """The graph's outputs (a list of numpy arrays) for feeds {input name: numpy array}."""
    model = onnx.load(path)
    onnx.checker.check_model(model)
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env.update(feeds)
    for node in g.node:
        attrs = {}
        for a in node.attribute:
            v = onnx.helper.get_attribute_value(a)
            attrs[a.name] = v.decode() if isinstance(v, bytes) else v
        if node.op_type == "Constant":
            env[node.output[0]] = numpy_helper.to_array(attrs["value"])
            continue
        if node.op_type not in OPS:
            raise NotImplementedError("m6j_onnx: op %s (node %s) is not implemented" % (node.op_type, node.name))
        if node.op_type in ("ReduceMean", "ReduceMax", "ReduceSum") and "axes" in attrs:   # an attribute before opset 18
            attrs["axes_attr"] = attrs.pop("axes")
        args = [env[i] if i else None for i in node.input]
        while args and args[-1] is None:
            args.pop()
        out = OPS[node.op_type](*args, **attrs)
        outs = out if isinstance(out, tuple) else (out,)
        for name, value in zip(node.output, outs):
            env[name] = np.asarray(value)
    return [env[o.name] for o in g.output]
