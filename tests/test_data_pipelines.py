"""fit / evaluate / predict on generators, iterators and PyDataset: the same training as on
arrays, Keras 3's steps_per_epoch / validation_steps / validation_freq / initial_epoch rules,
prefetching that does not change the order."""

from __future__ import annotations

import numpy as np
import pytest

import numnet
from numnet import Dense, Input, Model
from numnet.callbacks import Callback

from data_helpers import (BATCH, ArrayDataset, CountingDataset, arrays, batches_of, generator, model,
                          prefetch_threads, weights_equal)


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.batches, self.logs = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))


def trained(data, epochs=2, metrics=None, **kwargs):
    net = model(metrics=metrics)
    kwargs.setdefault("verbose", 0)
    history = net.fit(data, epochs=epochs, **kwargs) if not isinstance(data, tuple) else \
        net.fit(*data, epochs=epochs, **kwargs)
    return net, history


def test_a_generator_trains_exactly_as_the_same_batches_given_as_arrays():
    x, y = arrays()
    by_arrays, h_arrays = trained((x, y), batch_size=BATCH, shuffle=False)
    by_generator, h_generator = trained(generator(x, y, passes=2), steps_per_epoch=8)
    assert weights_equal(by_arrays.get_weights(), by_generator.get_weights())
    assert h_generator.history == h_arrays.history
    assert h_generator.epoch == [0, 1]


def test_an_iterator_of_batches_and_a_generator_without_steps_train_one_epoch_of_everything():
    x, y = arrays()
    by_arrays, _ = trained((x, y), epochs=1, batch_size=BATCH, shuffle=False)
    by_iterator, history = trained(iter(batches_of(x, y)), epochs=1)
    assert weights_equal(by_arrays.get_weights(), by_iterator.get_weights())
    assert len(history.history["loss"]) == 1


def test_a_pydataset_trains_exactly_as_arrays_with_shuffle_off():
    x, y = arrays()
    by_arrays, h_arrays = trained((x, y), epochs=3, batch_size=BATCH, shuffle=False)
    by_dataset, h_dataset = trained(ArrayDataset(x, y), epochs=3, shuffle=False)
    assert weights_equal(by_arrays.get_weights(), by_dataset.get_weights())
    assert h_dataset.history == h_arrays.history


def test_sample_weights_inside_batches_weigh_as_the_sample_weight_argument():
    x, y = arrays()
    w = np.linspace(0.1, 2.0, len(x))
    by_arrays, _ = trained((x, y), epochs=1, batch_size=BATCH, shuffle=False, sample_weight=w)
    by_generator, _ = trained(generator(x, y, w=w), epochs=1)
    assert weights_equal(by_arrays.get_weights(), by_generator.get_weights())


def test_class_weight_applies_to_each_batch_of_a_dataset_as_to_arrays():
    x, _ = arrays()
    labels = (x[:, 0] > 0).astype(np.int64)

    def classifier():
        numnet.set_seed(1)
        net = numnet.Sequential([Input((5,)), Dense(2, activation="softmax")])
        net.compile("sgd", "sparse_categorical_crossentropy")
        return net

    a, b = classifier(), classifier()
    a.fit(x, labels, batch_size=BATCH, shuffle=False, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    b.fit(ArrayDataset(x, labels), shuffle=False, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    assert weights_equal(a.get_weights(), b.get_weights())


def test_dict_inputs_and_outputs_come_through_a_generator():
    rng = np.random.default_rng(0)
    left, right = rng.normal(size=(32, 3)), rng.normal(size=(32, 2))
    targets = {"sum": left.sum(1, keepdims=True), "diff": right[:, :1] - right[:, 1:]}

    def two_headed():
        numnet.set_seed(2)
        a, b = Input((3,), name="left"), Input((2,), name="right")
        h = numnet.Concatenate()([a, b])
        net = Model({"left": a, "right": b}, {"sum": Dense(1, name="sum")(h), "diff": Dense(1, name="diff")(h)})
        net.compile("adam", {"sum": "mse", "diff": "mae"})
        return net

    def batches():
        for s in range(0, 32, 8):
            yield ({"left": left[s:s + 8], "right": right[s:s + 8]},
                   {"sum": targets["sum"][s:s + 8], "diff": targets["diff"][s:s + 8]})

    by_arrays, by_generator = two_headed(), two_headed()
    h1 = by_arrays.fit({"left": left, "right": right}, targets, batch_size=8, shuffle=False, verbose=0)
    h2 = by_generator.fit(batches(), verbose=0)
    assert weights_equal(by_arrays.get_weights(), by_generator.get_weights())
    assert list(h1.history) == list(h2.history) == ["loss", "sum_loss", "diff_loss"]


def test_an_unbuilt_sequential_builds_from_the_first_batch():
    x, y = arrays()
    numnet.set_seed(0)
    net = numnet.Sequential([Dense(4), Dense(1)])
    net.compile("adam", "mse")
    net.fit(generator(x, y), verbose=0)
    assert net.predict(x).shape == (len(x), 1)


@pytest.mark.parametrize("settings", [dict(workers=4), dict(workers=4, max_queue_size=2),
                                      dict(workers=2, use_multiprocessing=True),
                                      dict(workers=1, use_multiprocessing=True)])
def test_workers_threads_and_processes_give_the_weights_of_one_worker(settings):
    x, y = arrays()
    alone, h_alone = trained(ArrayDataset(x, y, reshuffle=True), epochs=3, shuffle=True)
    prefetched, h_prefetched = trained(ArrayDataset(x, y, reshuffle=True, **settings), epochs=3, shuffle=True)
    assert weights_equal(alone.get_weights(), prefetched.get_weights())
    assert h_alone.history == h_prefetched.history
    assert prefetch_threads() == []


def test_shuffle_reorders_a_datasets_batches_reproducibly_reading_each_once_per_epoch():
    x, y = arrays()
    first, second = CountingDataset(x, y), CountingDataset(x, y)
    net_a, _ = trained(first, epochs=2, shuffle=True)
    net_b, _ = trained(second, epochs=2, shuffle=True)
    assert first.read == second.read and weights_equal(net_a.get_weights(), net_b.get_weights())
    assert sorted(first.read[:8]) == list(range(8)) == sorted(first.read[8:])
    assert first.read[:8] != list(range(8))  # shuffled
    unshuffled = CountingDataset(x, y)
    trained(unshuffled, epochs=2, shuffle=False)
    assert unshuffled.read == list(range(8)) * 2
    assert unshuffled.epochs_ended == 2


def test_steps_per_epoch_on_arrays_continues_the_pass_and_warns_when_it_runs_short():
    x, y = arrays()  # 60 rows: 8 batches of 8 (the last of 4)
    whole, _ = trained((x, y), epochs=1, batch_size=BATCH, shuffle=False)
    recorder = Recorder()
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        stepped, history = trained((x, y), epochs=3, batch_size=BATCH, shuffle=False, steps_per_epoch=3,
                                   callbacks=[recorder])
    assert recorder.batches == [3, 3, 2]
    assert weights_equal(whole.get_weights(), stepped.get_weights())  # the same 8 batches, in order
    assert len(history.history["loss"]) == 3


def test_a_generator_that_runs_dry_ends_the_epoch_with_the_warning_and_stops_training():
    x, y = arrays()
    recorder = Recorder()
    with pytest.warns(UserWarning, match="ran out of data"):
        net, history = trained(generator(x, y), epochs=3, steps_per_epoch=5, callbacks=[recorder])
    assert recorder.batches == [5, 3, 0]  # the third epoch found nothing and stopped
    assert history.epoch == [0, 1]
    reference, _ = trained((x, y), epochs=1, batch_size=BATCH, shuffle=False)
    assert weights_equal(reference.get_weights(), net.get_weights())


def test_a_finite_generator_without_steps_is_one_epoch_then_training_stops_with_the_warning():
    x, y = arrays()
    with pytest.warns(UserWarning, match="ran out of data"):
        _, history = trained(generator(x, y), epochs=3)
    assert history.epoch == [0]


def test_an_endless_dataset_trains_for_steps_per_epoch_batches():
    from data_helpers import EndlessDataset

    x, y = arrays()
    recorder = Recorder()
    trained(EndlessDataset(x, y), epochs=2, steps_per_epoch=5, callbacks=[recorder])
    assert recorder.batches == [5, 5]


def test_initial_epoch_numbers_the_epochs_as_keras():
    x, y = arrays()
    recorder = Recorder()
    _, history = trained((x, y), epochs=5, initial_epoch=2, callbacks=[recorder])
    assert history.epoch == [2, 3, 4] and recorder.epochs == [2, 3, 4]
    assert len(history.history["loss"]) == 3


@pytest.mark.parametrize("freq, validated", [(2, [1, 3]), ([1, 4], [0, 3]), (1, [0, 1, 2, 3])])
def test_validation_freq_validates_after_the_epochs_it_names(freq, validated):
    x, y = arrays()
    recorder = Recorder()
    _, history = trained((x, y), epochs=4, validation_data=ArrayDataset(x[:16], y[:16]), validation_freq=freq,
                         callbacks=[recorder])
    assert [i for i, logs in enumerate(recorder.logs) if "val_loss" in logs] == validated
    assert len(history.history["val_loss"]) == len(validated) and len(history.history["loss"]) == 4


def test_validation_on_a_dataset_or_generator_gives_the_figures_of_the_same_arrays():
    x, y = arrays()
    xv, yv = x[:24] + 1, y[:24]
    _, by_arrays = trained((x, y), validation_data=(xv, yv))
    _, by_dataset = trained((x, y), validation_data=ArrayDataset(xv, yv))
    _, by_generator = trained((x, y), epochs=1, validation_data=generator(xv, yv))
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(by_dataset.history[key], by_arrays.history[key], rtol=1e-6)
    np.testing.assert_allclose(by_generator.history["val_loss"], by_arrays.history["val_loss"][:1], rtol=1e-6)


def test_validation_steps_reads_that_many_batches_continuing_where_the_last_validation_stopped():
    x, y = arrays()
    held_out = CountingDataset(x, y)
    trained((x, y), epochs=3, validation_data=held_out, validation_steps=2)
    assert held_out.read == [0, 1, 2, 3, 4, 5]


def test_logs_and_params_have_the_form_of_the_array_path():
    x, y = arrays()
    seen = {}

    class Params(Callback):
        def on_train_begin(self, logs=None):
            seen.setdefault("params", []).append(dict(self.params))

    _, by_arrays = trained((x, y), metrics=["mae"], validation_data=(x, y), callbacks=[Params()])
    _, by_generator = trained(generator(x, y, passes=2), metrics=["mae"], steps_per_epoch=8,
                              validation_data=ArrayDataset(x, y), callbacks=[Params()])
    assert list(by_arrays.history) == list(by_generator.history) == ["loss", "mae", "val_loss", "val_mae"]
    arrays_params, generator_params = seen["params"]
    assert arrays_params.keys() == generator_params.keys()
    assert generator_params["steps"] == 8 and generator_params["samples"] is None


def test_evaluate_on_a_dataset_returns_what_it_returns_on_the_arrays():
    x, y = arrays()
    net, _ = trained((x, y), epochs=1)
    net.compile("adam", "mse", metrics=["mae"])
    expected = net.evaluate(x, y)
    np.testing.assert_allclose(net.evaluate(ArrayDataset(x, y)), expected, rtol=1e-6)
    np.testing.assert_allclose(net.evaluate(generator(x, y)), expected, rtol=1e-6)
    as_dict = net.evaluate(ArrayDataset(x, y), return_dict=True)
    assert list(as_dict) == ["loss", "mae"]
    np.testing.assert_allclose(net.evaluate(ArrayDataset(x, y), steps=2), net.evaluate(x[:16], y[:16]), rtol=1e-6)
    np.testing.assert_allclose(net.evaluate(x, y, batch_size=8, steps=2), net.evaluate(x[:16], y[:16]), rtol=1e-6)


def test_predict_on_a_dataset_or_generator_matches_predict_on_arrays():
    x, y = arrays()
    net, _ = trained((x, y), epochs=1)
    expected = net.predict(x)
    np.testing.assert_array_equal(net.predict(ArrayDataset(x, y, workers=3)), expected)
    np.testing.assert_array_equal(net.predict(generator(x, y)), expected)
    np.testing.assert_array_equal(net.predict(iter([x[:10], x[10:]])), expected)  # x-only batches
    np.testing.assert_array_equal(net.predict(ArrayDataset(x, y), steps=2), expected[:16])
    np.testing.assert_array_equal(net.predict(x, batch_size=8, steps=2), expected[:16])


def test_a_variable_time_axis_may_change_between_batches():
    numnet.set_seed(0)
    inputs = Input((None, 3))
    net = Model(inputs, Dense(1)(numnet.GlobalAveragePooling1D()(inputs)))
    net.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(4, length, 3)), rng.normal(size=(4, 1))) for length in (5, 7, 2)]
    history = net.fit(iter(batches), verbose=0)
    assert len(history.history["loss"]) == 1


def test_progress_bar_runs_when_the_length_is_unknown(monkeypatch, capsys):
    from numnet.training import progress

    monkeypatch.setattr(progress, "_interactive", lambda: True)
    x, y = arrays()
    trained(generator(x, y), epochs=1, verbose=1)
    out = capsys.readouterr()
    assert "Epoch 1/1" in out.out + out.err and "8batch" in (out.out + out.err).replace(" ", "")


def test_the_examples_of_docs_data_md_run(capsys):
    import os
    import re

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "data.md")
    blocks = re.findall(r"```python\n(.*?)```", open(path, encoding="utf-8").read(), flags=re.S)
    assert blocks
    for index, code in enumerate(blocks):
        exec(compile(code, f"docs/data.md example {index + 1}", "exec"), {"__name__": f"data_md_{index}"})
    printed = capsys.readouterr().out
    assert printed.endswith("(128, 1)\n")


def test_string_inputs_come_through_a_generator_as_through_arrays():
    texts = ["good movie", "great film", "bad movie", "terrible film", "loved it", "hated it", "a great cast",
             "a bad script"]
    labels = np.array([1, 1, 0, 0, 1, 0, 1, 0])

    def text_model():
        numnet.set_seed(0)
        vectorize = numnet.TextVectorization(max_tokens=20, output_sequence_length=4)
        vectorize.adapt(texts)
        x = Input(shape=(1,), dtype="string")
        net = Model(x, Dense(1, activation="sigmoid")(numnet.GlobalAveragePooling1D()(
            numnet.Embedding(20, 4)(vectorize(x)))))
        net.compile("adam", "binary_crossentropy")
        return net

    by_arrays, by_generator = text_model(), text_model()
    by_arrays.fit(np.array(texts)[:, None], labels, batch_size=4, shuffle=False, verbose=0)
    by_generator.fit(iter([(np.array(texts[:4])[:, None], labels[:4]), (np.array(texts[4:])[:, None], labels[4:])]),
                     verbose=0)
    assert weights_equal(by_arrays.get_weights(), by_generator.get_weights())
