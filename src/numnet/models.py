"""Models: a graph of layers (``Model``) and a stack of them (``Sequential``).

Data flows one way: batch -> layers' forward (topological order) -> loss -> loss gradient
-> layers' backward (reverse order; where a layer's output feeds several layers their
errors are summed) -> one optimizer step over every named parameter.

``compile``, ``fit``, ``evaluate`` and ``predict`` follow Keras; the loop itself lives in
``numnet.training``.
"""

from __future__ import annotations

import numpy as np

from . import loss_functions, losses, metrics as metrics_module, optimizers, training
from .fusion import plan_max_pool_rewrites
from .layers.core import Input
from .layers.layer import Layer, takes_training_flag
from .parameters import FlatParameters
from .random import make_generator

_DTYPES = ("float32", "float64")


def _check_dtype(dtype) -> np.dtype:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in _DTYPES:
        raise ValueError(f"Model dtype must be one of {_DTYPES}, got {dtype!r}.")
    return dtype


def _as_layer_list(value, what: str) -> list[Layer]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items or not all(isinstance(item, Layer) for item in items):
        raise TypeError(f"Model {what} must be a numnet layer or a list of them, got {value!r}.")
    return items


class _Step:
    """One layer of the execution plan: where its inputs come from (plan indices)."""

    __slots__ = ("layer", "sources", "as_list", "training_flag", "preactivation", "activation_after", "fused")

    def __init__(self, layer: Layer, sources: list[int]) -> None:
        self.layer = layer
        self.sources = sources
        self.as_list = layer.merges_inputs
        self.training_flag = takes_training_flag(type(layer))
        # Set by fusion.plan_max_pool_rewrites. ``preactivation``: None, or the keyword
        # arguments of forward_preactivation, which then replaces forward (and
        # backward_preactivation replaces backward): the next layer applies this one's
        # activation ...
        self.preactivation = None
        # ... to its own output: this layer (a MaxPool2D) applies that activation.
        self.activation_after = None
        # A fusion.ConvMaxPool that runs this pool and the conv before it as one step.
        self.fused = None


class Model:
    """A network defined by its ``inputs`` (``Input`` layers) and ``outputs`` (the last
    layer), as in Keras's functional API::

        x = Input((4,))
        h = Dense(16, activation="relu")(x)
        model = Model(x, Dense(3, activation="softmax")(h))

    A model has one output; several inputs are given as a list, and then ``fit`` and
    ``predict`` take a list of arrays. ``dtype`` (``"float32"`` or ``"float64"``) is the
    type of every parameter and of the data inside each step.
    """

    def __init__(self, inputs, outputs, dtype="float32", name: str | None = None, seed=None) -> None:
        self.dtype = _check_dtype(dtype)
        self.name = name or type(self).__name__.lower()
        self.rng = make_generator(seed)
        self.stop_training = False
        self.compiled = False
        self.history = None
        self._init_graph(inputs, outputs)

    # --- graph ---------------------------------------------------------------------------
    def _init_graph(self, inputs, outputs) -> None:
        self.inputs = _as_layer_list(inputs, "inputs")
        output_list = _as_layer_list(outputs, "outputs")
        if len(output_list) != 1:
            raise ValueError(f"A numnet model has exactly one output layer, got {len(output_list)}.")
        for layer in self.inputs:
            if not isinstance(layer, Input):
                raise TypeError(f"Model inputs must be numnet.Input layers, got {layer!r}.")
        self.output_layer = output_list[0]

        order: list[Layer] = []
        seen: set[int] = set()

        def visit(layer: Layer, path: tuple) -> None:
            if id(layer) in path:
                raise ValueError(f"The graph has a cycle through layer {layer.name!r}.")
            if id(layer) in seen:
                return
            if isinstance(layer, Input):
                if all(layer is not i for i in self.inputs):
                    raise ValueError(
                        f"The graph reaches Input {layer.name!r}, which is not among the model's inputs "
                        f"{[i.name for i in self.inputs]}."
                    )
            elif not layer.inbound:
                raise ValueError(
                    f"Layer {layer.name!r} is not connected to any Input; build the graph by calling "
                    "layers on numnet.Input(shape)."
                )
            for parent in layer.inbound:
                visit(parent, path + (id(layer),))
            seen.add(id(layer))
            order.append(layer)

        visit(self.output_layer, ())
        unused = [i.name for i in self.inputs if id(i) not in seen]
        if unused:
            raise ValueError(f"Model inputs {unused} do not lead to the output {self.output_layer.name!r}.")

        names = [layer.name for layer in order]
        for i, layer in enumerate(order):  # repeats of a default name, e.g. Activation("relu"): number them
            if getattr(layer, "default_name", False) and layer.name in names[:i]:
                suffix = 1
                while f"{layer.name}_{suffix}" in names:
                    suffix += 1
                layer.name = names[i] = f"{layer.name}_{suffix}"
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Layer names must be unique within a model; repeated: {duplicates}.")

        position = {id(layer): i for i, layer in enumerate(order)}
        self._nodes = order
        self._input_positions = [position[id(i)] for i in self.inputs]
        self._plan = [
            (position[id(layer)], _Step(layer, [position[id(p)] for p in layer.inbound]))
            for layer in order
            if not isinstance(layer, Input)
        ]
        self.layers = [step.layer for _, step in self._plan]
        self._plan = plan_max_pool_rewrites(self._plan, self.output_layer)
        for layer in self.layers:
            # dL/dx of a layer fed only by inputs is never used: skip computing it.
            layer.needs_input_error = not all(isinstance(p, Input) for p in layer.inbound)
            if layer.dtype != self.dtype:
                layer.cast(self.dtype)

    @property
    def input_shape(self):
        shapes = [i.shape for i in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        return self.output_layer.output_shape

    def get_layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r}; layers are {[l.name for l in self.layers]}.")

    # --- forward and backward ------------------------------------------------------------
    def forward(self, inputs: list[np.ndarray], training: bool = False) -> np.ndarray:
        """Run every layer in order on a list of input batches (already validated and cast)."""
        values = [None] * len(self._nodes)
        for position, x in zip(self._input_positions, inputs):
            values[position] = x
        for position, step in self._plan:
            sources = step.sources
            arg = [values[s] for s in sources] if step.as_list else values[sources[0]]
            if step.fused is not None:
                value = step.fused.forward(arg, training=training)
            elif step.preactivation is not None:
                value = step.layer.forward_preactivation(arg, training=training, **step.preactivation)
            elif step.training_flag:
                value = step.layer.forward(arg, training=training)
            else:
                value = step.layer.forward(arg)
            if step.activation_after is not None:
                value = step.activation_after.forward(value)
            values[position] = value
        return values[-1]

    def backward(self, output_error: np.ndarray, skip_output_activation: bool = False) -> None:
        """Backpropagate dL/d(output) through every layer, filling each layer's ``grads``.

        With ``skip_output_activation`` the error is taken with respect to the output
        layer's pre-activation (the fused softmax / sigmoid + cross-entropy gradient).
        """
        errors = [None] * len(self._nodes)
        errors[-1] = output_error
        for position, step in reversed(self._plan):
            error = errors[position]
            errors[position] = None  # free it as soon as it is used
            layer = step.layer
            if step.activation_after is not None:
                error = step.activation_after.backward(error)
            if step.fused is not None:
                input_error = step.fused.backward(error)
                layer = step.fused.conv  # whose input error this is
            elif step.preactivation is not None or (skip_output_activation and layer is self.output_layer):
                input_error = layer.backward_preactivation(error)
            else:
                input_error = layer.backward(error)
            if not layer.needs_input_error:
                continue
            if not step.as_list:
                input_error = [input_error]
            for source, part in zip(step.sources, input_error):
                # Not in place: a layer may hand the same array to several inputs (Add).
                errors[source] = part if errors[source] is None else errors[source] + part

    def __call__(self, x):
        """``predict`` on one batch without batching (inference mode)."""
        return self.predict(x, batch_size=None, verbose=0)

    # --- compile -------------------------------------------------------------------------
    def compile(self, loss, optimizer="adam", metrics=None) -> None:
        """Choose the loss, the optimizer and the metrics reported during training.

        ``loss``: a name (``"mse"``, ``"categorical_crossentropy"``, ...) or a
        ``numnet.losses.Loss``. ``optimizer``: a name or an ``Optimizer``. ``metrics``: a
        list of names or ``Metric`` objects. When the output applies softmax and the loss
        is (sparse) categorical cross-entropy, or sigmoid and binary cross-entropy,
        training uses the fused, stable gradient ``(p - y) / N``.
        """
        if isinstance(loss, optimizers.Optimizer) or (
            isinstance(loss, str) and loss.lower() in optimizers._REGISTRY and loss.lower() not in loss_functions.NAMES
        ):
            raise ValueError(
                f"compile(loss, optimizer, metrics): {loss!r} is an optimizer, not a loss. "
                "Pass them by keyword: compile(loss=..., optimizer=...)."
            )
        loss = losses.get(loss)
        activation = self.output_layer.output_activation
        if loss.from_logits and activation in ("softmax", "sigmoid"):
            raise ValueError(
                f"The output layer {self.output_layer.name!r} already applies {activation} and the loss "
                f"{loss.name!r} has from_logits=True, so {activation} would be applied twice. Drop "
                f"from_logits=True, or remove the output activation."
            )
        self.loss = loss
        self.optimizer = optimizers.get(optimizer)
        n_outputs = self.output_shape[-1] if self.output_shape else None
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self.metrics = [metrics_module.get(m, loss.name, n_outputs) for m in metrics or []]
        names = ["loss"] + [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"Metric names must be unique and not 'loss'; got {names}.")
        self._fused = None if loss.from_logits else loss_functions.fused_gradient(loss.name, activation)
        self.compiled = True

    # --- training API (the loop lives in training.py) --------------------------------------
    def fit(self, x, y, epochs=1, batch_size=32, shuffle=True, validation_split=0.0, validation_data=None,
            callbacks=None, verbose=1, class_weight=None, sample_weight=None):
        """Train for ``epochs`` passes over ``(x, y)``; returns a ``History``.

        ``x``: ``(n_samples, *input_shape)`` (a list of such arrays for several inputs);
        ``y``: targets matching the output (integer labels ``(n_samples,)`` for a sparse
        loss). ``validation_split`` holds out a shuffled fraction; ``validation_data``
        is ``(x_val, y_val)``. ``verbose``: 0 silent, 1 progress bar, 2 one line per epoch.
        """
        return training.fit(self, x, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                            validation_split=validation_split, validation_data=validation_data,
                            callbacks=callbacks, verbose=verbose, class_weight=class_weight,
                            sample_weight=sample_weight)

    def evaluate(self, x, y, batch_size=32, sample_weight=None, verbose=0) -> dict:
        """The loss and metrics on ``(x, y)`` in inference mode: ``{"loss": ..., name: ...}``.
        Batches are split as in ``predict``; the loss and metrics are sums over samples, so
        the figures do not depend on how."""
        return training.evaluate(self, x, y, batch_size=batch_size, sample_weight=sample_weight, verbose=verbose)

    def predict(self, x, batch_size=32, verbose=0) -> np.ndarray:
        """Outputs for ``x`` in inference mode, ``(n_samples, *output_shape)`` in the model dtype.

        ``batch_size`` samples go through the model at a time, or fewer when a layer's
        output for that many would pass 4 MB (``training.INFERENCE_ACTIVATION_BYTES``): a
        wide conv layer's output then stays in cache. The predictions are the same, since
        inference in every numnet layer treats each sample on its own.
        """
        return training.predict(self, x, batch_size=batch_size, verbose=verbose)

    # --- weights -------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Every layer's ``get_weights()``, concatenated in layer order."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """Replace all weights from a list ordered as ``get_weights`` returns them."""
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Model {self.name!r} expects {expected} weight arrays, got {len(weights)}.")
        start = 0
        for layer in self.layers:
            count = len(layer.weights)
            layer.set_weights(weights[start:start + count])
            start += count

    def flat_parameters(self) -> FlatParameters:
        """The trainable parameters in one flat buffer (rebuilt when layers changed)."""
        flat = getattr(self, "_flat", None)
        if flat is None or not flat.intact(self.layers):
            flat = self._flat = FlatParameters(self.layers, self.dtype)
        return flat

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # --- saving and export (numnet.saving, numnet.onnx_export) ------------------------------
    def save(self, path) -> None:
        """Write the whole model (architecture, weights, optimizer state, compile settings) to
        one file; ``numnet.load_model(path)`` restores it. See ``numnet.saving``."""
        from . import saving

        saving.save_model(self, path)

    def save_weights(self, path) -> None:
        """Write only the weights; ``load_weights`` reads them into a model of the same layers."""
        from . import saving

        saving.save_weights(self, path)

    def load_weights(self, path) -> None:
        """Set every layer's weights from a file written by ``save_weights``."""
        from . import saving

        saving.load_weights(self, path)

    def export_onnx(self, path, opset=None, dtype=None) -> None:
        """Write the model for inference as an ONNX graph (needs ``pip install numnet[onnx]``)."""
        from . import onnx_export

        onnx_export.export_onnx(self, path, opset=opset, dtype=dtype)

    # --- summary -------------------------------------------------------------------------
    def summary(self, print_fn=print) -> None:
        """Print a table of layers, output shapes and parameter counts, with totals."""
        rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
        for layer in [*self.inputs, *self.layers]:
            shape = "(None, " + ", ".join(str(s) for s in layer.output_shape) + ")" if layer.output_shape else "?"
            shape = shape.replace(", )", ")")
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}",
                         ", ".join(p.name for p in layer.inbound)))
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(4)]
        line = "-" * sum(widths)
        trainable = sum(l.count_params() - sum(b.size for b in l.buffers.values())
                        for l in self.layers if l.trainable)
        total = self.count_params()
        out = [f'Model: "{self.name}"', line, "".join(c.ljust(w) for c, w in zip(rows[0], widths)), "=" * len(line)]
        out += ["".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows[1:]]
        out += [
            "=" * len(line),
            f"Total params: {total:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
            line,
        ]
        print_fn("\n".join(out))


class Sequential(Model):
    """A linear stack of layers, starting with an ``Input``::

        model = Sequential([Input((64,)), Dense(32, activation="relu"), Dense(10, activation="softmax")])

    Without an ``Input`` the model is built from the first data it sees.
    """

    def __init__(self, layers=None, dtype="float32", name: str | None = None, seed=None) -> None:
        self.dtype = _check_dtype(dtype)
        self.name = name or "sequential"
        self.rng = make_generator(seed)
        self.stop_training = False
        self.compiled = False
        self.history = None
        self._stack: list[Layer] = []
        self._deferred_compile = None
        self.inputs = []
        self.layers = []
        self.output_layer = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append ``layer`` to the stack (building it if the input shape is known)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a numnet layer, got {layer!r}.")
        if isinstance(layer, Input):
            if self._stack:
                raise ValueError("An Input can only be the first layer of a Sequential model.")
            self._stack.append(layer)
            return
        if layer.inbound or any(layer is l for l in self._stack):
            raise ValueError(f"Layer {layer.name!r} is already part of a model; create a new layer.")
        if not self._stack and layer.requested_input_shape is not None:
            self._stack.append(Input(layer.requested_input_shape))  # Dense(8, input_shape=(4,))
        self._stack.append(layer)
        if isinstance(self._stack[0], Input):
            layer(self._stack[-2])
            self._init_graph(self._stack[0], layer)
        if self.compiled and self._deferred_compile is None:
            self.compiled = False  # the output changed: compile again

    @property
    def built(self) -> bool:
        return self.output_layer is not None

    def build(self, input_shape) -> None:
        """Build the stack for inputs of ``input_shape`` (batch dimension excluded)."""
        if self.built:
            return
        if len(self._stack) == 0:
            raise ValueError("Add layers to the Sequential model before using it.")
        stack = self._stack
        self._stack = [Input(input_shape)]
        for layer in stack:
            self.add(layer)
        if self._deferred_compile is not None:
            args, self._deferred_compile = self._deferred_compile, None
            super().compile(*args)

    def compile(self, loss, optimizer="adam", metrics=None) -> None:
        if self.built:
            return super().compile(loss, optimizer, metrics)
        # No input shape yet: check the names now, compile when the first data builds the stack.
        losses.get(loss)
        optimizer = optimizers.get(optimizer)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            metrics = [metrics]  # one name, as Model.compile accepts: not its characters
        for m in metrics or []:
            metrics_module.get(m)
        self._deferred_compile = (loss, optimizer, metrics)
        self.compiled = True

    def _require_built(self, action: str) -> None:
        if not self.built:
            raise RuntimeError(
                f"Cannot {action} a Sequential model whose input shape is unknown: start it with "
                "numnet.Input(shape), or call model.build(input_shape) first."
            )

    def summary(self, print_fn=print) -> None:
        self._require_built("summarise")
        super().summary(print_fn)
