"""GradientTape semantics, Tensor / Variable behaviour, primitives, shape inference and
the documented errors of numnet.ops."""

from __future__ import annotations

import math

import numpy as np
import pytest

import numnet
from numnet import ops
from numnet.ops import GradientTape, Tensor, Variable


def var(values, **kw):
    return Variable(np.array(values, dtype=np.float64), **kw)


# --- Tensor and Variable ---------------------------------------------------------------------


def test_tensor_wraps_an_array_and_converts_back():
    a = np.arange(6.0).reshape(2, 3)
    t = ops.convert_to_tensor(a)
    assert t.shape == (2, 3) and t.dtype == np.float64 and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.numpy() is a and np.asarray(t) is a
    c = ops.convert_to_numpy(t)
    c[0, 0] = 99.0  # a copy: the tensor is untouched
    assert a[0, 0] == 0.0
    assert [r.numpy().tolist() for r in t] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert float(ops.sum(t)) == 15.0


def test_convert_to_tensor_keeps_tensors_and_casts_on_the_tape():
    v = var([1.0, 2.0])
    with GradientTape() as tape:
        same = ops.convert_to_tensor(v)
        as32 = ops.convert_to_tensor(v, dtype="float32")
        y = ops.sum(as32 * 3.0)
    assert same is v and as32.dtype == np.float32
    g = tape.gradient(y, v)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])


def test_python_values_follow_keras_dtypes():
    assert ops.convert_to_tensor(1.5).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32
    assert ops.convert_to_tensor(np.array([1, 2])).dtype == np.int64  # arrays keep theirs
    assert ops.zeros((2,)).dtype == np.float32
    assert ops.full((2,), 3).dtype == np.float32
    assert ops.arange(3).dtype == np.int32 and ops.arange(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_array_equal(ops.arange(1, 7, 2).numpy(), [1, 3, 5])
    x32 = ops.ones((2,))
    assert (x32 * 2.0).dtype == np.float32  # Python scalars are weak: float32 stays float32


def test_operators_with_numpy_on_either_side_return_tensors():
    a = np.array([1.0, 2.0, 4.0])
    t = ops.convert_to_tensor(np.array([2.0, 2.0, 2.0]))
    for result, expected in [
        (a + t, [3, 4, 6]), (a - t, [-1, 0, 2]), (a * t, [2, 4, 8]), (a / t, [0.5, 1, 2]),
        (a**t, [1, 4, 16]), (t - a, [1, 0, -2]), (2.0 - t, [0, 0, 0]), (-t, [-2, -2, -2]),
        (np.float64(3.0) * t, [6, 6, 6]),
    ]:
        assert isinstance(result, Tensor)
        np.testing.assert_array_equal(result.numpy(), expected)
    m = np.eye(3)
    assert isinstance(m @ t, Tensor) and isinstance(t @ m, Tensor)


def test_comparisons_are_boolean_and_carry_no_gradient():
    x = var([1.0, -2.0, 3.0])
    with GradientTape() as tape:
        mask = x > 0
        y = ops.sum(ops.cast(mask, "float64"))
        z = ops.sum(x * mask)
    assert mask.dtype == np.bool_
    np.testing.assert_array_equal(mask.numpy(), [True, False, True])
    np.testing.assert_array_equal((x == 3.0).numpy(), [False, False, True])
    np.testing.assert_array_equal((x <= -2.0).numpy(), [False, True, False])
    assert tape.gradient(y, x) is None  # the path runs through booleans
    assert {x: 1}[x] == 1  # hashable by identity although == is elementwise


def test_variable_assign_writes_into_a_flat_buffer_view():
    flat = np.zeros(6)
    v = Variable(flat[2:6].reshape(2, 2), name="kernel")
    assert v.name == "kernel" and v.trainable
    v.assign(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(flat, [0, 0, 1, 2, 3, 4])
    v.assign_sub(np.ones((2, 2)))
    np.testing.assert_array_equal(flat, [0, 0, 0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"assign expects shape \(2, 2\), got \(3,\)"):
        v.assign(np.ones(3))
    np.testing.assert_array_equal(flat, [0, 0, 0, 1, 2, 3])  # unchanged by the failed assign


def test_variable_from_callable_initializer():
    v = Variable(lambda shape, dtype: np.full(shape, 0.5, dtype), shape=(2, 3), dtype="float32")
    assert v.shape == (2, 3) and v.dtype == np.float32 and float(v.numpy()[0, 0]) == 0.5
    with pytest.raises(ValueError, match="callable initializer needs shape"):
        Variable(lambda shape, dtype: np.zeros(shape))


# --- the tape --------------------------------------------------------------------------------


def test_gradient_of_a_simple_function_and_sources_structures():
    w = var([[1.0, 2.0], [3.0, 4.0]])
    b = var([0.5, -0.5])
    x = np.array([[1.0, -1.0]])
    with GradientTape(persistent=True) as tape:
        y = ops.sum(ops.square(x @ w + b))
    z = x @ w.numpy() + b.numpy()  # dL/dz = 2 z
    expected_w, expected_b = x.T @ (2 * z), (2 * z).sum(0)
    g = tape.gradient(y, [w, b])
    assert isinstance(g, list)
    np.testing.assert_allclose(g[0].numpy(), expected_w)
    np.testing.assert_allclose(g[1].numpy(), expected_b)
    gd = tape.gradient(y, {"w": w, "nested": (b,)})
    assert set(gd) == {"w", "nested"} and isinstance(gd["nested"], tuple)
    np.testing.assert_allclose(gd["nested"][0].numpy(), expected_b)
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), expected_w)  # a single source


def test_non_scalar_target_is_differentiated_through_its_sum_or_output_gradients():
    x = var([1.0, 2.0, 3.0])
    with GradientTape(persistent=True) as tape:
        y = x * x
        total = ops.sum(x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(tape.gradient(y, x, output_gradients=np.array([1.0, 0.0, -1.0])).numpy(),
                               [2.0, 0.0, -6.0])
    np.testing.assert_allclose(tape.gradient([y, total], x).numpy(), [3.0, 5.0, 7.0])


def test_non_persistent_tape_refuses_a_second_gradient():
    x = var([1.0, 2.0])
    with GradientTape() as tape:
        y = ops.sum(ops.exp(x))
    first = tape.gradient(y, x)
    np.testing.assert_allclose(first.numpy(), np.exp([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="only be called once on a non-persistent tape"):
        tape.gradient(y, x)
    np.testing.assert_allclose(x.numpy(), [1.0, 2.0])  # nothing changed


def test_unconnected_and_integer_sources_give_none():
    x, unused = var([1.0, 2.0]), var([5.0])
    ints = Tensor(np.array([1, 2]))
    with GradientTape(persistent=True) as tape:
        tape.watch(ints)
        y = ops.sum(x * ints)  # ints is on the path but integer
        k = ops.argmax(x)
        z = ops.sum(ops.take(x, k))  # an integer index: x still gets its gradient
    g_x, g_unused, g_ints = tape.gradient(y, [x, unused, ints])
    np.testing.assert_allclose(g_x.numpy(), [1.0, 2.0])
    assert g_unused is None and g_ints is None
    np.testing.assert_array_equal(tape.gradient(y, unused, unconnected_gradients="zero").numpy(), [0.0])
    assert tape.gradient(ops.cast(k, "float64"), x) is None  # argmax has no gradient
    np.testing.assert_allclose(tape.gradient(z, x).numpy(), [0.0, 1.0])


def test_a_target_the_tape_did_not_record_gives_none_and_a_plain_array_is_a_type_error():
    x = var([1.0, 2.0])
    outside = ops.sum(x * 2.0)  # computed before the tape
    with GradientTape(persistent=True) as tape:
        y = ops.sum(x * 2.0)
    assert tape.gradient(outside, x) is None
    with pytest.raises(TypeError, match="each target must be a numnet Tensor or Variable.*got ndarray"):
        tape.gradient(np.asarray(y), x)
    with pytest.raises(TypeError, match="each source must be a numnet Tensor or Variable.*got ndarray"):
        tape.gradient(y, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="unconnected_gradients must be 'none' or 'zero'"):
        tape.gradient(y, x, unconnected_gradients="zeros")


def test_plain_tensors_need_watch_and_variables_are_watched_when_read():
    t = ops.convert_to_tensor(np.array([1.0, 2.0]))
    v = var([3.0, 4.0])
    frozen = var([1.0, 1.0], trainable=False)
    with GradientTape(persistent=True) as tape:
        y = ops.sum(t * v * frozen)
    assert tape.gradient(y, t) is None
    assert tape.gradient(y, frozen) is None  # non-trainable Variables are not auto-watched
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [1.0, 2.0])
    assert tape.watched_variables() == [v]
    with GradientTape(watch_accessed_variables=False) as tape2:
        tape2.watch(t)
        y2 = ops.sum(t * v)
    np.testing.assert_allclose(tape2.gradient(y2, [t, v])[0].numpy(), [3.0, 4.0])
    with pytest.raises(TypeError, match="watch expects Tensors or Variables, got ndarray"):
        tape2.watch(np.zeros(2))


def test_stop_gradient_stop_recording_and_nested_tapes():
    x = var([2.0])
    with GradientTape(persistent=True) as outer:
        with GradientTape() as inner:
            y = x * x
            frozen = ops.stop_gradient(y) * x
            with inner.stop_recording():
                hidden = y * 10.0
            target = y + frozen
        z = y * 3.0
    np.testing.assert_allclose(inner.gradient(target, x).numpy(), [4.0 + 4.0])  # d(x^2)/dx + y
    np.testing.assert_allclose(outer.gradient(z, x).numpy(), [12.0])  # outer saw ops inside inner
    np.testing.assert_allclose(outer.gradient(hidden, x).numpy(), [40.0])  # only inner stopped
    assert not ops.is_recording()


def test_no_recording_outside_a_tape():
    x = var([1.0])
    with GradientTape() as tape:
        pass
    y = ops.exp(x)  # after the block
    assert tape.gradient(y, x) is None


def test_gradient_accumulates_over_shared_uses_and_keeps_float32():
    w = Variable(np.array([1.0, 2.0], dtype=np.float32))
    with GradientTape() as tape:
        a = w * 3.0
        y = ops.sum(a + a * w + ops.sin(w))
    g = tape.gradient(y, w)
    assert g.dtype == np.float32
    wv = np.array([1.0, 2.0])
    np.testing.assert_allclose(g.numpy(), 3 + 6 * wv + np.cos(wv), rtol=1e-6)



def test_mixed_dtype_ops_give_each_input_a_gradient_in_its_own_dtype():
    # float32 Variables meeting float64 arrays: the products are float64, and each gradient
    # comes back in its input's dtype and shape (broadcast axes summed), with the float64 value.
    rng = np.random.default_rng(3)
    w32 = Variable(rng.standard_normal((3, 2)).astype(np.float32))
    b32 = Variable(rng.standard_normal(2).astype(np.float32))
    x64 = rng.standard_normal((4, 3))
    c64 = rng.standard_normal((4, 2))
    with GradientTape() as tape:
        y = ops.matmul(x64, w32) + b32  # float64 (4, 2)
        z = ops.sum(ops.tanh(y) * c64)
    gw, gb = tape.gradient(z, [w32, b32])
    assert y.dtype == np.float64 and gw.dtype == np.float32 and gb.dtype == np.float32
    assert gw.shape == (3, 2) and gb.shape == (2,)
    yv = x64 @ w32.numpy().astype(np.float64) + b32.numpy()
    dy = (1 - np.tanh(yv) ** 2) * c64
    np.testing.assert_allclose(gw.numpy(), x64.T @ dy, rtol=1e-6)
    np.testing.assert_allclose(gb.numpy(), dy.sum(0), rtol=1e-6)
    with GradientTape() as tape:  # a 0-d Variable: unary and binary ops on 0-d arrays
        s = Variable(np.array(0.5, dtype=np.float32))
        u = ops.exp(s) * np.float64(2.0)
    g = tape.gradient(u, s)
    assert type(g.numpy()) is np.ndarray and g.dtype == np.float32 and g.shape == ()
    np.testing.assert_allclose(g.numpy(), 2 * np.exp(0.5), rtol=1e-6)

# --- primitives --------------------------------------------------------------------------------


@ops.primitive
def affine_and_norm(x, w, b, scale=1.0):
    """Two outputs, y = scale (x @ w + b) and s = sum(x**2); three inputs."""
    y = scale * (x @ w + b)
    s = np.sum(x * x)

    def backward(grads):
        gy, gs = grads
        return scale * gy @ w.T + 2 * gs * x, scale * x.T @ gy, scale * gy.sum(0)

    return (y, s), backward


def test_primitive_with_several_inputs_and_outputs():
    rng = np.random.default_rng(0)
    x, w, b = var(rng.standard_normal((3, 2))), var(rng.standard_normal((2, 4))), var(rng.standard_normal(4))
    with GradientTape(persistent=True) as tape:
        y, s = affine_and_norm(x, w, b, scale=2.0)
        loss = ops.sum(ops.square(y)) + 3.0 * s
        only_y = ops.sum(y)  # s gets no gradient: the backward receives zeros for it
    gx, gw, gb = tape.gradient(loss, [x, w, b])
    z = 2.0 * (x.numpy() @ w.numpy() + b.numpy())
    np.testing.assert_allclose(gw.numpy(), 2.0 * x.numpy().T @ (2 * z))
    np.testing.assert_allclose(gb.numpy(), 2.0 * (2 * z).sum(0))
    np.testing.assert_allclose(gx.numpy(), 2.0 * (2 * z) @ w.numpy().T + 6.0 * x.numpy())
    np.testing.assert_allclose(tape.gradient(only_y, x).numpy(), 2.0 * np.ones((3, 4)) @ w.numpy().T)


def test_primitive_with_a_constant_input_and_the_needed_mask():
    seen = []

    @ops.primitive(pass_needed=True)
    def scale_rows(x, w):
        def backward(g, needed):
            seen.append(needed)
            return (g * w if needed[0] else None), (np.sum(g * x, axis=1, keepdims=True) if needed[1] else None)

        return x * w, backward

    data = np.arange(6.0).reshape(3, 2)  # a plain array: constant
    w = var([[1.0], [2.0], [3.0]])
    with GradientTape() as tape:
        y = ops.sum(scale_rows(data, w))
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), [[1.0], [5.0], [9.0]])
    assert seen == [(False, True)]


def test_record_checks_the_backward_result():
    x = var([1.0, 2.0])
    with GradientTape() as tape:
        out = Tensor(x.numpy() * 2)
        ops.record(lambda g: (np.ones(3),), [x], out, name="bad_double")
    with pytest.raises(ValueError, match=r"bad_double: gradient has shape \(3,\), expected the input's shape \(2,\)"):
        tape.gradient(out, x)
    with GradientTape() as tape:
        out = Tensor(x.numpy() * 2)
        ops.record(lambda g: (g, g), [x], out, name="two_for_one")
    with pytest.raises(ValueError, match="two_for_one: backward returned 2 gradients for 1 inputs"):
        tape.gradient(out, x)
    with pytest.raises(TypeError, match="outputs must be new Tensors, got ndarray"):
        ops.record(lambda g: (g,), [x], np.ones(2))
    with pytest.raises(TypeError, match="backward must be callable"):
        ops.record(None, [x], Tensor(np.ones(2)))


# --- errors ------------------------------------------------------------------------------------


def test_shapes_that_do_not_broadcast_name_the_op_and_both_shapes():
    a, b = var(np.ones((2, 3))), np.ones((4,))
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        ops.add(a, b)
    with pytest.raises(ValueError, match=r"multiply: shapes \(2, 3\) and \(4,\) do not broadcast"):
        a * b
    with pytest.raises(ValueError, match=r"maximum: shapes \(4,\) and \(2, 3\) do not broadcast"):
        ops.maximum(b, a)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4,\) are not aligned"):
        a @ b
    with pytest.raises(ValueError, match=r"where: shapes \(2, 3\) and \(2, 3\) and \(4,\) do not broadcast"):
        ops.where(a > 0, a, b)
    np.testing.assert_array_equal(a.numpy(), np.ones((2, 3)))


def test_non_numeric_and_object_arrays_are_type_errors():
    with pytest.raises(TypeError, match="must be a boolean or numeric array, got dtype object"):
        ops.exp(np.array([1.0, None], dtype=object))
    with pytest.raises(TypeError, match="must be a boolean or numeric array, got dtype <U1"):
        ops.add(ops.ones((2,)), np.array(["a", "b"]))
    with pytest.raises(TypeError, match="a Tensor's value must be a boolean or numeric array"):
        Tensor(np.array([{}, {}]))
    with pytest.raises(TypeError, match="one_hot: x must hold integer class indices, got dtype float64"):
        ops.one_hot(np.array([1.0]), 3)


def test_entering_a_tape_twice_and_stop_recording_outside_are_runtime_errors():
    tape = GradientTape()
    with tape:
        with pytest.raises(RuntimeError, match="already recording"):
            tape.__enter__()
    with pytest.raises(RuntimeError, match="not recording"):
        with tape.stop_recording():
            pass


def test_undifferentiable_matrix_norm_on_a_tape():
    x = var(np.eye(2))
    np.testing.assert_allclose(ops.norm(x, ord=2, axis=(0, 1)).numpy(), 1.0)  # computed without a tape
    with GradientTape():
        with pytest.raises(ValueError, match="matrix norm ord=2 has no gradient"):
            ops.norm(x, ord=2, axis=(0, 1))


def test_einsum_trace_is_refused():
    with pytest.raises(ValueError, match="repeats an index within one operand"):
        ops.einsum("ii->", np.eye(2))


# --- values of ops without a gradient ------------------------------------------------------------


def test_one_hot_argmax_where_and_creation_values():
    np.testing.assert_array_equal(ops.one_hot(np.array([0, 2, 5]), 3).numpy(), [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert ops.one_hot(np.array([1]), 2).dtype == np.float32
    np.testing.assert_array_equal(ops.one_hot(np.array([1, 0]), 2, axis=0).numpy(), [[0, 1], [1, 0]])
    x = np.array([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]])
    np.testing.assert_array_equal(ops.argmax(x, axis=1).numpy(), [1, 0])
    np.testing.assert_array_equal(ops.argmin(x, axis=0, keepdims=True).numpy(), [[0, 1, 1]])
    assert ops.argmax(x).numpy() == 3 and ops.argmax(x, keepdims=True).shape == (1, 1)
    rows, cols = ops.where(x > 4)
    np.testing.assert_array_equal(rows.numpy(), [0, 0, 1])
    np.testing.assert_array_equal(cols.numpy(), [1, 2, 0])
    np.testing.assert_array_equal(ops.zeros_like(x, dtype="int32").numpy(), np.zeros((2, 3), np.int32))
    np.testing.assert_array_equal(ops.ones_like(x).numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(ops.full((2,), 7.0).numpy(), [7.0, 7.0])
    np.testing.assert_array_equal(ops.tril(np.ones((2, 2))).numpy(), [[1, 0], [1, 1]])
    assert ops.shape(x) == (2, 3)


@pytest.mark.parametrize(
    "op, ref",
    [
        (lambda x: ops.sigmoid(x), lambda x: 1 / (1 + np.exp(-x))),
        (lambda x: ops.softplus(x), lambda x: np.log1p(np.exp(x))),
        (lambda x: ops.gelu(x, approximate=False), lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))),
        (lambda x: ops.logsumexp(x, axis=1), lambda x: np.log(np.exp(x).sum(1))),
        (lambda x: ops.softmax(x), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
        (lambda x: ops.std(x, axis=0), lambda x: x.std(0)),
        (lambda x: ops.var(x, axis=(0, 1), keepdims=True), lambda x: x.var(keepdims=True)),
        (lambda x: ops.prod(x, axis=0), lambda x: x.prod(0)),
        (lambda x: ops.max(x, axis=1, keepdims=True), lambda x: x.max(1, keepdims=True)),
        (lambda x: ops.min(x, initial=-5.0), lambda x: np.array(-5.0)),
        (lambda x: ops.mean(x, axis=-1), lambda x: x.mean(-1)),
        (lambda x: ops.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
        (lambda x: ops.leaky_relu(x), lambda x: np.where(x > 0, x, 0.2 * x)),
        (lambda x: ops.log_sigmoid(x), lambda x: np.log(1 / (1 + np.exp(-x)))),
        (lambda x: ops.silu(x), lambda x: x / (1 + np.exp(-x))),
        (lambda x: ops.gelu(x), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
        (lambda x: ops.erf(x), lambda x: np.vectorize(math.erf)(x)),
        (lambda x: ops.relu(x), lambda x: np.maximum(x, 0)),
        (lambda x: ops.norm(x, ord=3, axis=1), lambda x: np.linalg.norm(x, ord=3, axis=1)),
        (lambda x: ops.norm(x, ord="nuc", axis=(0, 1)), lambda x: np.linalg.norm(x, ord="nuc")),
        (lambda x: ops.norm(x, ord=-np.inf, axis=0, keepdims=True), lambda x: np.abs(x).min(0, keepdims=True)),
        (lambda x: ops.clip(x, -0.5, 0.5), lambda x: np.minimum(np.maximum(x, -0.5), 0.5)),
        (lambda x: ops.take(x, np.array([[3, 0]]), axis=1), lambda x: x[:, [[3, 0]]]),
        (lambda x: ops.split(x, [1, 3], axis=1)[1], lambda x: x[:, 1:3]),
        (lambda x: ops.stack([x, x], axis=-1), lambda x: np.stack([x, x], -1)),
        (lambda x: ops.where(x > 0, x, 0.0), lambda x: np.maximum(x, 0)),
    ],
)
def test_forward_values_match_their_formulas(op, ref):
    x = np.random.default_rng(4).standard_normal((3, 4))
    np.testing.assert_allclose(op(x).numpy(), ref(x), rtol=1e-12, atol=1e-14)


def test_stable_at_large_values():
    x = np.array([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(ops.sigmoid(x).numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(ops.softplus(x).numpy(), [0.0, np.log(2.0), 1000.0])
    np.testing.assert_allclose(ops.logsumexp(x).numpy(), 1000.0)
    np.testing.assert_allclose(ops.log_softmax(x).numpy(), [-2000.0, -1000.0, 0.0])


# --- shape inference --------------------------------------------------------------------------------


def test_infer_output_spec_keeps_unknown_axes_unknown():
    x = ops.TensorSpec((None, 8), "float32")
    w = Variable(np.ones((8, 3), np.float32))
    spec = ops.infer_output_spec(lambda t: ops.relu(t @ w), x)
    assert spec == ops.TensorSpec((None, 3), np.float32)
    flat = ops.infer_output_spec(lambda t: ops.reshape(t, (-1, 2)), ops.TensorSpec((None, 4), "float64"))
    assert flat.shape == (None, 2) and flat.dtype == np.float64
    joined = ops.infer_output_spec(lambda a, b: ops.concatenate([a, b], axis=0), x, x)
    assert joined.shape == (None, 8)
    parts = ops.infer_output_spec(lambda t: ops.split(t, 2, axis=1), x)
    assert [p.shape for p in parts] == [(None, 4), (None, 4)]
    idx = ops.TensorSpec((None,), "int64")
    assert ops.infer_output_spec(lambda t, i: ops.take(t, i, axis=0), x, idx).shape == (None, 8)
    assert ops.infer_output_spec(lambda t: ops.mean(t, axis=0), x).shape == (8,)
    assert ops.infer_output_spec(ops.argmax, x, axis=-1) == ops.TensorSpec((None,), np.int64)
    with GradientTape() as tape:
        ops.infer_output_spec(lambda t: t @ w, x)
    assert tape.watched_variables() == []  # nothing was recorded
    with pytest.raises(ValueError, match=r"add: shapes \(2, 8\) and \(3,\) do not broadcast"):
        ops.infer_output_spec(lambda t: t + np.ones(3), x)


# --- a custom training loop -------------------------------------------------------------------------


def test_gradient_tape_linear_regression_reaches_the_least_squares_solution():
    rng = numnet.random.make_generator(3)
    X = rng.standard_normal((64, 3))
    y = X @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.standard_normal((64, 1))
    w = Variable(np.zeros((3, 1)), name="w")
    b = Variable(np.zeros((1,)), name="b")
    for _ in range(300):
        with GradientTape() as tape:
            loss = ops.mean(ops.square(ops.matmul(X, w) + b - y))
        gw, gb = tape.gradient(loss, [w, b])
        w.assign(w.numpy() - 0.1 * gw.numpy())
        b.assign_sub(0.1 * gb.numpy())
    design = np.hstack([X, np.ones((64, 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(w.numpy(), solution[:3], atol=1e-8)
    np.testing.assert_allclose(b.numpy(), solution[3], atol=1e-8)


def test_clip_with_one_bound_and_max_with_initial():
    x = var([1.0, 5.0, 3.0])
    with GradientTape(persistent=True) as tape:
        upper = ops.clip(x, None, 2.0)
        top = ops.max(x, initial=10.0)  # above every element: no element gets a gradient
    np.testing.assert_array_equal(upper.numpy(), [1.0, 2.0, 2.0])
    np.testing.assert_array_equal(tape.gradient(upper, x).numpy(), [1.0, 0.0, 0.0])
    assert float(top) == 10.0
    np.testing.assert_array_equal(tape.gradient(top, x).numpy(), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="clip: give x_min, x_max or both; got neither"):
        ops.clip(x, None, None)


def test_crossentropy_values_and_errors():
    probs = np.array([[0.2, 0.8], [1.0, 0.0]])
    labels = np.array([1, 0])
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(labels, probs).numpy(),
                               [-np.log(0.8), -np.log(1 - 1e-7)], rtol=1e-12)
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(labels[:, None], probs).numpy(),
                               [-np.log(0.8), -np.log(1 - 1e-7)], rtol=1e-12)  # trailing axis of 1 squeezed
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(np.array([5, 0]), probs).numpy()[0], 0.0)
    np.testing.assert_allclose(ops.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]])).numpy(),
                               [-np.log(0.75)], rtol=1e-12)  # normalised first
    np.testing.assert_allclose(ops.binary_crossentropy(np.array([1.0, 0.0]), np.array([0.0, 0.0])).numpy(),
                               [-np.log(1e-7), -np.log(1 - 1e-7)], rtol=1e-9)  # clipped
    big = np.array([800.0, -800.0])
    np.testing.assert_allclose(ops.binary_crossentropy(np.array([0.0, 0.0]), big, from_logits=True).numpy(),
                               [800.0, 0.0])  # no overflow
    assert ops.binary_crossentropy(np.array([1.0]), np.array([0.5], np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match=r"binary_crossentropy: target and output must have the same shape, "
                                         r"got \(2,\) and \(3,\)"):
        ops.binary_crossentropy(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"categorical_crossentropy: target and output must have the same shape"):
        ops.categorical_crossentropy(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"without the class axis \(\(2,\)\), got \(3,\)"):
        ops.sparse_categorical_crossentropy(np.array([0, 1, 1]), probs)
    with pytest.raises(TypeError, match="target must hold integer class indices, got dtype float64"):
        ops.sparse_categorical_crossentropy(np.array([0.0, 1.0]), probs)


def test_a_gradient_inside_an_outer_recording_tape_is_refused_as_second_order():
    """numnet's gradients are first order: an outer tape cannot differentiate an inner
    gradient, so asking for one while the outer tape records the target raises instead of
    treating the gradient as a constant; outside the outer tape, or under its
    stop_recording, the same gradient is fine."""
    import numnet
    from numnet import ops

    x = numnet.ops.Variable(np.array([1.5, -2.0]))
    with numnet.GradientTape() as outer:
        with numnet.GradientTape() as inner:
            y = ops.sum(x * x * x)
        with pytest.raises(NotImplementedError, match="first-order gradients only"):
            inner.gradient(y, x)
    with numnet.GradientTape() as outer:
        with numnet.GradientTape() as inner:
            y = ops.sum(x * x * x)
        with outer.stop_recording():
            g = inner.gradient(y, x)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.5, -2.0]) ** 2)
