"""Core layers: ``Input`` and ``Dense``."""

from __future__ import annotations

import numpy as np

from .. import activation_functions, initializers
from .activation import Activation
from . import _validate
from .layer import Layer


def _as_shape(shape) -> tuple:
    return _validate.shape(shape, "shape", "Input", allow_none=True)


_INPUT_DTYPES = ("float32", "float64", "int32", "int64", "bool", "string")


class InputLayer(Layer):
    """The layer behind ``Input(...)``: it has no weights and its one node has no inputs.
    ``shape`` excludes the batch dimension."""

    _is_input_layer = True

    def __init__(self, shape, name: str | None = None, dtype=None, batch_size=None, sparse: bool = False,
                 **kwargs) -> None:
        dtype = _input_dtype(dtype)
        if sparse:
            raise ValueError("Input(sparse=True) is not supported: numnet has no sparse tensors; pass dense arrays "
                             "(sparse=False).")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or not 0 < batch_size <= _validate.MAX_INT):
            raise ValueError(f"Input batch_size must be a positive integer or None, got {batch_size!r}.")
        super().__init__(name=name or _unique_input_name(), **kwargs)
        self.shape = _as_shape(shape)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.input_dtype = None if dtype is None else ("string" if dtype == "string" else np.dtype(dtype).name)
        self.input_shape = self.output_shape = self.shape
        self.built = True
        from ..graph import Node, SymbolicTensor

        # A string input carries numpy unicode arrays ("<U..."): its tensor's dtype kind is "U".
        tensor_dtype = {None: "float32", "string": np.str_}.get(self.input_dtype, self.input_dtype)
        tensor = SymbolicTensor((self.batch_size, *self.shape), tensor_dtype, name=self.name)
        node = Node(self, [], False, [tensor], False)
        tensor.node = node
        self._inbound_nodes.append(node)

    @property
    def tensor(self):
        """The symbolic tensor this input stands for."""
        return self._inbound_nodes[0].outputs[0]

    def forward(self, input):
        return input

    def backward(self, output_error):
        return output_error

    def get_config(self) -> dict:
        config = {**super().get_config(), "shape": list(self.shape)}
        if self.input_dtype is not None:
            config["dtype"] = self.input_dtype
        if self.batch_size is not None:
            config["batch_size"] = self.batch_size
        return config


def _input_dtype(dtype):
    """``None``, ``"string"`` (also ``str``, numpy's unicode / bytes / object dtypes) or one of
    the numeric ``_INPUT_DTYPES``."""
    if dtype is None:
        return None
    if dtype in ("string", str, np.str_, bytes, np.bytes_, object):
        return "string"
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in _INPUT_DTYPES:
        raise ValueError(f"Input dtype must be one of {_INPUT_DTYPES}, got {dtype!r}.")
    return name


def _unique_input_name() -> str:
    from .layer import _unique_name

    return _unique_name("input_layer")


def Input(shape, batch_size=None, dtype=None, name: str | None = None, sparse: bool = False, **kwargs):
    """The entry of a graph: a symbolic tensor of shape ``(batch_size, *shape)``.

    ``Input((4,))``, ``Input((28, 28, 1))``, ``Input((None, 16))`` (a time axis whose
    length varies). Calling layers on it builds a graph:
    ``x = Input((4,)); y = Dense(3)(x); model = Model(x, y)``. ``name`` names the input
    (``fit`` and ``predict`` accept a dict keyed by it).
    """
    return InputLayer(shape, name=name, dtype=dtype, batch_size=batch_size, sparse=sparse, **kwargs).tensor


def resolve_activation(activation, owner: str) -> Activation | None:
    """``None`` / ``"linear"`` give no activation; a name or an ``Activation`` gives one,
    named after the layer ``owner`` that applies it."""
    from . import _callable_activation

    if isinstance(activation, Activation):
        activation = activation.activation_name
    if _callable_activation.is_foreign_callable(activation):  # written with numnet.ops: derivative by tape
        return Activation(activation, name=f"{owner}_{_callable_activation.name_of(activation)[9:]}")
    if activation is None or activation_functions.canonical_name(activation) == "linear":
        return None
    return Activation(activation, name=f"{owner}_{activation_functions.canonical_name(activation)}")


class ActivatedLayer(Layer):
    """A layer that computes ``z`` from its input and weights, then ``y = activation(z)``
    (Dense, Conv2D). Subclasses implement ``forward_preactivation(x) -> z`` and
    ``backward_preactivation(dL/dz) -> dL/dx``; ``forward`` and ``backward`` wrap them with
    the activation and its derivative.

    A model calls the ``_preactivation`` halves directly where the activation happens
    elsewhere: the fused softmax / sigmoid + cross-entropy gradient skips the output
    layer's derivative, and a relu before a MaxPool2D is moved after the pool.
    """

    def __init__(self, activation=None, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.activation = resolve_activation(activation, self.name)

    def forward(self, input, training=False):
        self.output = self._activate(self.forward_preactivation(input, training=training))
        return self.output

    def forward_preactivation(self, input, training=False):
        """``z`` for ``input``, remembering what ``backward_preactivation`` needs."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward_preactivation(input).")

    def _activate(self, z):
        """The activation of ``z``, a fresh array this layer owns (so it may be overwritten)."""
        return z if self.activation is None else self.activation.forward_owned(z)

    def backward(self, output_error):
        if self.activation is not None:
            output_error = self.activation.backward(output_error)
        return self.backward_preactivation(output_error)

    @property
    def output_activation(self) -> str | None:
        return None if self.activation is None else self.activation.activation_name

    def get_config(self) -> dict:
        if self.activation is not None:
            self.activation.get_config()  # a callable activation refuses here: it cannot be saved
        return {**super().get_config(), "activation": self.output_activation or "linear"}


class Dense(ActivatedLayer):
    """Fully connected layer: ``y = activation(x @ kernel + bias)``.

    Shapes: ``x`` is ``(n_samples, ..., inputs)``, ``kernel`` is ``(inputs, units)``,
    ``bias`` is ``(units,)``, ``y`` is ``(n_samples, ..., units)``.

    Backward, for ``g = dL/dy`` and ``d = activation'(z) * g`` (chain rule *first*):
    ``dL/dkernel = x^T d``, ``dL/dbias = sum_n d``, ``dL/dx = d kernel^T``.
    """

    weight_groups = {"kernel": ("kernel",), "bias": ("bias",)}  # kernel_regularizer=, bias_constraint=, ...

    supports_masking = True

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        name: str | None = None,
        **kwargs,
    ) -> None:
        units = _validate.positive_int(units, "units", "Dense")
        use_bias = _validate.flag(use_bias, "use_bias", "Dense")
        super().__init__(activation, name=name, **kwargs)
        self.units = units
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape) -> None:
        if not isinstance(input_shape, tuple) or len(input_shape) < 1:
            raise ValueError(f"Dense {self.name!r} expects one input of shape (..., features), got {input_shape}.")
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (self.units,)

    def forward_preactivation(self, input, training=False):
        if not self.built:
            self.build_for(input.shape[1:])
        self.input = input
        z = input @ self.params["kernel"]
        if self.use_bias:
            z += self.params["bias"]
        self.output = z
        return z

    def backward_preactivation(self, error):
        x = self.input
        if not isinstance(x, np.ndarray):  # None, or the symbolic input: no forward ran
            raise RuntimeError(f"Dense {self.name!r}: call forward(input) before backward(output_error).")
        if x.ndim > 2:  # (n, ..., inputs): every leading position is one more sample
            x = x.reshape(-1, x.shape[-1])
            error2d = error.reshape(-1, error.shape[-1])
        else:
            error2d = error
        self.grads["kernel"] = np.matmul(x.T, error2d, out=self.grad_buffer("kernel"))
        if self.use_bias:
            # The column sum as a product with ones: BLAS does it 3-4x faster than np.sum(axis=0).
            ones = np.ones(len(error2d), dtype=error2d.dtype)
            self.grads["bias"] = np.matmul(ones, error2d, out=self.grad_buffer("bias"))
        if not self.needs_input_error:
            return None
        return error @ self.params["kernel"].T

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
