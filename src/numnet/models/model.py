"""``Model``: a graph of layer calls from symbolic inputs to symbolic outputs (Keras's
functional API). A model is a layer: it can be called on symbolic tensors inside another
model (its weights are shared) or on arrays.

Data flows one way: batch -> the plan's steps (``numnet.graph.Plan``) -> loss per output
-> the loss gradients -> the steps in reverse (gradients of every call of a layer add up)
-> one optimizer step over the flat parameter buffer. ``compile`` / ``fit`` / ``evaluate`` /
``predict`` and the batch-level API come from ``numnet.training.Trainer``.
"""

from __future__ import annotations

import numpy as np

from ..graph import Plan, SymbolicTensor, shapes_compatible
from ..layers.layer import Layer, _unique_name
from ..parameters import FlatParameters
from ..random import make_generator
from ..training.trainer import Trainer

_DTYPES = ("float32", "float64")


def check_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in _DTYPES:
        raise ValueError(f"Model dtype must be one of {_DTYPES}, got {dtype!r}.")
    return dtype


def _tensors(value, what: str) -> tuple[list[SymbolicTensor], list[str] | None, str]:
    """``(tensors, keys, kind)`` for a tensor, a list of them or a dict of them."""
    if isinstance(value, SymbolicTensor):
        return [value], None, "single"
    if isinstance(value, dict) and value and all(isinstance(v, SymbolicTensor) for v in value.values()):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"Model {what} given as a dict must have string keys, got {list(value)!r}.")
        return list(value.values()), list(value), "dict"
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, SymbolicTensor) for v in value):
        return list(value), None, "list"
    if isinstance(value, Layer) or (isinstance(value, (list, tuple)) and any(isinstance(v, Layer) for v in value)):
        raise TypeError(
            f"Model {what} must be symbolic tensors (what Input(...) and calling a layer return), got a layer: "
            f"{value!r}."
        )
    raise TypeError(f"Model {what} must be a symbolic tensor, a list or a dict of them, got {value!r}.")


class Model(Trainer, Layer):
    """A network from ``inputs`` to ``outputs``, as in Keras's functional API::

        x = Input((4,))
        h = Dense(16, activation="relu")(x)
        model = Model(x, Dense(3, activation="softmax")(h))

    ``inputs`` and ``outputs`` are a symbolic tensor, a list or a dict of them; ``fit`` and
    ``predict`` take data in the same structure (a dict of inputs keyed by ``Input`` name
    works too) and ``predict`` returns the outputs' structure. ``dtype`` (``"float32"`` or
    ``"float64"``) is the type of every parameter and of the data inside each step.
    """

    _is_model = True

    def __init__(self, inputs=None, outputs=None, dtype="float32", name: str | None = None, seed=None,
                 trainable: bool = True) -> None:
        Layer.__init__(self, name=name or _unique_name(self._default_name()), trainable=trainable)
        self.dtype = check_dtype(dtype)
        self.rng = make_generator(seed)
        Trainer.__init__(self)
        self._plan = None
        self.layers: list[Layer] = []
        if inputs is None and outputs is None and type(self)._defines_graph_later():
            return
        if inputs is None or outputs is None:
            raise TypeError("Model(inputs, outputs): give both the symbolic inputs and the outputs.")
        self._init_graph(inputs, outputs)

    @staticmethod
    def _default_name() -> str:
        return "model"

    @classmethod
    def _defines_graph_later(cls) -> bool:
        from .subclassed import defines_call

        return defines_call(cls)  # a subclassed model: traced from call() when built

    # --- subclassed models (numnet.models.subclassed) ----------------------------------------
    def build(self, input_shape) -> None:
        """A subclassed model: trace ``call`` on inputs of ``input_shape`` into the graph."""
        from . import subclassed

        if self._plan is None and subclassed.defines_call(type(self)):
            subclassed.build(self, input_shape)

    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None, **kwargs) -> None:
        from . import subclassed

        if self._plan is None and subclassed.defines_call(type(self)):
            return subclassed.defer_compile(self, dict(optimizer=optimizer, loss=loss, loss_weights=loss_weights,
                                                       metrics=metrics, **kwargs))
        return Trainer.compile(self, optimizer, loss, loss_weights=loss_weights, metrics=metrics, **kwargs)

    compile.__doc__ = Trainer.compile.__doc__

    # --- the graph -------------------------------------------------------------------------
    def _init_graph(self, inputs, outputs) -> None:
        input_tensors, input_keys, self._inputs_kind = _tensors(inputs, "inputs")
        output_tensors, output_keys, self._outputs_kind = _tensors(outputs, "outputs")
        for tensor in input_tensors:
            if tensor.node is None or not getattr(tensor.node.layer, "_is_input_layer", False):
                raise TypeError(f"Model inputs must come from numnet.Input(...), got {tensor!r}.")
        if len({id(t) for t in input_tensors}) != len(input_tensors):
            raise ValueError("The same Input is given twice among the model's inputs.")
        plan = Plan(input_tensors, output_tensors)
        layers = plan.layers
        self._number_default_names(layers)
        names = [layer.name for layer in layers] + [t.node.layer.name for t in input_tensors]
        counts: dict[str, int] = {}
        for n in names:
            counts[n] = counts.get(n, 0) + 1
        duplicates = sorted(n for n, c in counts.items() if c > 1)
        if duplicates:
            raise ValueError(f"Layer names must be unique within a model; repeated: {duplicates}.")
        self._plan = plan
        self.inputs = input_tensors
        self.outputs = output_tensors
        self.input_names = input_keys or [t.node.layer.name for t in input_tensors]
        self.output_names = output_keys or _output_names(output_tensors)
        self.layers = layers
        self.input_shape = self._pack_in([t.shape[1:] for t in input_tensors])
        self.output_shape = self._pack_out_list([t.shape[1:] for t in output_tensors])
        self.built = True
        self._flat = None
        self.cast(self.dtype)
        if not self.trainable:
            self.trainable = False

    @staticmethod
    def _number_default_names(layers) -> None:
        """Repeats of a default name, e.g. two ``Activation("relu")``: number them."""
        taken = {layer.name for layer in layers}
        seen: set[str] = set()
        for layer in layers:
            if getattr(layer, "default_name", False) and layer.name in seen:
                suffix = 1
                while f"{layer.name}_{suffix}" in taken:
                    suffix += 1
                layer.name = f"{layer.name}_{suffix}"
                taken.add(layer.name)
            seen.add(layer.name)

    def _pack_in(self, values):
        if self._inputs_kind == "single":
            return values[0]
        return list(values)

    def _pack_out_list(self, values):
        return values[0] if self._outputs_kind == "single" else list(values)

    def pack_outputs(self, values):
        """``values`` (one per output) in the structure the outputs were given in."""
        if self._outputs_kind == "dict":
            return dict(zip(self.output_names, values))
        return self._pack_out_list(values)

    @property
    def input(self):
        """The symbolic input (a list for several inputs, a dict if given as one)."""
        self._require_graph("input")
        if self._inputs_kind == "dict":
            return dict(zip(self.input_names, self.inputs))
        return self._pack_in(self.inputs)

    @property
    def output(self):
        """The symbolic output (a list for several outputs, a dict if given as one)."""
        self._require_graph("output")
        return self.pack_outputs(self.outputs)

    def _require_graph(self, what: str) -> None:
        if self._plan is None:
            raise RuntimeError(f"Model {self.name!r} has no {what} yet: it is not built.")

    @property
    def output_layer(self):
        """The layer producing the (first) output."""
        return self.outputs[0].node.layer if self._plan is not None else None

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer of the model by ``name`` or by position ``index`` in ``model.layers``."""
        if (name is None) == (index is None):
            raise ValueError("get_layer takes exactly one of name= or index=.")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index!r} out of range; the model has {len(self.layers)} layers.")
            return self.layers[int(index)]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r}; layers are {[l.name for l in self.layers]}.")

    # --- leaves, weights, freezing -----------------------------------------------------------
    def leaf_layers(self) -> list[tuple[str, Layer]]:
        """``(path, layer)`` for every layer that holds weights itself (not a model), once each,
        in call order; ``path`` is the layer's name, prefixed by the names of the nested
        models it sits in (``"encoder/dense"``). Optimizer state and saved weights use it."""
        layers = self.layers
        cache = self.__dict__.get("_leaf_cache")
        if cache is not None and cache[0] is layers and len(cache[1]) == len(layers) and all(
                path == layer.name for path, layer in cache[1]):
            return cache[1]  # the same list while nothing changed: FlatParameters.intact's fast path
        if not any(getattr(layer, "_is_model", False) for layer in layers):
            leaves = [(layer.name, layer) for layer in layers]  # no nesting: the common case
            self.__dict__["_leaf_cache"] = (layers, leaves)
            return leaves
        found, seen = [], set()
        pending = [iter([("", layer) for layer in self.layers])]  # depth first, without recursion
        while pending:
            try:
                prefix, layer = next(pending[-1])
            except StopIteration:
                pending.pop()
                continue
            if getattr(layer, "_is_model", False):
                pending.append(iter([(f"{prefix}{layer.name}/", inner) for inner in layer.layers]))
            elif id(layer) not in seen:
                seen.add(id(layer))
                found.append((prefix + layer.name, layer))
        return found

    def _leaves(self) -> list[Layer]:
        return [layer for _, layer in self.leaf_layers()]

    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value) -> None:
        """Freezing a model freezes every layer inside it, recursively (Keras's rule); a
        frozen BatchNormalization runs in inference mode. Compile again after changing it."""
        value = bool(value)
        self.__dict__["_trainable"] = value
        for layer in self.__dict__.get("layers", []):
            layer.trainable = value

    @property
    def params(self):
        return {}

    @params.setter
    def params(self, value):
        pass  # a model holds no parameters itself (Layer.__init__ assigns an empty dict)

    @property
    def buffers(self):
        return {}

    @buffers.setter
    def buffers(self, value):
        pass

    @property
    def weights(self) -> list[np.ndarray]:
        return [w for layer in self._leaves() for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self._leaves() for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self._leaves() for w in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Every layer's ``get_weights()``, in layer order (a nested model's in its order)."""
        return [w for layer in self._leaves() for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """Replace all weights from a list ordered as ``get_weights`` returns them; nothing
        changes unless every array fits."""
        weights = list(weights)
        leaves = self._leaves()
        expected = sum(len(layer.weights) for layer in leaves)
        if len(weights) != expected:
            raise ValueError(f"Model {self.name!r} expects {expected} weight arrays, got {len(weights)}.")
        start, pieces = 0, []
        for layer in leaves:
            count = len(layer.weights)
            piece = weights[start:start + count]
            for current, new in zip(layer.weights, piece):
                if np.shape(new) != current.shape:
                    raise ValueError(f"Layer {layer.name!r}: a weight has shape {current.shape}, got {np.shape(new)}.")
            pieces.append((layer, piece))
            start += count
        for layer, piece in pieces:
            layer.set_weights(piece)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._leaves())

    def cast(self, dtype) -> None:
        """Convert every layer inside (and nested models) to ``dtype``."""
        self.dtype = check_dtype(dtype)
        for layer in self.layers:
            if getattr(layer, "_is_model", False):
                layer.cast(self.dtype)
            elif layer.dtype != self.dtype:
                layer.cast(self.dtype)
        self._flat = None

    def flat_parameters(self) -> FlatParameters:
        """The trainable parameters in one flat buffer (rebuilt when layers changed)."""
        flat = self.__dict__.get("_flat")
        leaves = self.leaf_layers()
        if flat is None or not flat.intact(leaves):
            flat = self._flat = FlatParameters(leaves, self.dtype)
        return flat

    # --- as a layer --------------------------------------------------------------------------
    def build_for(self, input_shape) -> None:
        if self._plan is None:
            self.build(input_shape)

    def compute_output_shape(self, input_shape):
        shapes = [t.shape[1:] for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _call_symbolic(self, inputs, training, kwargs):
        if kwargs:
            raise TypeError(f"Model {self.name!r} takes no call arguments but training=; got {sorted(kwargs)}.")
        if isinstance(inputs, dict):
            inputs = self._ordered_by_name(inputs, "inputs")
        elif len(self.inputs) > 1 and not (isinstance(inputs, (list, tuple)) and len(inputs) == len(self.inputs)):
            raise ValueError(f"Model {self.name!r} has {len(self.inputs)} inputs; call it on a list of "
                             f"{len(self.inputs)} tensors.")
        elif len(self.inputs) == 1 and isinstance(inputs, (list, tuple)):
            if len(inputs) != 1:
                raise ValueError(f"Model {self.name!r} has one input; it was called on {len(inputs)} tensors.")
            inputs = inputs[0]
        if isinstance(inputs, (list, tuple)):
            inputs = list(inputs)
        for tensor, expected in zip(inputs if isinstance(inputs, list) else [inputs], self.inputs):
            if not shapes_compatible(expected.shape[1:], tensor.shape[1:]):
                raise ValueError(
                    f"Model {self.name!r} input {expected.node.layer.name!r} expects shape {expected.shape}, "
                    f"got a tensor of shape {tensor.shape}."
                )
        tensors = list(inputs) if isinstance(inputs, list) else [inputs]
        from ..graph import Node

        outputs = [SymbolicTensor(t.shape, t.dtype, index=i, name=f"{self.name}{'' if i == 0 else f':{i}'}")
                   for i, t in enumerate(self.outputs)]
        node = Node(self, tensors, isinstance(inputs, list), outputs, len(outputs) > 1, training=training)
        for t in outputs:
            t.node = node
        self._inbound_nodes.append(node)
        return self.pack_outputs(outputs) if len(outputs) > 1 else outputs[0]

    def _ordered_by_name(self, value: dict, what: str) -> list:
        missing = [n for n in self.input_names if n not in value]
        extra = [k for k in value if k not in self.input_names]
        if missing or extra:
            raise ValueError(f"Model {self.name!r} {what}: expected keys {self.input_names}, got {list(value)}.")
        return [value[n] for n in self.input_names]

    def _call_arrays(self, inputs, training: bool, kwargs):
        """``model(x)`` / ``model(x, training=True)`` on arrays: the outputs of one pass over
        the whole batch, in the outputs' structure."""
        if kwargs:
            raise TypeError(f"Model {self.name!r} takes no call arguments but training=; got {sorted(kwargs)}.")
        from ..training.data import as_inputs, cast_inputs

        xs = cast_inputs(as_inputs(self, inputs), self.dtype)
        outputs, run = self._plan.forward(xs, training=training)
        self._last_run = run if training else None
        return self.pack_outputs(outputs)

    def forward(self, inputs, training: bool = False):
        """One pass on already validated arrays: ``inputs`` is one array for a one-input
        model, else a list (one per input). Returns the output (a list for several). Keeps
        the run for ``backward``."""
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        if not isinstance(inputs, (list, tuple)) or len(inputs) != len(self.inputs):
            raise ValueError(
                f"Model {self.name!r}.forward takes {len(self.inputs)} input array(s) "
                f"({'one array' if len(self.inputs) == 1 else 'a list'}), got {type(inputs).__name__} "
                f"of length {len(inputs) if isinstance(inputs, (list, tuple)) else '?'}."
            )
        outputs, run = self._plan.forward(list(inputs), training=training, keep=True)
        self._last_run = run
        return outputs[0] if len(outputs) == 1 else outputs

    def backward(self, output_error, skip_output_activation: bool = False):
        """Backpropagate dL/d(output) (a list for several outputs) through the last
        ``forward``; fills every layer's ``grads``; returns dL/d(inputs) (one array for one
        input). ``skip_output_activation``: the error is with respect to the output layers'
        pre-activation (the fused softmax / sigmoid + cross-entropy gradient)."""
        run = self.__dict__.get("_last_run")
        if run is None:
            raise RuntimeError(f"Model {self.name!r}: call forward(inputs, training=...) before backward.")
        errors = output_error if isinstance(output_error, (list, tuple)) else [output_error]
        self._plan.set_fused_outputs([skip_output_activation] * len(errors))
        try:
            input_errors = self._plan.backward(run, list(errors), need_input_errors=True)
        finally:
            self._plan.set_fused_outputs(getattr(self, "_fused_flags", [False] * len(errors)))
        self._last_run = None
        return input_errors[0] if len(input_errors) == 1 else input_errors

    # --- saving and export (numnet.saving, numnet.export) --------------------------------------
    def save(self, path) -> None:
        """Write the whole model (architecture, weights, optimizer state, compile settings) to
        one file; ``numnet.load_model(path)`` restores it. See ``numnet.saving``."""
        from ..distribution import _state
        from ..saving import save_model

        if _state.current is None:
            save_model(self, path)
        else:  # DataParallel: written once, by rank 0; the others wait for the file
            _state.current.run_once(save_model, self, path, what=f"model.save({path!r})")

    def save_weights(self, path) -> None:
        """Write only the weights; ``load_weights`` reads them into a model of the same layers."""
        from ..distribution import _state
        from ..saving import save_weights

        if _state.current is None:
            save_weights(self, path)
        else:
            _state.current.run_once(save_weights, self, path, what=f"model.save_weights({path!r})")

    def load_weights(self, path) -> None:
        """Set every layer's weights from a file written by ``save_weights``."""
        from ..saving import load_weights

        load_weights(self, path)

    def export_onnx(self, path, opset=None, dtype=None) -> None:
        """Write the model for inference as an ONNX graph (needs ``pip install numnet[onnx]``)."""
        from ..export import onnx

        onnx.export_onnx(self, path, opset=opset, dtype=dtype)

    def export(self, path, format: str = "onnx", **kwargs) -> None:
        """``model.export(path, format="onnx")``: the model for inference in another runtime."""
        if format != "onnx":
            raise ValueError(f"model.export supports format='onnx', got {format!r}.")
        self.export_onnx(path, **kwargs)

    def get_config(self) -> dict:
        """The architecture as JSON values (every layer's config, every call; no weights);
        ``Model.from_config`` rebuilds it with new weights. A subclassed model: its
        constructor arguments, ``{"name", "trainable"}`` here. See ``numnet.models.config``."""
        from .config import model_config

        return model_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model ``get_config()`` describes, its weights initialised afresh."""
        from .config import model_from_config

        return model_from_config(cls, config, custom_objects)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON text; ``numnet.models.model_from_json`` reads it back."""
        from .config import to_json

        return to_json(self, **kwargs)

    # --- summary -----------------------------------------------------------------------------
    def summary(self, print_fn=print, expand_nested: bool = False) -> None:
        """Print a table of layer calls, output shapes, parameter counts and what each call
        reads ("Connected to": ``layer[call]``), with totals. A nested model is one row, or
        its own rows with ``expand_nested=True``."""
        from .summary import summary_lines

        print_fn("\n".join(summary_lines(self, expand_nested)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _output_names(tensors) -> list[str]:
    """Keras's output names: the name of the layer producing each output (numbered when a
    layer produces several of them)."""
    names = []
    for tensor in tensors:
        base = tensor.node.layer.name
        name, k = base, 1
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names
