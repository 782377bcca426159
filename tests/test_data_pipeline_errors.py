"""Every documented error of the data pipelines: raised before the step that would use the bad
batch (so the weights are those of the batches before it), naming the batch; no worker left
running."""

from __future__ import annotations

import itertools
import multiprocessing

import numpy as np
import pytest

from data_helpers import (BATCH, ArrayDataset, EndlessDataset, FailingDataset, arrays, batches_of, generator,
                          model, prefetch_threads, weights_equal)


def after_batches(k):
    """The weights after training on the first ``k`` batches of ``arrays()`` (or none)."""
    x, y = arrays()
    net = model()
    if k:
        net.fit(x[:k * BATCH], y[:k * BATCH], batch_size=BATCH, shuffle=False, verbose=0)
    return net.get_weights()


def test_a_batch_of_another_structure_is_refused_naming_the_batch():
    x, y = arrays()
    good = batches_of(x, y)
    bad = good[:2] + [(x[:8], y[:8], np.ones(8))] + good[3:]
    net = model()
    with pytest.raises(ValueError, match=r"Batch 2 of the training data \(an iterator .*\) has a different structure "
                                         r"from batch 0: its sample_weight is one array, batch 0's was absent"):
        net.fit(iter(bad), verbose=0)
    assert weights_equal(net.get_weights(), after_batches(2))


def test_a_batch_with_a_list_where_batch_0_had_one_array_is_refused():
    x, y = arrays()
    batches = [(x[:8], y[:8]), ([x[8:16]], y[8:16])]
    net = model()
    with pytest.raises(ValueError, match=r"Batch 1 .* its x is a list of 1, batch 0's was one array"):
        net.fit(iter(batches), verbose=0)
    assert weights_equal(net.get_weights(), after_batches(1))


def test_a_batch_of_another_feature_shape_is_refused_naming_the_batch_and_the_shapes():
    x, y = arrays()
    batches = batches_of(x, y)
    batches[1] = (np.ones((8, 4), np.float32), y[8:16])
    net = model()
    with pytest.raises(ValueError, match=r"Batch 1 of the training data .* x with feature shape \(4,\).*batch 0's "
                                         r"was \(5,\)"):
        net.fit(iter(batches), verbose=0)
    assert weights_equal(net.get_weights(), after_batches(1))


def test_targets_that_do_not_match_their_inputs_are_refused_naming_the_batch():
    x, y = arrays()
    batches = batches_of(x, y)
    batches[0] = (x[:8], y[:7])
    net = model()
    with pytest.raises(ValueError, match=r"Batch 0 of the training data .*: x has 8 samples but y has 7"):
        net.fit(iter(batches), verbose=0)
    assert weights_equal(net.get_weights(), after_batches(0))


def test_a_batch_that_is_not_a_batch_is_a_type_error():
    net = model()
    with pytest.raises(TypeError, match=r"Batch 0 of the training data .* is a str; a batch must be"):
        net.fit(iter(["not a batch"]), verbose=0)
    with pytest.raises(ValueError, match=r"Batch 0 .* is a tuple of 4 items"):
        x, y = arrays()
        net.fit(iter([(x, y, None, None)]), verbose=0)
    assert weights_equal(net.get_weights(), after_batches(0))


def test_a_batch_without_targets_in_fit_says_y_is_missing():
    x, _ = arrays()
    net = model()
    with pytest.raises(ValueError, match=r"Batch 0 of the training data .*: y is missing"):
        net.fit(iter([x[:8]]), verbose=0)
    assert weights_equal(net.get_weights(), after_batches(0))


@pytest.mark.parametrize("settings", [dict(), dict(workers=3), dict(workers=2, use_multiprocessing=True)])
def test_an_exception_in_getitem_reaches_the_user_with_the_batch_index_and_stops_every_worker(settings):
    x, y = arrays()
    net = model()
    where = "process" if settings.get("use_multiprocessing") else "thread" if settings else None
    pattern = r"FailingDataset\[3\]" + (rf" \(in a worker {where}\)" if where else "") + \
        r" raised ValueError: cannot read the file of batch 3"
    with pytest.raises(ValueError, match=pattern) as info:
        net.fit(FailingDataset(x, y, bad=3, **settings), shuffle=False, verbose=0)
    assert "cannot read the file of batch 3" in repr(info.value.__cause__)  # the worker's own exception
    assert weights_equal(net.get_weights(), after_batches(3))
    assert prefetch_threads() == []
    assert multiprocessing.active_children() == []


def test_an_exception_in_a_generator_names_the_batch_it_was_making():
    x, y = arrays()

    def failing():
        yield from batches_of(x, y)[:2]
        raise OSError("the disk went away")

    net = model()
    with pytest.raises(OSError, match=r"The training data \(a generator\) \(batch 2\) raised OSError: the disk went"):
        net.fit(failing(), verbose=0)
    assert weights_equal(net.get_weights(), after_batches(2))


def test_an_exception_in_validation_getitem_stops_the_workers_too():
    x, y = arrays()
    net = model()
    with pytest.raises(ValueError, match=r"FailingDataset\[1\] \(in a worker thread\)"):
        net.fit(x, y, validation_data=FailingDataset(x, y, bad=1, workers=2), verbose=0)
    assert prefetch_threads() == []


@pytest.mark.parametrize("endless", [lambda x, y: EndlessDataset(x, y),
                                     lambda x, y: itertools.cycle(batches_of(x, y))])
def test_steps_per_epoch_is_required_for_data_that_never_ends(endless):
    x, y = arrays()
    net = model()
    before = net.get_weights()
    with pytest.raises(ValueError, match=r"The training data \(.*\) never ends; pass steps_per_epoch"):
        net.fit(endless(x, y), verbose=0)
    with pytest.raises(ValueError, match=r"The validation data \(.*\) never ends; pass validation_steps"):
        net.fit(x, y, validation_data=endless(x, y), verbose=0)
    with pytest.raises(ValueError, match=r"The evaluation data \(.*\) never ends; pass steps"):
        net.evaluate(endless(x, y))
    with pytest.raises(ValueError, match=r"The prediction data \(.*\) never ends; pass steps"):
        net.predict(endless(x, y))
    assert weights_equal(net.get_weights(), before)


def test_a_one_shot_validation_generator_without_validation_steps_cannot_serve_several_validations():
    x, y = arrays()
    net = model()
    before = net.get_weights()
    with pytest.raises(ValueError, match=r"validation_data is a generator without validation_steps: the first of "
                                         r"this fit's 3 validations would use it up"):
        net.fit(x, y, epochs=3, validation_data=generator(x, y), verbose=0)
    assert weights_equal(net.get_weights(), before)


@pytest.mark.parametrize("name, value, match", [
    ("steps_per_epoch", 0, "steps_per_epoch must be a positive integer or None, got 0"),
    ("steps_per_epoch", -2, "steps_per_epoch must be a positive integer or None, got -2"),
    ("steps_per_epoch", 2.5, "steps_per_epoch must be a positive integer or None, got 2.5"),
    ("steps_per_epoch", True, "steps_per_epoch must be a positive integer or None, got True"),
    ("validation_steps", 0, "validation_steps must be a positive integer or None, got 0"),
    ("validation_batch_size", 0, "validation_batch_size must be a positive integer"),
    ("validation_freq", 0, "validation_freq must be a positive integer or a list of epochs, got 0"),
    ("validation_freq", [1, 0], "validation_freq lists the epochs to validate after, counted from 1; 0 is not one"),
    ("initial_epoch", -1, "initial_epoch must be a non-negative integer, got -1"),
])
def test_bad_steps_and_frequencies_are_refused_before_training(name, value, match):
    x, y = arrays()
    net = model()
    before = net.get_weights()
    with pytest.raises(ValueError, match=match):
        net.fit(generator(x, y), validation_data=ArrayDataset(x, y), **{name: value}, verbose=0)
    with pytest.raises(ValueError, match=match):
        net.fit(x, y, validation_data=(x, y), **{name: value}, verbose=0)
    assert weights_equal(net.get_weights(), before)


def test_a_validation_freq_of_another_kind_is_a_type_error():
    x, y = arrays()
    net = model()
    with pytest.raises(TypeError, match="validation_freq must be an int or a list of epochs, got str"):
        net.fit(x, y, validation_freq="2", verbose=0)


def test_bad_steps_for_evaluate_and_predict():
    x, y = arrays()
    net = model()
    with pytest.raises(ValueError, match="steps must be a positive integer or None, got 0"):
        net.evaluate(ArrayDataset(x, y), steps=0)
    with pytest.raises(ValueError, match="steps must be a positive integer or None, got -1"):
        net.predict(x, steps=-1)


@pytest.mark.parametrize("argument", ["y", "sample_weight"])
def test_targets_or_weights_next_to_a_generator_are_refused(argument):
    x, y = arrays()
    net = model()
    before = net.get_weights()
    value = y if argument == "y" else np.ones(len(x))
    with pytest.raises(ValueError, match=rf"When x is a generator, {argument} must not be passed: give it inside "
                                         r"each batch, as \(x, y\) or \(x, y, sample_weight\)"):
        net.fit(generator(x, y), **{argument: value}, verbose=0)
    with pytest.raises(ValueError, match=rf"When x is the PyDataset ArrayDataset, {argument} must not be passed"):
        net.evaluate(ArrayDataset(x, y), **{argument: value})
    assert weights_equal(net.get_weights(), before)


def test_validation_split_needs_arrays():
    x, y = arrays()
    net = model()
    with pytest.raises(ValueError, match=r"validation_split needs arrays .* but x is the PyDataset ArrayDataset; pass "
                                         "validation_data instead"):
        net.fit(ArrayDataset(x, y), validation_split=0.2, verbose=0)


def test_data_that_gives_no_batch_is_refused():
    net = model()
    before = net.get_weights()
    with pytest.raises(ValueError, match=r"The training data \(an iterator \(list_iterator\)\) gave no batch"):
        net.fit(iter([]), verbose=0)
    with pytest.raises(ValueError, match=r"The evaluation data \(a generator\) gave no batch to evaluate"):
        net.evaluate((b for b in []))
    with pytest.raises(ValueError, match=r"The prediction data .* gave no batch to predict"):
        net.predict(iter([]))
    assert weights_equal(net.get_weights(), before)


def test_bad_worker_settings_of_a_dataset_are_refused():
    x, y = arrays()
    dataset = ArrayDataset(x, y)
    dataset.workers = 0
    net = model()
    with pytest.raises(ValueError, match="ArrayDataset.workers must be an integer >= 1, got 0"):
        net.fit(dataset, verbose=0)
    with pytest.raises(ValueError, match="PyDataset max_queue_size must be an integer >= 1, got 0"):
        ArrayDataset(x, y, max_queue_size=0)
