"""Keras masks travel through the graph: Embedding(mask_zero=True) and Masking make them,
Dense / Dropout / normalisation pass them on, recurrent layers consume them, nested models
carry them in and out, and a model without masks runs no mask code."""

import numpy as np
import pytest

import numnet as nn
from numnet import GRU, LSTM, Dense, Dropout, Embedding, Input, LayerNormalization, Masking, Model
from numnet.gradient_check import check_model

IDS = np.array([[3, 5, 7, 0, 0], [1, 2, 0, 0, 0], [4, 4, 4, 4, 9]])
LABELS = np.array([0, 1, 1])


def _text_model(recurrent=LSTM):
    x = Input((None,), dtype="int64")
    h = Embedding(20, 4, mask_zero=True, seed=0)(x)
    h = LayerNormalization()(Dropout(0.1, seed=4)(Dense(5, activation="tanh", seed=1)(h)))
    model = Model(x, Dense(2, activation="softmax", seed=3)(recurrent(3, seed=2)(h)), dtype="float64")
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("recurrent", [LSTM, GRU])
def test_post_padding_a_masked_sequence_changes_nothing_through_the_graph(recurrent):
    model = _text_model(recurrent)
    padded = np.concatenate([IDS, np.zeros((3, 4), int)], axis=1)
    np.testing.assert_allclose(model.predict(IDS), model.predict(padded), rtol=1e-12, atol=1e-14)
    unmasked = Model(model.input, model.output)  # same layers, same mask: same figures
    np.testing.assert_array_equal(unmasked.predict(IDS), model.predict(IDS))


def test_masked_gradients_match_central_differences():
    result = check_model(_text_model(), IDS, LABELS)
    assert result.passed(1e-5), result.errors


def test_the_mask_decides_the_result():
    """Without mask_zero the padding steps count, so the figures differ."""
    x = Input((None,), dtype="int64")
    plain = Model(x, LSTM(3, seed=2)(Embedding(20, 4, seed=0)(x)), dtype="float64")
    masked = _text_model()
    plain.layers[0].set_weights(masked.layers[0].get_weights())
    assert not np.allclose(plain.predict(np.concatenate([IDS, np.zeros((3, 2), int)], axis=1)), plain.predict(IDS))


def test_masking_layer_and_a_nested_model_carry_the_mask():
    inner_x = Input((None, 2))
    inner = Model(inner_x, Dense(4, activation="tanh", seed=0)(inner_x), name="per_step")
    x = Input((None, 2))
    model = Model(x, LSTM(3, seed=1)(inner(Masking(0.0)(x))), dtype="float64")
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2, 4, 2))
    padded = np.concatenate([data, np.zeros((2, 3, 2))], axis=1)
    np.testing.assert_allclose(model.predict(data), model.predict(padded), rtol=1e-12, atol=1e-14)
    assert check_model(model, data, rng.normal(size=(2, 3))).passed(1e-5)


def test_a_model_without_masks_runs_no_mask_code():
    x = Input((3,))
    model = Model(x, Dense(2)(x))
    _, run = model._plan.forward([np.ones((1, 3), np.float32)])
    assert run.masks is None


def _tagger():
    """Per-step labels from a masked sequence: the loss and the metric skip padding."""
    x = Input((None,), dtype="int64")
    h = LSTM(4, return_sequences=True, seed=1)(Embedding(20, 3, mask_zero=True, seed=0)(x))
    model = Model(x, Dense(3, activation="softmax", seed=2)(h), dtype="float64")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_sequence_output_loss_and_metric_skip_masked_steps():
    model = _tagger()
    tags = np.array([[1, 2, 0, 0, 0], [2, 0, 0, 0, 0], [0, 1, 2, 1, 2]])
    logs = model.evaluate(IDS, tags, return_dict=True)
    p = model.predict(IDS)
    real = IDS != 0
    picked = np.take_along_axis(p, tags[..., None], axis=-1)[..., 0]
    assert logs["loss"] == pytest.approx(float(-np.log(picked[real]).mean()), rel=1e-12)
    assert logs["accuracy"] == pytest.approx(float((p.argmax(-1) == tags)[real].mean()), rel=1e-12)
    # The labels under the padding do not matter at all.
    other = np.where(real, tags, 2)
    assert model.evaluate(IDS, other, return_dict=True) == logs
    # step 1e-4: the recurrent kernels' central differences are round-off bound at 1e-6
    # (the error falls from 8e-6 to 3e-8 as the step grows: not a gradient bug).
    assert check_model(model, IDS, tags, step=1e-4).passed(1e-6)
    padded, padded_tags = (np.concatenate([a, np.zeros((3, 3), int)], axis=1) for a in (IDS, tags))
    assert model.evaluate(padded, padded_tags, return_dict=True)["loss"] == pytest.approx(logs["loss"], rel=1e-12)
