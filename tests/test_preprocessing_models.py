"""Preprocessing layers inside models: string inputs through fit / predict / save / load,
every layer's state saved as arrays and JSON and loaded exactly, Input's signature."""

import json
import zipfile

import numpy as np
import pytest

import numnet
from numnet import (CategoryEncoding, CenterCrop, Conv2D, Dense, Discretization, Embedding, Flatten,
                    GlobalAveragePooling1D, Hashing, Input, IntegerLookup, Model, Normalization, RandomBrightness,
                    RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling,
                    Resizing, Sequential, StringLookup, TextVectorization)

TEXTS = ["good movie", "great film, loved it", "bad movie", "terrible film, hated it", "loved the acting",
         "hated the plot", "a great cast", "a bad script"]
LABELS = np.array([1, 1, 0, 0, 1, 0, 1, 0])


def _text_model():
    numnet.set_seed(0)
    vectorize = TextVectorization(max_tokens=40, output_sequence_length=6)
    vectorize.adapt(TEXTS)
    x = Input(shape=(1,), dtype="string", name="text")
    y = Dense(1, activation="sigmoid")(GlobalAveragePooling1D()(Embedding(40, 8)(vectorize(x))))
    model = Model(x, y)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


def test_a_string_input_is_a_symbolic_tensor_of_strings():
    x = Input(shape=(1,), dtype="string")
    assert x.shape == (None, 1) and x.dtype.kind == "U"
    ids = TextVectorization(vocabulary=["a"], output_sequence_length=3)(x)
    assert ids.shape == (None, 3) and ids.dtype == np.int64
    assert TextVectorization(vocabulary=["a"])(x).shape == (None, None)
    assert StringLookup(vocabulary=["a"], output_mode="multi_hot")(x).shape == (None, 2)


def test_raw_string_model_trains_saves_loads_and_predicts_identically(tmp_path):
    model = _text_model()
    history = model.fit(TEXTS, LABELS, epochs=30, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    before = model.predict(TEXTS)
    path = tmp_path / "text.npz"
    model.save(path)
    loaded = numnet.load_model(path)
    np.testing.assert_array_equal(loaded.predict(TEXTS), before)
    np.testing.assert_array_equal(loaded.predict(np.array(TEXTS)[:, None]), before)
    np.testing.assert_array_equal(loaded.predict({"text": TEXTS}), before)
    assert loaded.layers[0].get_vocabulary() == model.layers[0].get_vocabulary()
    # training continues identically
    model.fit(TEXTS, LABELS, epochs=2, batch_size=4, verbose=0, shuffle=False)
    loaded.fit(TEXTS, LABELS, epochs=2, batch_size=4, verbose=0, shuffle=False)
    np.testing.assert_array_equal(loaded.predict(TEXTS), model.predict(TEXTS))


def test_the_vocabulary_is_json_in_the_file_never_pickle(tmp_path):
    model = _text_model()
    model.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as archive:
        names = archive.namelist()
    files = np.load(tmp_path / "m.npz", allow_pickle=False)
    assert all(files[n[:-4]].dtype != object for n in names)
    meta = json.loads(bytes(files[[n[:-4] for n in names if "meta" in n][0]]).decode())
    assert "great" in json.dumps(meta)


def test_string_data_is_checked_at_the_boundary():
    model = _text_model()
    with pytest.raises(TypeError, match="strings"):
        model.predict(np.array([[1.0], [2.0]]))
    with pytest.raises(TypeError, match="strings"):
        model.predict(np.array([["a"], [None]], dtype=object))
    with pytest.raises(ValueError, match="shape"):
        model.predict(np.array([["a", "b"]]))
    before = model.get_weights()
    with pytest.raises(TypeError, match="strings"):
        model.fit([1, 2], [0, 1], verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_validation_split_and_evaluate_with_strings():
    model = _text_model()
    history = model.fit(TEXTS, LABELS, epochs=2, batch_size=4, validation_split=0.25, verbose=0)
    assert "val_loss" in history.history
    loss, accuracy = model.evaluate(TEXTS, LABELS)
    assert 0 <= accuracy <= 1 and np.isfinite(loss)


def test_a_sequential_starting_with_text_vectorization_builds_from_strings():
    numnet.set_seed(0)
    vectorize = TextVectorization(output_mode="multi_hot")
    vectorize.adapt(TEXTS)
    model = Sequential([vectorize, Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    model.fit(TEXTS, LABELS, epochs=1, verbose=0)
    assert model.inputs[0].dtype.kind == "U"
    assert model.predict(TEXTS).shape == (8, 1)


def test_string_lookup_to_one_hot_and_integer_lookup_to_embedding():
    numnet.set_seed(0)
    colour = Input((1,), dtype="string", name="colour")
    code = Input((1,), dtype="int64", name="code")
    colours = StringLookup(vocabulary=["red", "green", "blue"], output_mode="one_hot")(colour)
    codes = Flatten()(Embedding(5, 2)(IntegerLookup(vocabulary=[10, 20, 30, 40])(code)))
    from numnet import Concatenate
    model = Model([colour, code], Dense(1)(Concatenate()([colours, codes])))
    model.compile("sgd", "mse")
    data = {"colour": ["red", "pink", "blue"], "code": np.array([[10], [99], [40]])}
    model.fit(data, np.zeros((3, 1)), epochs=1, verbose=0)
    assert model.predict(data).shape == (3, 1)


def _round_trip(model, data, tmp_path):
    before = model.predict(data)
    model.save(tmp_path / "p.npz")
    loaded = numnet.load_model(tmp_path / "p.npz")
    np.testing.assert_array_equal(loaded.predict(data), before)
    return loaded


def test_every_numeric_and_category_layer_saves_its_state(tmp_path):
    numnet.set_seed(0)
    rng = np.random.default_rng(0)
    data = rng.normal(size=(20, 3)) * 4
    norm = Normalization()
    norm.adapt(data)
    bins = Discretization(num_bins=4)
    bins.adapt(data)
    x = Input((3,))
    features = [Rescaling(0.5, 1.0)(norm(x)), CategoryEncoding(5, output_mode="count")(bins(x)),
                Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 1.0, 4.0], invert=True)(x),
                Hashing(4, output_mode="multi_hot", salt=7)(Discretization([0.0])(x))]
    from numnet import Concatenate
    model = Model(x, Dense(2)(Concatenate()(features)))
    loaded = _round_trip(model, data, tmp_path)
    assert loaded.get_layer(bins.name).bin_boundaries == bins.bin_boundaries
    np.testing.assert_array_equal(loaded.get_layer(norm.name).buffers["mean"], norm.buffers["mean"])


def test_every_lookup_configuration_saves_its_vocabulary(tmp_path):
    numnet.set_seed(0)
    text = Input((1,), dtype="string")
    tfidf = TextVectorization(output_mode="tf_idf", ngrams=2, max_tokens=30, pad_to_max_tokens=True)
    tfidf.adapt(TEXTS)
    lookup = StringLookup(mask_token="", num_oov_indices=2, output_mode="count")
    lookup.adapt([t.split() for t in ["a b", "b c", "c c"]])
    words = TextVectorization(split=None, standardize=None, output_sequence_length=1, vocabulary=TEXTS[:3])
    from numnet import Concatenate
    outputs = Concatenate()([tfidf(text), lookup(text), CategoryEncoding(6, output_mode="one_hot")(words(text))])
    model = Model(text, Dense(1)(outputs))
    data = TEXTS + ["c", "", "unseen words here"]
    loaded = _round_trip(model, data, tmp_path)
    assert loaded.layers[0].get_vocabulary() == tfidf.get_vocabulary()
    np.testing.assert_array_equal(loaded.layers[0]._lookup._idf, tfidf._lookup._idf.astype(np.float64))


def test_image_layers_inside_a_cnn_train_save_and_load(tmp_path):
    numnet.set_seed(0)
    x = Input((10, 10, 3))
    h = Rescaling(1 / 255)(x)
    h = RandomFlip(seed=1)(h)
    h = RandomRotation(0.1, seed=2)(h)
    h = RandomZoom(0.1, seed=3)(h)
    h = RandomTranslation(0.1, 0.1, seed=4)(h)
    h = RandomContrast(0.2, value_range=(0, 1), seed=5)(h)
    h = RandomBrightness(0.1, value_range=(0, 1), seed=6)(h)
    h = RandomCrop(8, 8, seed=7)(h)
    h = Resizing(6, 6)(h)
    h = CenterCrop(4, 4)(h)
    model = Model(x, Dense(2, activation="softmax")(Flatten()(Conv2D(2, 3)(h))))
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(8, 10, 10, 3))
    model.fit(images, rng.integers(0, 2, 8), epochs=2, batch_size=4, verbose=0)
    loaded = _round_trip(model, images, tmp_path)
    assert loaded.get_layer(model.layers[1].name).seed == 1
    # inference is deterministic: the random layers are the identity there
    np.testing.assert_array_equal(model.predict(images), model.predict(images))


def test_gradients_flow_through_the_differentiable_layers_to_an_input_dense():
    numnet.set_seed(0)
    x = Input((4, 4, 1))
    inner = Dense(1)(x)  # a layer before the preprocessing: it needs dL/dx through them
    h = CenterCrop(2, 2)(Resizing(5, 5)(RandomFlip(seed=0)(Rescaling(2.0)(inner))))
    model = Model(x, Dense(1)(Flatten()(h)))
    model.compile("sgd", "mse")
    before = model.get_weights()[0].copy()
    model.fit(np.ones((4, 4, 4, 1)), np.ones((4, 1)), epochs=1, verbose=0)
    assert not np.array_equal(before, model.get_weights()[0])


def test_a_layer_without_a_gradient_refuses_to_be_backpropagated_through():
    numnet.set_seed(0)
    x = Input((2,))
    model = Model(x, Dense(1)(CategoryEncoding(3)(Discretization([0.0, 1.0])(Dense(2)(x)))))
    model.compile("sgd", "mse")
    before = model.get_weights()
    with pytest.raises(RuntimeError, match="no gradient with respect to its input"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_input_signature_and_sparse():
    x = Input((3,), batch_size=8, dtype="float64", name="features")
    assert x.shape == (8, 3) and x.dtype == np.float64 and x.name == "features"
    assert Input((1,), dtype=str).dtype.kind == "U"
    assert Input((2,), None, "int32").dtype == np.int32
    with pytest.raises(ValueError, match="sparse=True"):
        Input((3,), sparse=True)
    with pytest.raises(ValueError, match="dtype"):
        Input((3,), dtype="complex64")
    with pytest.raises(ValueError, match="dtype"):
        Input((3,), dtype="not-a-dtype")


def test_a_layer_called_on_data_first_can_then_join_a_graph():
    vectorize = TextVectorization(vocabulary=["hi"], output_sequence_length=2)
    np.testing.assert_array_equal(vectorize(["hi you"]), [[2, 1]])  # built on (batch,) strings
    x = Input((1,), dtype="string")
    model = Model(x, vectorize(x))
    np.testing.assert_array_equal(model.predict(["hi you"]), [[2, 1]])
    norm = Normalization()
    norm.adapt(np.ones((3, 2)))
    with pytest.raises(ValueError, match="built for inputs"):
        norm(Input((3,)))


def test_float64_models_compute_text_features_in_float64():
    vectorize = TextVectorization(vocabulary=["a", "b"], output_mode="count")
    x = Input((1,), dtype="string")
    model = Model(x, Dense(1)(vectorize(x)), dtype="float64")
    assert model.predict(["a b b"]).dtype == np.float64
    assert vectorize(["a"]).dtype == np.float64


def test_adapting_again_changes_what_the_model_predicts():
    # inference runs on per-thread views of each layer: they must see the new vocabulary and bins
    lookup = StringLookup(output_mode="one_hot", max_tokens=3)
    lookup.adapt(["a", "a", "b"])
    bins = Discretization(num_bins=2)
    bins.adapt(np.array([0.0, 1.0, 2.0, 3.0]))
    s, n = Input((1,), dtype="string"), Input((1,))
    model = Model([s, n], [lookup(s), bins(n)])
    words, numbers = model.predict([["a", "b"], np.array([[1.5], [2.5]])])
    np.testing.assert_array_equal(words, [[0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(numbers, [[1], [1]])
    lookup.adapt(["b", "b", "a"])
    bins.adapt(np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]) * 10)
    words, numbers = model.predict([["a", "b"], np.array([[1.5], [2.5]])])
    np.testing.assert_array_equal(words, [[0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(numbers, [[0], [0]])


def test_augmentation_in_a_model_is_random_in_training_only():
    x = Input((3, 3, 1))
    model = Model(x, RandomFlip("horizontal", seed=5)(x))
    images = np.stack([np.arange(9.0).reshape(3, 3, 1)] * 8)
    np.testing.assert_array_equal(model.predict(images), images)
    flipped = model(images, training=True)
    flips = np.random.default_rng(5).random(8) < 0.5
    np.testing.assert_array_equal(flipped[flips], images[flips][:, :, ::-1])
    np.testing.assert_array_equal(flipped[~flips], images[~flips])


def test_a_unicode_vocabulary_saves_and_loads(tmp_path):
    vectorize = TextVectorization(output_sequence_length=3)
    vectorize.adapt(["café crème", "日本 café", "Ünïcödé ok"])
    x = Input((1,), dtype="string")
    model = Model(x, vectorize(x))
    model.save(tmp_path / "u.npz")
    loaded = numnet.load_model(tmp_path / "u.npz")
    assert loaded.layers[0].get_vocabulary() == vectorize.get_vocabulary()
    assert "日本" in vectorize.get_vocabulary() and "ünïcödé" in vectorize.get_vocabulary()
    np.testing.assert_array_equal(loaded.predict(["日本 crème"]), model.predict(["日本 crème"]))
