"""The seed's ``Activation`` layer: an activation function as a ``Layer``."""

from __future__ import annotations

from .. import activation_functions
from . import _callable_activation
from .layer import Layer


class Activation(Layer):
    """Applies ``activation_functions.get_function(activation)`` elementwise.

    ``forward(x)``: any shape ``(n_samples, ...)``; softmax acts on the last axis.
    ``backward(g)``: the vector-Jacobian product ``dL/dx`` for ``g = dL/dy``.
    The layer's ``name`` defaults to the activation's name, as in the seed; a model that
    holds several such default-named layers numbers the repeats (``relu``, ``relu_1``).
    """

    supports_masking = True

    def __init__(self, activation_function: str, name: str | None = None, **kwargs) -> None:
        if _callable_activation.is_foreign_callable(activation_function):  # a callable written with numnet.ops
            key = _callable_activation.name_of(activation_function)
            super().__init__(name=name or key[len(_callable_activation.PREFIX):], **kwargs)
            self.activation_name = key
            self.default_name = name is None
            self.activation, self.activation_derivative = _callable_activation.functions(activation_function)
            self._derivative_from_output = self._in_place = None
            return
        key = activation_functions.canonical_name(activation_function)
        super().__init__(name=name or activation_functions.canonical_name(activation_function), **kwargs)
        self.activation_name = key
        self.default_name = name is None  # a model may rename it to keep names unique
        self.activation, self.activation_derivative = activation_functions.get_function(key)
        self._derivative_from_output = activation_functions.get_output_derivative(key)
        self._in_place = activation_functions.get_in_place(key)

    def forward(self, input_data):
        self.input = input_data
        self.output = self.activation(input_data)
        return self.output

    def forward_owned(self, z):
        """``forward`` for an array that nobody else holds (a layer's fresh pre-activation):
        overwritten in place where the backward pass needs only the output, which saves
        allocating and writing a second array of the same size."""
        if self._in_place is None:
            return self.forward(z)
        self.input = None
        self.output = self._in_place(z)
        return self.output

    def backward(self, output_error):
        if self._derivative_from_output is not None:
            return self._derivative_from_output(self.output, output_error)
        return self.activation_derivative(self.input, output_error)

    @property
    def output_activation(self) -> str:
        return self.activation_name

    def backward_preactivation(self, error):
        return error

    def get_config(self) -> dict:
        if self.activation_name.startswith(_callable_activation.PREFIX):
            raise TypeError(f"Layer {self.name!r} applies the callable activation {self.activation_name[9:]!r}, "
                            "which cannot be saved: use a name or a numnet.activations function, or write a custom "
                            "layer (register_layer).")
        return {**super().get_config(), "activation_function": self.activation_name}
