"""numnet.ops: eager tensors, ``keras.ops``-style ops and reverse-mode differentiation.

Ops take Tensors, Variables, NumPy arrays or Python scalars and return Tensors (NumPy
broadcasting rules). Inside ``with GradientTape() as tape:`` the ops that read a watched
value are recorded, and ``tape.gradient(loss, variables)`` returns their gradients. A
NumPy function with a hand-written backward becomes one op with ``primitive`` (or
``record``). See docs/ops.md for the list of ops, their gradients and the tape's rules.
"""

from .tensor import Tensor, Variable
from .tape import GradientTape, is_recording, primitive, record
from .spec import TensorSpec, infer_output_spec
from .math import (
    abs, absolute, add, cast, clip, cos, divide, dot, einsum, equal, erf, exp, expm1, greater,
    greater_equal, less, less_equal, log, log1p, logical_and, logical_not, logical_or, matmul,
    maximum, minimum, multiply, negative, not_equal, power, sign, sin, sqrt, square,
    stop_gradient, subtract, tanh, true_divide, where,
)
from .reduce import (
    amax, amin, argmax, argmin, logsumexp, max, mean, min, norm, prod, std, sum, var,
)
from .nn import (
    elu, gelu, leaky_relu, log_sigmoid, log_softmax, one_hot, relu, sigmoid, silu, softmax,
    softplus, swish,
)
from .crossentropy import binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy
from .shape import (
    broadcast_to, concatenate, expand_dims, getitem, reshape, shape, split, squeeze, stack, take,
    take_along_axis, transpose, tril, triu,
)
from .creation import (
    arange, convert_to_numpy, convert_to_tensor, eye, full, full_like, ones, ones_like, zeros,
    zeros_like,
)

# --- ops on symbolic tensors --------------------------------------------------------------
# Every op below, given a graph's SymbolicTensor (Input(...) and what layers return), adds an
# OpLayer node to the graph instead of computing (numnet.layers.op_layer); on anything else it
# is the op itself. The op modules keep calling each other unwrapped.
from . import symbolic as _symbolic  # noqa: E402

SYMBOLIC_OPS = _symbolic.install(globals(), exclude={
    "Tensor", "Variable", "GradientTape", "is_recording", "primitive", "record", "TensorSpec",
    "infer_output_spec", "convert_to_numpy", "shape",
})
