"""``Sequential``: a linear stack of layers (or models), each fed by the one before."""

from __future__ import annotations

from ..graph import SymbolicTensor
from ..layers.core import Input, InputLayer
from ..layers.layer import Layer
from .model import Model


class Sequential(Model):
    """A linear stack of layers, starting with an ``Input``::

        model = Sequential([Input((64,)), Dense(32, activation="relu"), Dense(10, activation="softmax")])

    The first layer may carry ``input_shape=`` instead; without either, the model is
    built from the first data it sees (or ``model.build(input_shape)``). A layer of the
    stack may be a model, and a layer may be in several models (its weights are shared).
    """

    def __init__(self, layers=None, dtype="float32", name: str | None = None, seed=None,
                 trainable: bool = True) -> None:
        super().__init__(dtype=dtype, name=name, seed=seed, trainable=trainable)
        self._stack: list[Layer] = []
        self._input = None  # the stack's Input tensor, once the input shape is known
        self._deferred_compile = None
        self.inputs, self.outputs = [], []
        for layer in layers or []:
            self.add(layer)

    @staticmethod
    def _default_name() -> str:
        return "sequential"

    @classmethod
    def _defines_graph_later(cls) -> bool:
        return True

    @property
    def built(self) -> bool:
        return self._plan is not None

    @built.setter
    def built(self, value) -> None:
        pass  # derived from the graph

    def add(self, layer) -> None:
        """Append ``layer`` (or a model) to the stack, building it if the input shape is known."""
        if isinstance(layer, SymbolicTensor) and layer.node is not None and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer  # Sequential([Input((4,)), ...]), as in Keras
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a numnet layer, got {layer!r}.")
        if layer is self:
            raise ValueError("A Sequential model cannot contain itself.")
        if isinstance(layer, InputLayer):
            if self._stack or self._input is not None:
                raise ValueError("An Input can only be the first layer of a Sequential model.")
            self._input = layer.tensor
            return
        if any(layer is l for l in self._stack):
            raise ValueError(f"Layer {layer.name!r} is already in this Sequential model; create a new layer.")
        if self._input is None and not self._stack and layer.requested_input_shape is not None:
            # Dense(8, input_shape=(4,)); a string preprocessing layer declares a string input.
            self._input = Input(layer.requested_input_shape, dtype=getattr(layer, "_input_dtype", None))
        self._stack.append(layer)
        self.layers = list(self._stack)
        if self._input is not None:
            previous = self.outputs[0] if self._plan is not None else self._input
            self._connect(previous, [layer])
        if self.compiled and self._deferred_compile is None:
            self.compiled = False  # the output changed: compile again

    def pop(self) -> Layer:
        """Remove the last layer of the stack and return it."""
        if not self._stack:
            raise ValueError("Sequential.pop: the model has no layers.")
        layer = self._stack.pop()
        if self._plan is not None:
            node = self.outputs[0].node
            if node in layer._inbound_nodes:
                layer._inbound_nodes.remove(node)
            if self._stack:
                self._init_graph(self._input, node.inputs[0])
            else:
                self._plan, self.layers, self.inputs, self.outputs = None, [], [], []
        self.compiled = False
        return layer

    def _connect(self, tensor, layers) -> None:
        for layer in layers:
            tensor = layer(tensor)
            if not isinstance(tensor, SymbolicTensor):
                raise ValueError(f"Layer {layer.name!r} of a Sequential model must return one tensor.")
        self._init_graph(self._input, tensor)

    def build(self, input_shape) -> None:
        """Build the stack for inputs of ``input_shape`` (batch dimension excluded)."""
        if self._plan is not None:
            return
        if not self._stack:
            raise ValueError("Add layers to the Sequential model before using it.")
        self._input = Input(tuple(input_shape), dtype=getattr(self._stack[0], "_input_dtype", None))
        self._connect(self._input, self._stack)
        if self._deferred_compile is not None:
            args, self._deferred_compile = self._deferred_compile, None
            self.compile(**args)

    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None, **kwargs) -> None:
        if self._plan is not None:
            return super().compile(optimizer, loss, loss_weights=loss_weights, metrics=metrics, **kwargs)
        # No input shape yet: check the names now, compile when the first data builds the stack.
        from ..training.compile import precheck

        precheck(optimizer, loss, metrics)
        self._deferred_compile = dict(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                                      **kwargs)
        self.compiled = True

    def _require_built(self, action: str) -> None:
        if self._plan is None:
            raise RuntimeError(
                f"Cannot {action} a Sequential model whose input shape is unknown: start it with "
                "numnet.Input(shape), or call model.build(input_shape) first."
            )

    def summary(self, print_fn=print, expand_nested: bool = False) -> None:
        self._require_built("summarise")
        super().summary(print_fn, expand_nested)
