"""Inference from several threads at once gives exactly what one thread gives (each
thread runs its own view of every layer: numnet/graph/threads.py), without a lock."""

import threading

import numpy as np
import pytest

import numnet as nn
from numnet import (LSTM, BatchNormalization, Conv2D, Dense, Dropout, Embedding, Flatten, Input, MaxPool2D, Model,
                    Sequential)


def _cnn():
    return Sequential([Input((12, 12, 1)), Conv2D(6, 3, activation="relu", seed=0), MaxPool2D(2),
                       Conv2D(8, 3, padding="same", activation="relu", seed=1), MaxPool2D(3, strides=1),
                       BatchNormalization(), Flatten(), Dropout(0.3, seed=2), Dense(5, activation="softmax", seed=3)])


def _mlp():
    x = Input((20,))
    shared = Dense(16, activation="tanh", seed=0)
    return Model(x, Dense(3, seed=1)(shared(shared(Dense(16, seed=2)(x)))))


def _lstm():
    return Sequential([Input((7,)), Embedding(30, 8, seed=0), LSTM(6, seed=1), Dense(2, seed=2)])


CASES = {
    "cnn": (_cnn, lambda rng: rng.normal(size=(37, 12, 12, 1)).astype(np.float32)),
    "mlp": (_mlp, lambda rng: rng.normal(size=(53, 20)).astype(np.float32)),
    "lstm": (_lstm, lambda rng: rng.integers(0, 30, size=(29, 7))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_concurrent_predict_and_evaluate_are_bit_identical_to_one_thread(case):
    build, data = CASES[case]
    model = build()
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    inputs = [data(rng) for _ in range(4)]
    expected = [model.predict(x, batch_size=8) for x in inputs]
    targets = [np.zeros_like(e) for e in expected]
    expected_loss = [model.evaluate(x, t, batch_size=8) for x, t in zip(inputs, targets)]
    failures = []
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        for _ in range(15):
            got = model.predict(inputs[i], batch_size=8)
            if not np.array_equal(got, expected[i]):
                failures.append((i, float(np.abs(got - expected[i]).max())))
            if model.evaluate(inputs[i], targets[i], batch_size=8) != expected_loss[i]:
                failures.append((i, "evaluate"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_views_follow_training_and_set_weights():
    model = _mlp()
    model.compile("adam", "mse")
    x = np.random.default_rng(1).normal(size=(8, 20)).astype(np.float32)
    result = []
    thread = threading.Thread(target=lambda: result.append(model.predict(x)))
    thread.start(), thread.join()  # the worker thread now has its views
    model.fit(x, np.ones((8, 3)), epochs=3, verbose=0)
    model.set_weights([w * 0.5 for w in model.get_weights()])
    thread = threading.Thread(target=lambda: result.append(model.predict(x)))
    thread.start(), thread.join()
    np.testing.assert_array_equal(result[1], model.predict(x))
    assert not np.array_equal(result[0], result[1])
