"""Count the multiply-adds (and parameters) of a Keras model, layer by layer.

The count is read from each layer's configuration, weights and the shapes of
its inputs and outputs in the model's graph; nothing is run and no profiler
is used. All numbers are **per image** (batch size 1).

One *multiply-add* (MAC) is one ``a * b + c`` of a weight product: a 3x3
convolution from 64 to 64 channels does ``3 * 3 * 64 * 64`` of them at every
output position. Hardware vendors and papers often quote FLOPs instead; one
multiply-add is two FLOPs. What is counted:

- ``Conv1D/2D/3D`` (any ``strides``, ``padding``, ``dilation_rate``,
  ``groups``: the kernel holds ``c_in / groups`` input channels) and
  ``DepthwiseConv``: kernel size times output positions; ``SeparableConv``:
  depthwise plus pointwise; ``ConvTranspose``: kernel size times *input*
  positions.
- ``Dense`` on inputs of any rank (once per position), ``EinsumDense``.
- ``SimpleRNN``, ``LSTM``, ``GRU`` (also inside ``RNN`` and
  ``Bidirectional``): per time step, the input kernel and the recurrent
  kernel, times the number of steps.
- ``keras.layers.MultiHeadAttention`` and :class:`cvtutor.layers.SelfAttention`:
  the four projections plus the two products without weights, ``Q K^T``
  (``T_q * T_k * key_dim`` per head) and ``A V`` (``T_q * T_k * value_dim``
  per head); :class:`cvtutor.layers.TransformerBlock`: its attention plus its
  two-layer MLP; :class:`cvtutor.layers.PatchEmbedding`: its convolution.
- ``keras.ops.matmul`` used directly in a functional graph.
- Nested models (functional or ``Sequential``) are expanded; their rows are
  named ``outer/inner``.

What counts zero: element-wise work (activations, residual additions, the
softmax, dropout), pooling, reshaping, and the normalization layers
(``BatchNormalization``, ``LayerNormalization``, ...). Normalization costs a
few operations per value, which is small next to a convolution or dense
layer, and at inference batch norm folds into the preceding convolution.
Biases are additions and count zero. Embedding lookups (``Embedding``,
:class:`~cvtutor.layers.ClassToken`, :class:`~cvtutor.layers.PositionEmbedding`)
count zero, and so does the ``LayerScale`` of ``keras.applications``' ConvNeXt
models (a learned per-channel multiplication, element-wise work).

A layer of an unknown kind that has weights raises a ``ValueError`` naming
it, rather than being counted as zero; an unknown layer without weights
counts zero (it can only do element-wise or shape work, or work this module
cannot see, which its weights would reveal)::

    from cvtutor.flops import layer_table, multiply_adds
    model = build_cnn()
    multiply_adds(model)          # per 32x32 image
    layer_table(model)[0]         # {"name": "conv2d", "kind": "Conv2D", ...}
"""

from __future__ import annotations

import math

import keras
from keras import layers

from cvtutor import checks

__all__ = ["multiply_adds", "layer_table"]

# Layers without multiply-adds that have weights: normalization and embeddings.
_ZERO_WITH_WEIGHTS = (
    layers.BatchNormalization,
    layers.LayerNormalization,
    layers.GroupNormalization,
    layers.Embedding,
)
# Element-wise layers with weights that Keras does not export, known by module and class name.
_ELEMENTWISE_WITH_WEIGHTS = {("keras.src.applications.convnext", "LayerScale")}
_RNN_CELLS = (layers.SimpleRNNCell, layers.LSTMCell, layers.GRUCell)


def _prod(values) -> int:
    return int(math.prod(int(v) for v in values))


def _known(layer, shape, what):
    """``shape`` without its batch axis, checked to be fully known."""
    shape = tuple(shape)
    if len(shape) < 1 or any(s is None for s in shape[1:]):
        raise ValueError(
            f"layer '{layer.name}' ({type(layer).__name__}) has an {what} shape {shape} with unknown "
            "sizes; multiply-adds need every size but the batch known (give the model's Input a full shape)"
        )
    return tuple(int(s) for s in shape[1:])


def _size(variable) -> int:
    return _prod(variable.shape)


def _spatial(layer, shape, what):
    """The spatial sizes of a ``channels_last`` / ``channels_first`` feature map."""
    dims = _known(layer, shape, what)
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return dims[1:]
    return dims[:-1]


def _attention_macs(tq, tk, tv, q_kernel, k_kernel, v_kernel, o_kernel, heads, key_dim, value_dim, tk_attended):
    """Projections (tokens x kernel size) plus Q K^T and A V.

    ``tq``, ``tk``, ``tv``: positions of query, key and value; ``tk_attended``:
    the key positions each query position attends to.
    """
    projections = tq * _size(q_kernel) + tk * _size(k_kernel) + tv * _size(v_kernel) + tq * _size(o_kernel)
    products = tq * tk_attended * heads * (key_dim + value_dim)
    return projections + products


def _self_attention_macs(layer, tokens):
    t = tokens[0]
    return _attention_macs(
        t, t, t,
        layer.query_kernel, layer.key_kernel, layer.value_kernel, layer.output_kernel,
        layer.num_heads, layer.key_dim, layer.value_dim, t,
    )


def _mha_macs(layer, node):
    args = list(node.arguments.args)
    kwargs = node.arguments.kwargs
    query = args[0] if args else kwargs["query"]
    value = args[1] if len(args) > 1 else kwargs["value"]
    key = args[2] if len(args) > 2 else kwargs.get("key")
    key = value if key is None else key
    q = _known(layer, query.shape, "query")
    k = _known(layer, key.shape, "key")
    v = _known(layer, value.shape, "value")
    # _attention_axes index the projected shape (batch, *positions, heads, dim).
    axes = tuple(layer._attention_axes)
    k_attended = _prod(k[a - 1] for a in axes)
    q_kernel = layer._query_dense.kernel
    v_kernel = layer._value_dense.kernel
    return _attention_macs(
        _prod(q[:-1]), _prod(k[:-1]), _prod(v[:-1]),
        q_kernel, layer._key_dense.kernel, v_kernel, layer._output_dense.kernel,
        int(q_kernel.shape[-2]), int(q_kernel.shape[-1]), int(v_kernel.shape[-1]), k_attended,
    )


def _einsum_dense_macs(layer, in_shape):
    """The product of the sizes of every index of the equation, the batch index left out."""
    inputs, rest = layer.equation.split(",")
    kernel_spec, output_spec = rest.split("->")
    dims = _known(layer, in_shape, "input")
    sizes = {}
    if inputs.startswith("..."):
        letters = inputs[3:]
        free = dims[: len(dims) - len(letters)]  # ellipsis axes after the batch axis
        letter_dims = dims[len(free):]
        extra = _prod(free)
    else:
        letters, letter_dims, extra = inputs[1:], dims, 1  # the first letter is the batch axis
    sizes.update(zip(letters, letter_dims))
    sizes.update(zip(kernel_spec, layer.kernel.shape))
    return extra * _prod(sizes[c] for c in sorted(set(sizes)))


def _rnn_step_macs(layer):
    """Multiply-adds of one time step of a recurrent layer (input and recurrent kernels)."""
    if isinstance(layer, layers.Bidirectional):
        return _rnn_step_macs(layer.forward_layer) + _rnn_step_macs(layer.backward_layer)
    cell = getattr(layer, "cell", None)
    if not isinstance(cell, _RNN_CELLS):
        raise ValueError(
            f"layer '{layer.name}' ({type(layer).__name__}) has a cell of kind {type(cell).__name__}; "
            "multiply_adds counts SimpleRNN, LSTM and GRU cells only"
        )
    return _size(cell.kernel) + _size(cell.recurrent_kernel)


def _layer_macs(layer, node):
    """Multiply-adds of one call (``node``) of ``layer``, per image; None if unknown."""
    from cvtutor.layers import ClassToken, PatchEmbedding, PositionEmbedding, SelfAttention, TransformerBlock
    from cvtutor.whitening import PatchWhitening

    in_shape = node.input_tensors[0].shape if node.input_tensors else None
    out_shape = node.outputs[0].shape

    if isinstance(layer, layers.MultiHeadAttention):
        return _mha_macs(layer, node)
    if isinstance(layer, SelfAttention):
        return _self_attention_macs(layer, _known(layer, in_shape, "input"))
    if isinstance(layer, TransformerBlock):
        tokens = _known(layer, in_shape, "input")
        mlp = tokens[0] * (_size(layer.mlp_hidden.kernel) + _size(layer.mlp_output.kernel))
        return _self_attention_macs(layer.attention, tokens) + mlp
    if isinstance(layer, PatchEmbedding):
        return _known(layer, out_shape, "output")[0] * _size(layer.projection.kernel)
    if isinstance(layer, (ClassToken, PositionEmbedding) + _ZERO_WITH_WEIGHTS):
        return 0
    if (type(layer).__module__, type(layer).__name__) in _ELEMENTWISE_WITH_WEIGHTS:
        return 0
    if isinstance(layer, layers.Bidirectional) or isinstance(layer, layers.RNN):
        steps = _known(layer, in_shape, "input")[0]
        return steps * _rnn_step_macs(layer)
    if isinstance(layer, layers.SeparableConv1D | layers.SeparableConv2D):
        positions = _prod(_spatial(layer, out_shape, "output"))
        return positions * (_size(layer.depthwise_kernel) + _size(layer.pointwise_kernel))
    if isinstance(layer, layers.DepthwiseConv1D | layers.DepthwiseConv2D):
        return _prod(_spatial(layer, out_shape, "output")) * _size(layer.kernel)
    if isinstance(layer, layers.Conv1DTranspose | layers.Conv2DTranspose | layers.Conv3DTranspose):
        return _prod(_spatial(layer, in_shape, "input")) * _size(layer.kernel)
    if isinstance(layer, layers.Conv1D | layers.Conv2D | layers.Conv3D | PatchWhitening):
        return _prod(_spatial(layer, out_shape, "output")) * _size(layer.kernel)
    if isinstance(layer, layers.Dense):
        return _prod(_known(layer, out_shape, "output")[:-1]) * _size(layer.kernel)
    if isinstance(layer, layers.EinsumDense):
        return _einsum_dense_macs(layer, in_shape)
    return None


def _op_macs(op, node):
    """Multiply-adds of a ``keras.ops`` call in a functional graph (not a layer)."""
    name = type(op).__name__
    if name == "Matmul":
        a, b = (t.shape for t in node.input_tensors[:2])
        out = node.outputs[0].shape
        if len(a) < 2 or len(b) < 2 or any(s is None for s in tuple(out[1:]) + (a[-1],)):
            raise ValueError(f"operation '{op.name}' (matmul) needs known shapes, got {tuple(a)} @ {tuple(b)}")
        return _prod(out[1:]) * int(a[-1])
    if name == "Einsum":
        raise ValueError(
            f"operation '{op.name}' (keras.ops.einsum) in the model's graph is not counted by multiply_adds; "
            "wrap it in a layer of a kind it knows or count it by hand"
        )
    return 0


def _check_model(model):
    checks.instance("model", model, keras.Model, "a keras.Model")
    if not model.built:
        raise ValueError(
            f"model '{model.name}' is not built; give it an Input (keras.Input(shape)) or call it on data first"
        )
    graph = getattr(model, "_functional", None) if isinstance(model, keras.Sequential) else model
    if not hasattr(graph, "_nodes_by_depth"):
        raise ValueError(
            f"model '{model.name}' ({type(model).__name__}) has no functional graph to read shapes from; "
            "multiply_adds counts functional and Sequential models built with a known input shape"
        )
    return graph


def _graph_nodes(graph):
    """The graph's nodes, from the inputs to the outputs."""
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            if node.operation is not None and not node.is_input:
                yield node


def _shape(tensor):
    return (None,) + tuple(tensor.shape[1:])


def _rows(model, prefix=""):
    graph = _check_model(model)
    rows = {}
    for node in _graph_nodes(graph):
        op = node.operation
        if isinstance(op, layers.InputLayer):
            continue
        if isinstance(op, keras.Model):
            for row in _rows(op, f"{prefix}{op.name}/"):
                key = row["name"]
                if key in rows:  # the same nested model called again
                    rows[key]["multiply_adds"] += row["multiply_adds"]
                else:
                    rows[key] = row
            continue
        name = f"{prefix}{op.name}"
        if isinstance(op, layers.Layer):
            macs = _layer_macs(op, node)
            params = int(op.count_params())
            if macs is None:
                if params:
                    raise ValueError(
                        f"layer '{name}' ({type(op).__name__}) has {params:,} parameters but multiply_adds "
                        "does not know how it uses them; count it by hand or extend cvtutor.flops"
                    )
                macs = 0
        else:
            macs, params = _op_macs(op, node), 0
            if not macs:
                continue  # element-wise or shape operations (x[:, 0], x + y) are not listed
        if name in rows:  # a shared layer called again: count its work again, its parameters once
            rows[name]["multiply_adds"] += int(macs)
            continue
        rows[name] = {
            "name": name,
            "kind": type(op).__name__,
            "output_shape": _shape(node.outputs[0]),
            "params": params,
            "multiply_adds": int(macs),
        }
    return list(rows.values())


def layer_table(model) -> list[dict]:
    """One row per layer of a built model: what it outputs, its parameters and multiply-adds.

    Args:
        model: a built functional or ``Sequential`` ``keras.Model`` whose input
            shape is known except for the batch size.

    Returns:
        A list of dicts, in graph order (inputs first), with keys ``name``
        (``outer/inner`` inside nested models), ``kind`` (the layer's class
        name), ``output_shape`` (a tuple, batch axis ``None``; the first
        output of the first call), ``params`` (trainable and non-trainable,
        as ``layer.count_params()``) and ``multiply_adds`` (per image, all
        calls of a shared layer together). The ``params`` add up to
        ``model.count_params()``; input layers are left out.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: the model is not built, has no functional graph (a
            subclassed model), has a size other than the batch unknown, or
            contains a layer with weights of a kind this module does not know.
    """
    return _rows(model)


def multiply_adds(model) -> int:
    """Multiply-adds of one forward pass of ``model`` on one image (batch size 1).

    The sum of the ``multiply_adds`` column of :func:`layer_table`; see the
    module documentation for what is counted. Multiply by 2 for FLOPs, and by
    about 3 for one training step (forward plus backward pass).

    Args:
        model: a built functional or ``Sequential`` ``keras.Model``.

    Returns:
        An int.

    Raises:
        TypeError, ValueError: as :func:`layer_table`.
    """
    return sum(row["multiply_adds"] for row in _rows(model))
