"""The ``Layer`` base class: the seed's forward / backward / update, with named parameters.

A layer holds

* ``params``: trainable arrays by name (``params["kernel"]``, ``params["bias"]``);
* ``grads``: the gradient of the loss for each of them, filled by ``backward``;
* ``buffers``: non-trainable state saved with the weights (BatchNorm's moving statistics).

Shapes exclude the batch dimension: a ``Dense`` fed ``(n_samples, 4)`` arrays has
``input_shape == (4,)``. Weights are built lazily from the first input shape, so
``Dense(5)`` needs no input size.

Writing a custom layer means subclassing and implementing ``forward(input)`` (or
``forward(input, training=False)`` to see the mode) and ``backward(output_error)``; a
layer with weights also implements ``build(input_shape)`` using ``add_weight`` and, if
the output shape differs from the input's, ``compute_output_shape``.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections import defaultdict

import numpy as np

from .. import initializers
from ..random import make_generator
from . import _penalties, _validate

_name_counts: defaultdict[str, int] = defaultdict(int)


def _unique_name(base: str) -> str:
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def _snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    # "Conv2D" -> "conv2d", as Keras names it (no break between a digit and a capital).
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


@functools.lru_cache(maxsize=None)
def takes_training_flag(cls: type) -> bool:
    """Whether ``cls.forward`` accepts a ``training`` argument (checked once per class)."""
    return "training" in inspect.signature(cls.forward).parameters


def call_forward(layer: "Layer", inputs, training: bool = False):
    """Run ``layer.forward``, passing ``training`` only to layers that accept it, so the
    seed's one-argument ``forward(input)`` keeps working in custom layers."""
    if takes_training_flag(type(layer)):
        return layer.forward(inputs, training=training)
    return layer.forward(inputs)


def _references(arrays: list, i: int) -> int:
    """How many references ``arrays[i]`` has, as counted from here."""
    return sys.getrefcount(arrays[i])


# The count for an array that only its list holds, measured through the same call, so that
# the comparison in Layer.scratch does not depend on how an interpreter counts temporaries.
_UNHELD = _references([np.empty(0)], 0)


_ABSENT = object()


class _CallValue:
    """``layer.input`` / ``layer.output``. A seed-style layer assigns them in ``forward``
    (``self.input = x``) and reads them in ``backward``: inside a call they are that
    call's arrays (plain instance attributes: no cost). Outside any call they are the
    symbolic tensors of the layer's one call in a graph, as in Keras
    (``Model(model.input, layer.output)`` builds a feature extractor): the plan drops a
    finished call's arrays, and this (non-data) descriptor answers when the instance has
    none."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        return layer._symbolic_io(self.kind)


def _show(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_show(s) for s in shape) + "]"
    return str((None, *shape))


def weight_arguments(layer, args, kwargs) -> tuple:
    """``(name, shape, initializer, trainable, regularizer, constraint)`` from either
    ``add_weight`` signature: numnet's ``add_weight(name, shape, initializer="zeros",
    trainable=True, regularizer=None, constraint=None)`` (the name first, as the built-in
    layers call it) or Keras 3's ``add_weight(shape=None, initializer=None, dtype=None,
    trainable=True, autocast=True, regularizer=None, constraint=None, ..., name=None)`` (the shape first or every
    argument by keyword; the initializer defaults to ``"glorot_uniform"`` as in Keras, the
    name to ``"variable"``, ``"variable_1"``, ...)."""
    kwargs = dict(kwargs)
    kwargs.pop("autocast", None)
    kwargs.pop("aggregation", None)
    dtype = kwargs.pop("dtype", None)
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise TypeError(f"add_weight: weights are floating point (the layer's dtype), got dtype={dtype!r}.")
    if args and isinstance(args[0], str):  # numnet's order
        names = ("name", "shape", "initializer", "trainable", "regularizer", "constraint")
        default_initializer = "zeros"
    else:
        names = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint",
                 "aggregation", "name")
        default_initializer = "glorot_uniform"
    if len(args) > len(names):
        raise TypeError(f"add_weight takes at most {len(names)} positional arguments, got {len(args)}.")
    for key, value in zip(names, args):
        if key in kwargs:
            raise TypeError(f"add_weight got two values for {key!r}.")
        kwargs[key] = value
    unknown = sorted(set(kwargs) - {"name", "shape", "initializer", "trainable", "dtype", "regularizer",
                                    "constraint"})
    if unknown:
        raise TypeError(f"add_weight got unexpected arguments {unknown}.")
    shape = kwargs.get("shape")
    if shape is None:
        raise TypeError("add_weight needs a shape: add_weight(shape=(in, out), initializer=...).")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    name = kwargs.get("name")
    if name is None:
        taken = set(layer.params) | set(layer.buffers)
        name, k = "variable", 1
        while name in taken:
            name, k = f"variable_{k}", k + 1
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"add_weight: the name must be a non-empty string without '/', got {name!r}.")
    initializer = kwargs.get("initializer")
    return (name, shape, default_initializer if initializer is None else initializer, bool(kwargs.get("trainable", True)),
            kwargs.get("regularizer"), kwargs.get("constraint"))


class Layer:
    """Base class of every numnet layer.

    Subclasses implement ``forward`` and ``backward``; ``update(learning_rate)`` takes a
    plain gradient-descent step over ``params`` with ``grads``.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        """A subclass that defines ``call`` (Keras's way) and no ``forward`` becomes a call
        layer (``numnet.layers.custom``); a ``Model`` subclass with ``call`` is a subclassed
        model (``numnet.models.subclassed``)."""
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__ and not getattr(cls, "_is_model", False):
            from .custom import make_call_layer

            make_call_layer(cls)
        if "build" in cls.__dict__ and not getattr(cls, "_is_model", False):
            cls.build = _marks_built(cls.__dict__["build"])

    # Keras's weight arguments this class takes: prefix -> weight names (``kernel_regularizer``,
    # ``kernel_constraint`` for the weight "kernel"; see layers/_penalties.py).
    weight_groups: dict[str, tuple[str, ...]] = {}

    def __init__(self, name: str | None = None, trainable: bool = True, dtype=None, seed=None,
                 input_shape=None, activity_regularizer=None, **weight_options) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"A layer name must be a non-empty string, got {name!r}.")
        owner = type(self).__name__
        trainable, dtype, seed = (_validate.flag(trainable, "trainable", owner), _validate.dtype(dtype, owner),
                                  _validate.seed(seed, owner))
        # Keras 2's spelling: the first layer of a Sequential may carry the input shape itself.
        if input_shape is not None:
            input_shape = _validate.shape(input_shape, "input_shape", owner)
        self.requested_input_shape = input_shape
        _penalties.parse(self, activity_regularizer, weight_options)
        self.name = name or _unique_name(_snake_case(type(self).__name__))
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        # Where a model's flat gradient buffer wants each gradient (see grad_buffer).
        self.grad_targets: dict[str, np.ndarray] = {}
        self.trainable = bool(trainable)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        self.built = False
        self.input_shape = None
        self.output_shape = None
        # Every call of this layer on symbolic tensors, in call order (numnet.graph.Node).
        self._inbound_nodes: list = []
        # The backward pass that last wrote ``grads`` (a second call in the same pass adds).
        self._grad_pass = None
        # A model's plan turns this off for a call fed only by the model's inputs: nobody
        # needs dL/dx there.
        self.needs_input_error = True
        self.seed = seed
        self._rng = None
        self._scratch: dict[str, list[np.ndarray]] = {}

    # --- the seed's interface ------------------------------------------------------------
    def forward(self, input):
        """Compute the layer's output for ``input`` and remember what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(input).")

    def backward(self, output_error):
        """Given dL/d(output), store dL/d(param) in ``grads`` and return dL/d(input)."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(output_error).")

    def update(self, learning_rate: float) -> None:
        """One plain gradient-descent step: ``param -= learning_rate * grad``."""
        for key, param in self.params.items():
            if key not in self.grads:
                raise RuntimeError(
                    f"Layer {self.name!r} has no gradient for {key!r}; call backward(output_error) "
                    "before update(learning_rate)."
                )
            param -= learning_rate * self.grads[key]

    # --- building --------------------------------------------------------------------------
    # Whether the layer passes its input's Keras mask through unchanged (Dense, Dropout,
    # normalisation, activations); a layer that changes it implements compute_mask.
    supports_masking = False

    def compute_mask(self, input_mask):
        """The mask of the output given the input's (``(batch, time)`` booleans or None):
        the same with ``supports_masking``, else None (the mask stops here, as in Keras)."""
        return input_mask if self.supports_masking else None

    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch dimension excluded)."""

    def compute_output_shape(self, input_shape):
        """The output shape (batch dimension excluded) for ``input_shape``."""
        return input_shape

    def build_for(self, input_shape) -> None:
        """Build once for ``input_shape`` and record the input and output shapes."""
        if self.built:
            return
        if self.dtype is None:
            self.dtype = np.dtype(np.float32)
        run_build(self, input_shape)
        self.input_shape = input_shape
        self.output_shape = self.compute_output_shape(input_shape)
        self.built = True

    def add_weight(self, *args, **kwargs) -> np.ndarray:
        """Create a parameter (or, with ``trainable=False``, a buffer) drawn from ``initializer``:
        ``add_weight(name, shape, initializer="zeros", trainable=True)`` or Keras's
        ``add_weight(shape=..., initializer="glorot_uniform", trainable=True, name=...)``
        (see ``weight_arguments``). Returns the array (a call layer: its Variable)."""
        name, shape, initializer, trainable, regularizer, constraint = weight_arguments(self, args, kwargs)
        regularizer, constraint = _penalties.resolve(self, name, regularizer, constraint)
        if self._rng is None:
            self._rng = make_generator(self.seed)
        value = initializers.get(initializer)(shape, self._rng, self.dtype or np.float32)
        (self.params if trainable else self.buffers)[name] = value
        _penalties.attach(self, name, regularizer, constraint)
        return value

    def grad_buffer(self, name: str):
        """An array to write the new ``grads[name]`` into (``out=`` of the ufunc or matmul
        computing it), else None: the slot a model's flat gradient buffer reserved for it,
        or the array ``grads[name]`` already is.

        During training a model keeps all gradients in one flat buffer; writing into it
        saves a copy per parameter per step. Gradients are overwritten, never accumulated.
        """
        buffer = self.grad_targets.get(name)
        if buffer is None:
            buffer = self.grads.get(name)
        param = self.params[name]
        if buffer is not None and buffer.shape == param.shape and buffer.dtype == param.dtype:
            return buffer
        return None

    # Arrays kept per scratch key: two, so that an output the next layer still holds from
    # the previous step (it keeps its input for backward) does not force a new array.
    _SCRATCH_DEPTH = 2

    def scratch(self, key: str, shape, dtype) -> np.ndarray:
        """An uninitialised array for a per-batch array (Conv2D's im2col matrix and
        output, MaxPool2D's input gradient), taken from the ones this layer made before for
        ``key`` when one has this ``shape`` and ``dtype`` and nothing else refers to it (not
        even a view); otherwise a new one. An array a caller kept is never overwritten.

        Why: a new multi-megabyte array each step is memory the allocator fetches from the
        operating system again (page faults: about 1 ms of a 10 ms CNN training step,
        measured) and that is not in cache. Drop your own reference (``self._cols = None``)
        before asking for the same key again.
        """
        shape, dtype = tuple(shape), np.dtype(dtype)
        kept = self._scratch.setdefault(key, [])
        for i in range(len(kept)):  # by index: a loop variable would be one more reference
            if kept[i].shape == shape and kept[i].dtype == dtype and _references(kept, i) <= _UNHELD:
                return kept[i]
        array = np.empty(shape, dtype=dtype)
        kept.insert(0, array)
        del kept[self._SCRATCH_DEPTH:]
        return array

    def cast(self, dtype) -> None:
        """Convert every parameter and buffer to ``dtype`` (``float32`` or ``float64``)."""
        self.dtype = np.dtype(dtype)
        for store in (self.params, self.buffers):
            for key in store:
                store[key] = store[key].astype(self.dtype)
        self.grads = {}
        self.grad_targets = {}
        self._scratch = {}
        self._thread_views = {}  # numnet.graph.threads: views hold the old dtype

    # --- calling: symbolic (a graph) or on arrays --------------------------------------------
    input = _CallValue("input")
    output = _CallValue("output")

    def __call__(self, inputs, training=None, **kwargs):
        """On symbolic tensors (``Input(...)`` and what layers return): record this call as
        a node of a graph and return its symbolic output. The layer may be called any
        number of times; every call shares the weights. On arrays: run ``forward`` (in
        inference mode unless ``training=True``) and return the array.

        ``training`` fixes the mode of this call (``base(x, training=False)`` always runs
        in inference, as in Keras); None follows the model.
        """
        from ..graph import is_symbolic

        if getattr(training, "_numnet_trace", False):  # a subclassed model's call() being traced
            training = None
        if is_symbolic(inputs):
            return self._call_symbolic(inputs, training, kwargs)
        from . import custom

        if custom.wants_tape(inputs):  # Tensors, or a GradientTape recording: one op on the tape
            return custom.call_on_tensors(self, inputs, training, kwargs)
        if isinstance(inputs, (list, tuple)) and any(isinstance(i, Layer) for i in inputs) or isinstance(inputs, Layer):
            raise TypeError(
                f"Layer {self.name!r} was called on a layer ({inputs!r}); call it on the tensor a layer "
                "returns: x = numnet.Input(shape); y = Dense(4)(x)."
            )
        return self._call_arrays(inputs, bool(training), kwargs)

    def _call_arrays(self, inputs, training: bool, kwargs):
        if takes_training_flag(type(self)):
            out = self.forward(inputs, training=training, **kwargs)
        else:
            out = self.forward(inputs, **kwargs)
        if not training:  # nothing will run backward: input / output mean the symbolic ones again
            self.__dict__.pop("input", None)
            self.__dict__.pop("output", None)
        return out

    def _call_symbolic(self, inputs, training, kwargs):
        from ..graph import Node, SymbolicTensor

        if isinstance(inputs, dict):
            raise TypeError(f"Layer {self.name!r} takes a tensor or a list of tensors, not a dict.")
        many = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if many else [inputs]
        shapes = [t.shape[1:] for t in tensors]
        shape = shapes if many else shapes[0]
        if any(t.dtype.kind in "iub" for t in tensors):  # ids: a call() layer infers and runs on them as such
            self.__dict__["_symbolic_dtypes"] = [t.dtype for t in tensors] if many else tensors[0].dtype
        else:
            self.__dict__.pop("_symbolic_dtypes", None)
        if not self.built:
            if self.dtype is None:
                self.dtype = tensors[0].dtype if tensors[0].dtype.kind == "f" else np.dtype(np.float32)
            self.build_for(shape)
        else:
            self._check_call_shape(shape)
        out_shape = self._symbolic_output_shape(shape, kwargs)
        returns_list = isinstance(out_shape, list)
        out_shapes = out_shape if returns_list else [out_shape]
        dtype = self.dtype or np.dtype(np.float32)
        call = len(self._inbound_nodes)
        outputs = [
            SymbolicTensor((None, *s), self._output_dtype(tensors, dtype), index=i,
                           name=self.name if call == 0 and len(out_shapes) == 1 else
                           f"{self.name}{'' if call == 0 else f'#{call}'}{'' if len(out_shapes) == 1 else f':{i}'}")
            for i, s in enumerate(out_shapes)
        ]
        node = Node(self, tensors, many, outputs, returns_list, training=training, kwargs=kwargs)
        for t in outputs:
            t.node = node
        self._inbound_nodes.append(node)
        return outputs if returns_list else outputs[0]

    def _symbolic_output_shape(self, shape, kwargs):
        """The output shape(s) of a symbolic call with these keyword arguments (a list when
        the call returns several tensors, as attention with ``return_attention_scores``)."""
        return self.compute_output_shape(shape)

    def _output_dtype(self, tensors, dtype):
        """The dtype of this layer's outputs (float layers compute in their own dtype)."""
        return dtype

    def _check_call_shape(self, shape) -> None:
        """A second call must fit the shape the layer was built for (``None`` matches any size)."""
        from ..graph.tensor import shapes_compatible

        built = self.input_shape
        if not shapes_compatible(built, shape):
            raise ValueError(
                f"Layer {self.name!r} was built for inputs of shape {_show(built)} but is now called on "
                f"{_show(shape)}. A layer called again must get inputs of a compatible shape; create a new layer "
                "for the other shape."
            )

    def _symbolic_io(self, kind: str):
        nodes = self._inbound_nodes
        if not nodes:
            return None
        if len(nodes) > 1:
            raise AttributeError(
                f"Layer {self.name!r} has been called {len(nodes)} times, so it has no single {kind}; use "
                f"layer.get_{kind}_at(i) for call i."
            )
        return nodes[0].input_structure if kind == "input" else nodes[0].output_structure

    def get_input_at(self, node_index: int):
        """The symbolic input of this layer's call number ``node_index``."""
        return self._inbound_nodes[node_index].input_structure

    def get_output_at(self, node_index: int):
        """The symbolic output of this layer's call number ``node_index``."""
        return self._inbound_nodes[node_index].output_structure

    # --- weights ---------------------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """The parameters (kernel, then bias, ...), then the buffers."""
        return list(self.params.values()) + list(self.buffers.values())

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The parameters the optimizer updates: none when the layer is frozen."""
        return list(self.params.values()) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The buffers, and the parameters of a frozen layer."""
        return ([] if self.trainable else list(self.params.values())) + list(self.buffers.values())

    @property
    def trainable_variables(self) -> list:
        """The trainable weights as ``numnet.ops`` Variables (for ``GradientTape.gradient`` and
        ``optimizer.apply_gradients``); each reads the layer's current array."""
        from .custom import trainable_variables

        return trainable_variables(self)

    @property
    def variables(self) -> list:
        """Every weight (parameters, then buffers) as a Variable."""
        from .custom import all_variables

        return all_variables(self)

    @property
    def non_trainable_variables(self) -> list:
        ids = {id(v) for v in self.trainable_variables}
        return [v for v in self.variables if id(v) not in ids]

    def add_loss(self, value) -> None:
        """Add a term to the training loss: a scalar Tensor computed in ``call``, or a
        zero-argument callable returning one (see ``numnet.layers.custom.add_loss``)."""
        from .custom import add_loss

        add_loss(self, value)

    @property
    def losses(self) -> list:
        """The terms given to ``add_loss`` (in the last forward pass; callables evaluated now)."""
        from .custom import losses_of

        return losses_of(self)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters (kernel, then bias, ...) followed by the buffers."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Replace the weights from a list ordered as ``get_weights`` returns them."""
        stores = [(self.params, k) for k in self.params] + [(self.buffers, k) for k in self.buffers]
        weights = list(weights)
        if len(weights) != len(stores):
            raise ValueError(
                f"Layer {self.name!r} expects {len(stores)} weight arrays "
                f"({[k for _, k in stores]}), got {len(weights)}."
            )
        new_values = []
        for (store, key), value in zip(stores, weights):
            value = np.asarray(value)
            if value.shape != store[key].shape:
                raise ValueError(
                    f"Layer {self.name!r}: weight {key!r} has shape {store[key].shape}, "
                    f"got an array of shape {value.shape}."
                )
            new_values.append(value.astype(store[key].dtype))
        for (store, key), value in zip(stores, new_values):
            store[key][...] = value

    def count_params(self) -> int:
        """Number of scalars in the parameters and buffers."""
        return int(sum(w.size for w in self.weights))

    # --- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (without its weights)."""
        return {"name": self.name, "trainable": self.trainable, **_penalties.config_entries(self)}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """Rebuild the layer from ``get_config()``; ``*_initializer`` entries are turned back
        into initializers."""
        config = _penalties.from_config_entries(config, cls.__name__)
        for key in [k for k in config if k.endswith("_initializer")]:
            try:
                config[key] = initializers.deserialize(config[key])
            except ValueError as exc:
                raise ValueError(f"{cls.__name__} {key}: {exc}") from exc
        return cls(**config)

    # --- fused activations -----------------------------------------------------------------
    @property
    def output_activation(self) -> str | None:
        """Name of the activation this layer applies last, if any (used to fuse
        softmax / sigmoid with cross-entropy)."""
        return None

    def backward_preactivation(self, error):
        """Backward pass given dL/d(pre-activation), skipping ``output_activation``'s
        derivative. Only meaningful for layers whose ``output_activation`` is not None."""
        raise NotImplementedError(f"{type(self).__name__} has no output activation to skip.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} output_shape={self.output_shape}>"


def run_build(layer, input_shape) -> None:
    """``layer.build(input_shape)`` as ``build_for`` runs it (the subclass's own build)."""
    attributes = layer.__dict__
    attributes["_building"] = True
    try:
        layer.build(input_shape)
    finally:
        attributes.pop("_building", None)


def _marks_built(build):
    """A subclass's ``build`` that, called by hand (``layer.build((3,))``, as Keras users do),
    builds the layer the way its first call would (``build_for``: weights, then ``built``,
    ``input_shape``, ``output_shape``), so that the first call does not build it again."""
    if getattr(build, "_marks_built", False):
        return build

    @functools.wraps(build)
    def marked(self, input_shape, *args, **kwargs):
        if args or kwargs or self.__dict__.get("_building") or self.__dict__.get("built"):
            return build(self, input_shape, *args, **kwargs)
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) and all(
            d is None or isinstance(d, int) for d in input_shape) else input_shape
        self.build_for(shape)
        return None

    marked._marks_built = True
    return marked
