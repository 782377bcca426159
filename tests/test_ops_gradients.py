"""Every numnet.ops gradient against central differences, in float64, on random shapes.

For an op ``f`` and a fixed random projection ``w``, the tape's gradient of
``L = sum(w * f(x...))`` with respect to each input must match the central difference
``(L(x + h e_j) - L(x - h e_j)) / 2h`` for every element ``j`` (inputs are small, so each
element is perturbed). Shapes, axes and broadcasting come from hypothesis; the values
come from a seeded generator (hypothesis draws the seed), shifted into an op's domain.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numnet
from numnet import ops

H = 1e-6
TOL = 1e-6
FEW = settings(max_examples=12, deadline=None)

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nonscalar = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**31 - 1)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def numeric_grad(fn, arrays, i, w):
    """Central differences of sum(w * fn(*arrays)) with respect to arrays[i]."""
    x = arrays[i]
    grad = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + H
        plus = np.sum(w * np.asarray(fn(*arrays)))
        x[j] = old - H
        minus = np.sum(w * np.asarray(fn(*arrays)))
        x[j] = old
        grad[j] = (plus - minus) / (2 * H)
    return grad


def check(fn, *arrays, seed=0, wrt=None):
    """Assert the tape's gradients of ``fn`` equal central differences for inputs ``wrt``
    (default: all). Returns the analytic gradients."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    wrt = range(len(arrays)) if wrt is None else wrt
    tensors = [ops.convert_to_tensor(a) for a in arrays]
    rng = np.random.default_rng(seed + 1)
    with numnet.GradientTape() as tape:
        tape.watch(tensors)
        y = fn(*tensors)
        w = rng.standard_normal(y.shape)
        loss = ops.sum(y * w)
    assert y.dtype == np.float64
    grads = tape.gradient(loss, tensors)
    for i in wrt:
        expected = numeric_grad(fn, arrays, i, w)
        got = grads[i]
        assert got is not None, f"input {i} got no gradient"
        assert got.shape == arrays[i].shape
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        err = float(np.max(np.abs(got.numpy() - expected), initial=0.0))
        assert err <= TOL * scale, f"input {i}: max error {err:.3g} (scale {scale:.3g})"
    return grads


def normal(seed, *shapes_):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes_]


def positive(seed, shape):
    return np.abs(normal(seed, shape)[0]) + 0.5


# --- elementwise unary ----------------------------------------------------------------------

UNARY = {
    "negative": ops.negative,
    "square": ops.square,
    "abs": ops.abs,
    "exp": ops.exp,
    "expm1": ops.expm1,
    "sin": ops.sin,
    "cos": ops.cos,
    "tanh": ops.tanh,
    "erf": ops.erf,
    "sigmoid": ops.sigmoid,
    "log_sigmoid": ops.log_sigmoid,
    "relu": ops.relu,
    "leaky_relu": lambda x: ops.leaky_relu(x, 0.1),
    "elu": ops.elu,
    "softplus": ops.softplus,
    "silu": ops.silu,
    "gelu_tanh": ops.gelu,
    "gelu_exact": lambda x: ops.gelu(x, approximate=False),
    "unary_minus": lambda x: -x,
    "abs_builtin": lambda x: abs(x),
    "pow_scalar": lambda x: x**3,
    "rpow": lambda x: 1.5**x,
    "cast_same": lambda x: ops.cast(x, "float64"),
    "stacked": lambda x: ops.tanh(ops.exp(x) * 0.5 + x),
}
POSITIVE = {"sqrt": ops.sqrt, "log": ops.log, "log1p": ops.log1p, "pow_half": lambda x: x**0.5}


@pytest.mark.parametrize("name", sorted(UNARY))
@FEW
@given(shape=shapes, seed=seeds)
def test_unary(name, shape, seed):
    (x,) = normal(seed, shape)
    check(UNARY[name], x, seed=seed)


@pytest.mark.parametrize("name", sorted(POSITIVE))
@FEW
@given(shape=shapes, seed=seeds)
def test_unary_positive_domain(name, shape, seed):
    check(POSITIVE[name], positive(seed, shape), seed=seed)


# --- elementwise binary with broadcasting -----------------------------------------------------

BINARY = {
    "add": ops.add,
    "subtract": ops.subtract,
    "multiply": ops.multiply,
    "maximum": ops.maximum,
    "minimum": ops.minimum,
    "op_add": lambda a, b: a + b,
    "op_sub": lambda a, b: a - b,
    "op_mul": lambda a, b: a * b,
    "same_twice": lambda a, b: a * a + b * a,
    "where": lambda a, b: ops.where(a > 0.1, a, b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@FEW
@given(shapes_=pairs, seed=seeds)
def test_binary_broadcasting(name, shapes_, seed):
    a, b = normal(seed, *shapes_.input_shapes)
    check(BINARY[name], a, b, seed=seed)


@FEW
@given(shapes_=pairs, seed=seeds)
def test_divide_and_power_broadcasting(shapes_, seed):
    sa, sb = shapes_.input_shapes
    a = normal(seed, sa)[0]
    b = positive(seed + 7, sb)
    check(ops.divide, a, b, seed=seed)
    check(lambda x, y: x / y, a, b, seed=seed)
    check(ops.power, positive(seed, sa), normal(seed + 3, sb)[0], seed=seed)


@FEW
@given(shapes_=pairs, seed=seeds)
def test_reversed_operators_with_numpy_constants(shapes_, seed):
    sa, sb = shapes_.input_shapes
    a = normal(seed, sa)[0]
    c = positive(seed + 1, sb)
    check(lambda x: c + x, a, seed=seed)
    check(lambda x: c - x, a, seed=seed)
    check(lambda x: c * x, a, seed=seed)
    check(lambda x: c / (ops.abs(x) + 1), a, seed=seed)
    check(lambda x: c ** ops.tanh(x), a, seed=seed)


@FEW
@given(shape=shapes, seed=seeds)
def test_clip(shape, seed):
    (x,) = normal(seed, shape)
    check(lambda t: ops.clip(t, -0.5, 0.7), x, seed=seed)


# --- reductions ---------------------------------------------------------------------------


@st.composite
def shape_and_axis(draw):
    shape = draw(nonscalar)
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd, nd - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)))
    return shape, axis, draw(st.booleans())


REDUCTIONS = {
    "sum": ops.sum,
    "mean": ops.mean,
    "max": ops.max,
    "min": ops.min,
    "prod": ops.prod,
    "var": ops.var,
    "std": ops.std,
    "logsumexp": ops.logsumexp,
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@FEW
@given(case=shape_and_axis(), seed=seeds)
def test_reductions(name, case, seed):
    shape, axis, keepdims = case
    reduced = shape if axis is None else [shape[a] for a in np.atleast_1d(axis)]
    # std of one element is 0, where its derivative is undefined.
    assume(name != "std" or np.prod(reduced) >= 2)
    (x,) = normal(seed, shape)
    check(lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims), x, seed=seed)


def test_prod_with_a_zero_is_exact():
    x = np.array([[2.0, 0.0, 3.0], [1.0, 4.0, -1.0]])
    grads = check(lambda t: ops.prod(t, axis=1), x)
    with numnet.GradientTape() as tape:
        t = ops.convert_to_tensor(x)
        tape.watch(t)
        y = ops.sum(ops.prod(t, axis=1))
    np.testing.assert_array_equal(tape.gradient(y, t).numpy(), [[0.0, 6.0, 0.0], [-4.0, -1.0, 4.0]])
    assert grads[0].shape == x.shape


def test_max_splits_the_gradient_among_ties():
    x = ops.convert_to_tensor(np.array([1.0, 3.0, 3.0, 2.0]))
    with numnet.GradientTape() as tape:
        tape.watch(x)
        y = ops.max(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 0.5, 0.5, 0.0])


@pytest.mark.parametrize("ord", [None, 1, 2, 3, np.inf, -np.inf, 0.5])
@FEW
@given(shape=nonscalar, seed=seeds, keepdims=st.booleans())
def test_vector_norm(ord, shape, seed, keepdims):
    (x,) = normal(seed, shape)
    check(lambda t: ops.norm(t, ord=ord, axis=-1, keepdims=keepdims), x, seed=seed)


@pytest.mark.parametrize("ord", ["fro", "nuc", None])
@FEW
@given(shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=4), seed=seeds)
def test_matrix_norm(ord, shape, seed):
    (x,) = normal(seed, shape)
    check(lambda t: ops.norm(t, ord=ord, axis=(-2, -1)), x, seed=seed)
    check(lambda t: ops.norm(t), x, seed=seed)  # all elements


@pytest.mark.parametrize("op", [ops.softmax, ops.log_softmax])
@FEW
@given(case=shape_and_axis(), seed=seeds)
def test_softmax_family(op, case, seed):
    shape, axis, _ = case
    (x,) = normal(seed, shape)
    axis = -1 if axis is None else axis
    check(lambda t: op(t, axis=axis), x, seed=seed)


# --- products -------------------------------------------------------------------------------


@st.composite
def matmul_shapes(draw):
    m, k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3)).input_shapes
    a = draw(st.sampled_from([(k,), batch[0] + (m, k)]))
    b = draw(st.sampled_from([(k,), batch[1] + (k, n)]))
    return a, b


@FEW
@given(sh=matmul_shapes(), seed=seeds)
def test_matmul(sh, seed):
    a, b = normal(seed, *sh)
    check(ops.matmul, a, b, seed=seed)
    check(lambda x, y: x @ y, a, b, seed=seed)


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (3,)), ((2, 2, 3), (4, 3, 2)),
        ((3,), (2, 3, 4)),
    ],
)
def test_dot(sa, sb):
    a, b = normal(5, sa, sb)
    check(ops.dot, a, b)
    np.testing.assert_allclose(ops.dot(a, b).numpy(), np.dot(a, b), rtol=1e-12)


@pytest.mark.parametrize(
    "spec, shapes_",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ij,jk", [(2, 3), (3, 4)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
        ("ij->", [(3, 4)]),
        ("ij->j", [(3, 4)]),
        ("i,j->ij", [(3,), (2,)]),
        ("ij,j->ij", [(3, 2), (2,)]),
        ("i,i->", [(4,), (4,)]),
        ("ij->ji", [(2, 3)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
        ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
        ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
        ("ab,cd->abcd", [(1, 2), (2, 1)]),
    ],
)
def test_einsum(spec, shapes_):
    arrays = normal(11, *shapes_)
    check(lambda *t: ops.einsum(spec, *t), *arrays)
    np.testing.assert_allclose(ops.einsum(spec, *arrays).numpy(), np.einsum(spec, *arrays), rtol=1e-12)


# --- shapes, joins, gathers, indexing ---------------------------------------------------------


@FEW
@given(shape=nonscalar, seed=seeds, data=st.data())
def test_reshape_transpose_expand_squeeze_broadcast(shape, seed, data):
    (x,) = normal(seed, shape)
    perm = data.draw(st.permutations(range(len(shape))))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda t: ops.reshape(t, (-1,)) * np.arange(x.size), x, seed=seed)
    check(lambda t: ops.transpose(t, perm), x, seed=seed)
    check(lambda t: t.T, x, seed=seed)
    check(lambda t: ops.expand_dims(t, axis), x, seed=seed)
    check(lambda t: ops.squeeze(ops.expand_dims(t, axis)), x, seed=seed)
    check(lambda t: ops.broadcast_to(t, (2,) + shape), x, seed=seed)


@FEW
@given(shape=nonscalar, seed=seeds, data=st.data())
def test_concatenate_stack_split(shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[axis] = data.draw(st.integers(1, 3))
    a, b, c = normal(seed, shape, tuple(other), shape)
    check(lambda x, y: ops.concatenate([x, y], axis=axis), a, b, seed=seed)
    check(lambda x, y: ops.stack([x, y, x], axis=axis), a, c, seed=seed)
    n = shape[axis]
    sections = data.draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))

    def pieces(x):
        parts = ops.split(x, sections, axis=axis)
        return ops.concatenate([p * (i + 1) for i, p in enumerate(parts)], axis=axis)

    check(pieces, a, seed=seed)
    check(lambda x: ops.split(x, sections, axis=axis)[0] * 2.0, a, seed=seed)  # unused pieces get zeros


@FEW
@given(shape=nonscalar, seed=seeds, data=st.data())
def test_take_and_take_along_axis(shape, seed, data):
    (x,) = normal(seed, shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(seed)
    idx = rng.integers(-shape[axis], shape[axis], size=(2, 3))  # repeats and negative indices
    check(lambda t: ops.take(t, idx, axis=axis), x, seed=seed)
    flat_idx = rng.integers(0, x.size, size=5)
    check(lambda t: ops.take(t, flat_idx), x, seed=seed)
    along = list(shape)
    along[axis] = 3
    idx2 = rng.integers(0, shape[axis], size=along)
    check(lambda t: ops.take_along_axis(t, idx2, axis=axis), x, seed=seed)
    flat_idx2 = rng.integers(0, x.size, size=4)
    check(lambda t: ops.take_along_axis(t, flat_idx2, axis=None), x, seed=seed)


def test_take_along_axis_broadcasts_indices():
    (x,) = normal(3, (4, 5))
    idx = np.array([[0, 4, 4]])  # (1, 3) broadcast over x's 4 rows
    check(lambda t: ops.take_along_axis(t, idx, axis=1), x)
    np.testing.assert_array_equal(ops.take_along_axis(x, idx, axis=1).numpy(), np.take_along_axis(x, idx, axis=1))


@pytest.mark.parametrize(
    "key",
    [
        (slice(None), 0),
        (Ellipsis, slice(1, None)),
        (0,),
        (slice(None, None, -1), None),
        (np.array([0, 2, 2, 0]),),
        (slice(None), np.array([1, 1, 0])),
        (np.array([0, 1]), np.array([2, 2])),
        (Ellipsis, np.array([[0, 1], [1, 1]])),
    ],
)
def test_indexing(key, seed=0):
    (x,) = normal(seed, (3, 4, 2) if len(key) < 3 else (3, 4, 2))
    check(lambda t: t[key], x)
    np.testing.assert_array_equal(ops.convert_to_tensor(x)[key].numpy(), x[key])


def test_boolean_mask_and_tensor_indices():
    (x,) = normal(1, (3, 4))
    mask = x > 0
    check(lambda t: t[mask], x)
    check(lambda t: t[t > 0] * 3.0, x)
    idx = ops.convert_to_tensor(np.array([2, 0, 2]))
    check(lambda t: t[idx], x)


@pytest.mark.parametrize("k", [-1, 0, 1])
def test_tril_triu(k):
    (x,) = normal(2, (2, 3, 4))
    check(lambda t: ops.tril(t, k), x)
    check(lambda t: ops.triu(t, k), x)


# --- composites ------------------------------------------------------------------------------


@FEW
@given(shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=4), seed=seeds)
def test_layer_norm_composite(shape, seed):
    x, gamma = normal(seed, shape, shape[-1:])

    def layer_norm(t, g):
        mu = ops.mean(t, axis=-1, keepdims=True)
        return (t - mu) / ops.sqrt(ops.var(t, axis=-1, keepdims=True) + 1e-3) * g

    check(layer_norm, x, gamma, seed=seed)


def test_cast_gradient_keeps_source_dtype():
    x = ops.convert_to_tensor(np.array([1.0, 2.0], dtype=np.float32))
    with numnet.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.cast(x, "float64") * np.array([3.0, 4.0]))
    g = tape.gradient(y, x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g.numpy(), [3.0, 4.0])


FLOAT32_CASES = {
    **{f"unary_{k}": (v, 1) for k, v in UNARY.items() if k != "cast_same"},
    **{f"positive_{k}": (v, 1) for k, v in POSITIVE.items()},
    **{f"binary_{k}": (v, 2) for k, v in BINARY.items()},
    **{f"reduce_{k}": ((lambda f: lambda t: f(t, axis=1))(v), 1) for k, v in REDUCTIONS.items()},
    "softmax": (ops.softmax, 1),
    "log_softmax": (ops.log_softmax, 1),
    "norm": (lambda t: ops.norm(t, axis=-1), 1),
    "nuc": (lambda t: ops.norm(t, ord="nuc", axis=(0, 1)), 1),
    "matmul": (lambda a, b: a @ ops.transpose(b), 2),
    "einsum": (lambda a, b: ops.einsum("ij,kj->ik", a, b), 2),
    "getitem": (lambda t: t[:, np.array([0, 0, 2])], 1),
    "take_along_axis": (lambda t: ops.take_along_axis(t, np.array([[1], [0], [2]]), axis=1), 1),
    "clip": (lambda t: ops.clip(t, None, 1.0), 1),
    "divide": (lambda a, b: a / (ops.abs(b) + 1.0), 2),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CASES))
def test_float32_stays_float32_forward_and_backward(name):
    """A float32 computation gives float32 results and float32 gradients (Python scalars
    and the ops' constants do not promote it), close to the float64 values."""
    fn, n_inputs = FLOAT32_CASES[name]
    arrays = [np.abs(a) + 0.5 for a in normal(9, *[(3, 3)] * n_inputs)]
    for dtype in (np.float32, np.float64):
        tensors = [ops.convert_to_tensor(a.astype(dtype)) for a in arrays]
        with numnet.GradientTape() as tape:
            tape.watch(tensors)
            y = fn(*tensors)
            loss = ops.sum(y)
        grads = tape.gradient(loss, tensors)
        if dtype == np.float32:
            assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
            y32, g32 = y.numpy(), [g.numpy() for g in grads]
        else:
            np.testing.assert_allclose(y32, y.numpy(), rtol=1e-5, atol=1e-5)
            for a, b in zip(g32, grads):
                np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("from_logits", [True, False])
def test_crossentropies(from_logits):
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((4, 3))
    probs = rng.uniform(0.05, 0.95, (4, 3))
    output = logits if from_logits else probs
    soft = rng.dirichlet(np.ones(3), size=4)
    labels = np.array([0, 2, 1, 2])
    check(lambda o, t: ops.binary_crossentropy(t, o, from_logits=from_logits), output, soft)
    check(lambda o, t: ops.categorical_crossentropy(t, o, from_logits=from_logits), output, soft)
    check(lambda o: ops.sparse_categorical_crossentropy(labels, o, from_logits=from_logits), output)
    check(lambda o: ops.sparse_categorical_crossentropy(labels[:, None], o, from_logits=from_logits, axis=0),
          output[:, :3].T.copy())
