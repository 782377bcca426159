"""fit / evaluate / predict: bad input refused before any weight changes, the divergence
guard, batching and shuffling, validation, sample and class weights, progress output,
dtypes, reproducibility, and accuracy on the bundled data."""

import math

import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Model, Sequential, datasets
from numnet.callbacks import Callback, TerminateOnNaN
from numnet.losses import Loss


def _data(n=40, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, rng.integers(0, k, size=n)


def _classifier(dtype="float64", optimizer=None, metrics=("accuracy",)):
    model = Sequential([Input((4,)), Dense(8, activation="tanh", seed=1), Dense(3, activation="softmax", seed=2)],
                       dtype=dtype)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer or nn.optimizers.SGD(0.1),
                  metrics=list(metrics))
    return model


def _regressor(optimizer=None, dtype="float64"):
    model = Sequential([Input((4,)), Dense(8, activation="relu", seed=1), Dense(1, seed=2)], dtype=dtype)
    model.compile(loss="mse", optimizer=optimizer or nn.optimizers.SGD(0.01))
    return model


def _assert_weights(model, expected):
    got = model.get_weights()
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def _all_finite(model):
    return all(np.isfinite(w).all() for w in model.get_weights())


# --- bad input: a clear error and unchanged weights -----------------------------------------
X, Y = _data()


def _bad_calls():
    x_nan, x_inf = X.copy(), X.copy()
    x_nan[3, 1] = np.nan
    x_inf[5, 0] = np.inf
    return {
        "feature shape": (ValueError, r"x has shape \(40, 3\).*expects \(n_samples, 4\).*got \(3,\)",
                          dict(x=X[:, :3], y=Y)),
        "rank": (ValueError, r"feature shape \(4,\), got \(4, 1\)", dict(x=X[..., None], y=Y)),
        "length": (ValueError, "x has 40 samples but y has 39", dict(x=X, y=Y[:-1])),
        "nan x": (ValueError, "x contains NaN or infinite", dict(x=x_nan, y=Y)),
        "inf x": (ValueError, "x contains NaN or infinite", dict(x=x_inf, y=Y)),
        "label too big": (ValueError, r"labels from 0 to 3.*3 classes \(labels 0..2\)",
                          dict(x=X, y=np.where(Y == 2, 3, Y))),
        "negative label": (ValueError, "labels from -1", dict(x=X, y=np.where(Y == 0, -1, Y))),
        "fractional label": (ValueError, "whole-number class labels", dict(x=X, y=Y + 0.5)),
        "one-hot for sparse": (ValueError, r"integer class labels of shape \(n_samples,\).*got \(40, 3\)",
                               dict(x=X, y=np.eye(3)[Y])),
        "string x": (TypeError, "x must hold numbers", dict(x=X.astype(str), y=Y)),
        "object y": (TypeError, "y must hold numbers", dict(x=X, y=np.array([None] * 40))),
        "ragged x": (TypeError, "x must be a numeric array", dict(x=[[1.0, 2.0], [1.0]], y=Y[:2])),
        "scalar x": (ValueError, "batch dimension", dict(x=3.0, y=Y)),
        "epochs 0": (ValueError, r"epochs must be a positive integer, got 0", dict(x=X, y=Y, epochs=0)),
        "epochs -1": (ValueError, r"epochs must be a positive integer, got -1", dict(x=X, y=Y, epochs=-1)),
        "epochs 1.5": (ValueError, r"epochs must be a positive integer, got 1.5", dict(x=X, y=Y, epochs=1.5)),
        "epochs True": (ValueError, r"epochs must be a positive integer, got True", dict(x=X, y=Y, epochs=True)),
        "batch 0": (ValueError, r"batch_size must be a positive integer, got 0", dict(x=X, y=Y, batch_size=0)),
        "batch -1": (ValueError, r"batch_size must be a positive integer, got -1", dict(x=X, y=Y, batch_size=-1)),
        "batch 1.5": (ValueError, r"batch_size must be a positive integer, got 1.5", dict(x=X, y=Y, batch_size=1.5)),
        "batch True": (ValueError, r"batch_size must be a positive integer, got True",
                       dict(x=X, y=Y, batch_size=True)),
        "split 1": (ValueError, r"validation_split must be a fraction in \[0, 1\), got 1",
                    dict(x=X, y=Y, validation_split=1)),
        "split -0.1": (ValueError, "validation_split must be a fraction", dict(x=X, y=Y, validation_split=-0.1)),
        "split str": (ValueError, "validation_split must be a fraction", dict(x=X, y=Y, validation_split="0.2")),
        "split empty": (ValueError, r"validation_split=0.01 of 40 samples leaves an empty split",
                        dict(x=X, y=Y, validation_split=0.01)),
        "validation_data form": (ValueError, r"validation_data must be a tuple \(x_val, y_val\)",
                                 dict(x=X, y=Y, validation_data=X)),
        "validation_data shape": (ValueError, r"x_val has shape \(5, 2\)",
                                  dict(x=X, y=Y, validation_data=(X[:5, :2], Y[:5]))),
        "nan y_val": (ValueError, "y_val contains NaN",
                      dict(x=X, y=Y, validation_data=(X[:2], np.array([0.0, np.nan])))),
        "sample_weight shape": (ValueError, r"sample_weight must have shape \(40,\)",
                                dict(x=X, y=Y, sample_weight=np.ones(39))),
        "negative sample_weight": (ValueError, "non-negative", dict(x=X, y=Y, sample_weight=-np.ones(40))),
        "class_weight kind": (TypeError, "class_weight must be a dict", dict(x=X, y=Y, class_weight=[1, 2, 3])),
        "class_weight value": (ValueError, "non-negative weights", dict(x=X, y=Y, class_weight={0: -1.0})),
        "class_weight key": (ValueError, "class indices", dict(x=X, y=Y, class_weight={"cat": 1.0})),
        "verbose": (ValueError, "verbose must be 0, 1 or 2", dict(x=X, y=Y, verbose=3)),
    }


BAD = _bad_calls()


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_fit_refuses_bad_input_before_any_weight_changes(case):
    error, match, kwargs = BAD[case]
    model = _classifier()
    before = model.get_weights()
    kwargs.setdefault("verbose", 0)
    with pytest.raises(error, match=match):
        model.fit(**kwargs)
    _assert_weights(model, before)
    assert model.optimizer.iterations == 0


def test_regression_targets_are_checked_too():
    model = _regressor()
    before = model.get_weights()
    y = np.ones((40, 1))
    y[7] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or infinite"):
        model.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match=r"y has shape \(40, 2\), but the model outputs \(n_samples, 1\)"):
        model.fit(X, np.ones((40, 2)), verbose=0)
    _assert_weights(model, before)


def test_one_hot_targets_must_match_the_output_width():
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"y has shape \(40, 4\), but the model outputs \(n_samples, 3\)"):
        model.fit(X, np.eye(4)[Y], verbose=0)
    with pytest.raises(ValueError, match=r"Use sparse_categorical_cross_entropy for integer labels"):
        model.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match=r"values in \[0, 1\] for categorical_cross_entropy"):
        model.fit(X, 2 * np.eye(3)[Y], verbose=0)
    _assert_weights(model, before)


def test_cross_entropy_targets_outside_zero_one_are_refused():
    model = Sequential([Input((4,)), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"values in \[0, 1\] for binary_cross_entropy, got values from 0 to 2"):
        model.fit(X, Y, verbose=0)
    _assert_weights(model, before)


def test_evaluate_and_predict_check_their_input():
    model = _classifier()
    with pytest.raises(ValueError, match=r"expects \(n_samples, 4\)"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="x contains NaN"):
        model.predict(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="x has 40 samples but y has 2"):
        model.evaluate(X, Y[:2])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.predict(X, batch_size=0)


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_fit_or_evaluate_before_compile_says_to_compile(method):
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    before = model.get_weights()
    with pytest.raises(RuntimeError, match=rf"Call model.compile\(optimizer=..., loss=...\) before model.{method}"):
        getattr(model, method)(X, Y)
    _assert_weights(model, before)
    assert model.predict(X).shape == (40, 3)  # predict needs no compile


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss="cross_entropy"), r"Unknown loss 'cross_entropy'; expected one of: binary_cross_entropy"),
    (dict(loss="mse", optimizer="adadelta"), r"Unknown optimizer 'adadelta'.*adagrad, adam, adamax, adamw, lion, nadam, rmsprop, sgd"),
    (dict(loss="mse", metrics=["accuracyy"]), r"Unknown metric 'accuracyy'.*accuracy"),
    (dict(loss="adam"), "is an optimizer, not a loss"),
])
def test_unknown_names_list_the_choices(kwargs, match):
    model = Sequential([Input((4,)), Dense(3)])
    with pytest.raises(ValueError, match=match):
        model.compile(**kwargs)


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match=r"Unknown activation 'relux'.*relu.*sigmoid.*softmax"):
        Dense(3, activation="relux")


def test_softmax_output_with_from_logits_explains_the_double_softmax():
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match="softmax would be applied twice"):
        model.compile(loss=Loss("sparse_categorical_crossentropy", from_logits=True), optimizer="sgd")


# --- the divergence guard ----------------------------------------------------------------------
def _diverging(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)) * 10
    return x, x @ rng.normal(size=(4, 1)) * 100


def test_divergence_raises_naming_epoch_and_batch_and_keeps_finite_weights():
    x, y = _diverging()
    model = _regressor(nn.optimizers.SGD(10.0))
    with np.errstate(all="ignore"), pytest.raises(
        FloatingPointError,
        match=r"(loss became (nan|inf)|gradient became non-finite \(loss [^)]*\)) at epoch 1, batch \d+\..*lower "
              r"learning rate \(now 10\)"
    ):
        model.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0)
    assert _all_finite(model)


def test_overflow_in_the_last_update_is_caught_too():
    # the largest learning rate numnet accepts, on inputs of 1e153: the loss (about 1e302) is
    # finite, the update to the first kernel (about 1e6 * 1e153 * 1e151) is not
    x, y = np.full((1, 4), 1e153), np.ones((1, 1))
    model = _regressor(nn.optimizers.SGD(1e6))
    before = model.get_weights()
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match=r"epoch 1, batch 1.*lower learning rate"):
        model.fit(x, y, epochs=1, verbose=0)
    _assert_weights(model, before)


def test_terminate_on_nan_stops_without_raising_and_weights_stay_finite(capsys):
    x, y = _diverging()
    model = _regressor(nn.optimizers.SGD(10.0))
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=5, batch_size=8, verbose=2, callbacks=[TerminateOnNaN()])
    assert model.stop_training and _all_finite(model)
    assert len(history.history.get("loss", [])) < 5
    assert "TerminateOnNaN" in capsys.readouterr().out


# --- batching, shuffling, validation -------------------------------------------------------------
class SeenRows:
    """Records which rows (identified by x[:, 0] = row index) each training step sees."""

    def __init__(self, model):
        self.batches = []
        original = model.train_step

        def train_step(data):
            self.batches.append(data[0][0][:, 0].astype(int).tolist())
            return original(data)

        model.train_step = train_step

    def epochs(self, per_epoch):
        return [sum(self.batches[i:i + per_epoch], []) for i in range(0, len(self.batches), per_epoch)]


def _indexed(n=23):
    x, y = _data(n)
    x[:, 0] = np.arange(n)
    return x, y


def test_history_holds_loss_metrics_and_val_versions_per_epoch():
    model = _classifier(metrics=["accuracy", "f1"])
    history = model.fit(X, Y, epochs=4, batch_size=8, validation_split=0.25, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1"]
    assert all(len(v) == 4 and all(np.isfinite(v)) for v in history.history.values())


def test_every_batch_including_the_last_partial_one_is_used():
    n, bs, epochs = 23, 5, 3
    x, y = _indexed(n)
    model = _classifier()
    seen = SeenRows(model)
    model.fit(x, y, epochs=epochs, batch_size=bs, verbose=0)
    assert model.optimizer.iterations == math.ceil(n / bs) * epochs
    assert [len(b) for b in seen.batches[:5]] == [5, 5, 5, 5, 3]
    # The lone last sample changes the result: train on 21 rows vs 21 + 1.
    a, b = _classifier(), _classifier()
    a.fit(x[:21], y[:21], batch_size=bs, shuffle=False, verbose=0)
    b.fit(x[:22], y[:22], batch_size=bs, shuffle=False, verbose=0)
    assert b.optimizer.iterations == 5 and not np.allclose(a.get_weights()[0], b.get_weights()[0])


def test_each_epoch_draws_a_fresh_permutation():
    n = 23
    x, y = _indexed(n)
    model = _classifier()
    seen = SeenRows(model)
    model.fit(x, y, epochs=3, batch_size=5, verbose=0)
    orders = seen.epochs(5)
    assert all(sorted(order) == list(range(n)) for order in orders)
    assert orders[0] != orders[1] != orders[2] and orders[0] != list(range(n))
    unshuffled = _classifier()
    seen = SeenRows(unshuffled)
    unshuffled.fit(x, y, epochs=2, batch_size=5, shuffle=False, verbose=0)
    assert seen.epochs(5) == [list(range(n))] * 2


def _held_out(seed, n=40, split=0.25):
    x, y = _indexed(n)
    nn.set_seed(seed)
    model = _classifier()
    seen = SeenRows(model)
    model.fit(x, y, epochs=2, batch_size=64, validation_split=split, verbose=0)
    trained = set(seen.batches[0])
    assert set(seen.batches[1]) == trained  # the same hold-out every epoch
    return sorted(set(range(n)) - trained)


def test_validation_split_is_a_shuffled_seeded_hold_out_not_the_tail():
    held = _held_out(seed=5)
    assert len(held) == 10
    assert held != list(range(30, 40))  # not simply the last rows
    assert _held_out(seed=5) == held  # reproducible under set_seed
    assert _held_out(seed=6) != held


def test_validation_split_loss_is_the_loss_on_the_held_out_rows():
    x, y = _indexed(40)
    nn.set_seed(1)
    held = _held_out(seed=1)
    nn.set_seed(1)
    model = _classifier()
    history = model.fit(x, y, epochs=2, batch_size=64, validation_split=0.25, verbose=0)
    logs = model.evaluate(x[held], y[held], return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(logs["loss"], rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(logs["accuracy"])


def test_validation_split_accepts_numpy_scalars():
    history = _classifier().fit(X, Y, epochs=1, validation_split=np.float32(0.25), verbose=0)
    assert "val_loss" in history.history


def test_validation_data_is_evaluated_after_each_epoch():
    x_val, y_val = _data(15, seed=9)
    model = _classifier()
    history = model.fit(X, Y, epochs=3, validation_data=(x_val, y_val), verbose=0)
    assert len(history.history["val_loss"]) == 3
    logs = model.evaluate(x_val, y_val, batch_size=4, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(logs["loss"], rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(logs["accuracy"])


# --- sample and class weights ------------------------------------------------------------------
def _one_step(x, y, **kwargs):
    model = _classifier()
    model.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0, **kwargs)
    return model.get_weights()


def _changes(after):
    before = _classifier().get_weights()
    return [a - b for a, b in zip(after, before)]


def test_a_sample_with_zero_weight_has_no_effect_on_the_gradient():
    w = np.ones(len(X))
    w[[0, 7]] = 0.0
    x_garbage, y_garbage = X.copy(), Y.copy()
    x_garbage[[0, 7]] = 123.0
    y_garbage[[0, 7]] = (Y[[0, 7]] + 1) % 3
    a = _one_step(X, Y, sample_weight=w)
    b = _one_step(x_garbage, y_garbage, sample_weight=w)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-15)
    c = _one_step(X, Y)
    assert not np.allclose(a[0], c[0])


def test_sample_weights_scale_the_gradient():
    single = _changes(_one_step(X, Y))
    double = _changes(_one_step(X, Y, sample_weight=np.full(len(X), 2.0)))
    for s, d in zip(single, double):
        np.testing.assert_allclose(d, 2 * s, rtol=1e-10, atol=1e-15)


def test_class_weight_equals_the_matching_sample_weight():
    class_weight = {0: 0.0, 1: 2.5}  # class 2 keeps weight 1
    per_sample = np.array([class_weight.get(label, 1.0) for label in Y])
    a = _one_step(X, Y, class_weight=class_weight)
    b = _one_step(X, Y, sample_weight=per_sample)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    both = _one_step(X, Y, class_weight=class_weight, sample_weight=np.full(len(X), 2.0))
    twice = _one_step(X, Y, sample_weight=2 * per_sample)
    for u, v in zip(both, twice):
        np.testing.assert_allclose(u, v, rtol=1e-12)


def test_weighted_loss_is_the_mean_of_weighted_sample_losses():
    model = _classifier()
    w = np.linspace(0, 2, len(X))
    per_sample = model.loss.per_sample(Y, model.predict(X))
    assert model.evaluate(X, Y, sample_weight=w, return_dict=True)["loss"] == pytest.approx(np.mean(w * per_sample), rel=1e-12)


# --- progress output ---------------------------------------------------------------------------
def test_verbose_0_prints_nothing(capsys):
    _classifier().fit(X, Y, epochs=2, validation_split=0.2, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_2_prints_one_line_per_epoch(capsys):
    _classifier().fit(X, Y, epochs=3, validation_split=0.2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3") and "loss: " in line and "val_accuracy: " in line


def test_verbose_1_shows_a_progress_bar_with_the_running_figures(capsys, monkeypatch):
    monkeypatch.setattr("numnet.training.progress._interactive", lambda: True)  # as in a terminal
    _classifier().fit(X, Y, epochs=2, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "5/5" in out and "100%" in out and "loss=" in out and "accuracy=" in out


def test_verbose_1_prints_one_line_per_epoch_when_output_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr("numnet.training.progress._interactive", lambda: False)  # a log file or a pipe
    _classifier().fit(X, Y, epochs=2, batch_size=8, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - ") and "loss: " in lines[0] and "accuracy: " in lines[0]
    assert "%" not in lines[1]


# --- dtypes --------------------------------------------------------------------------------------
class GradDtypes(Callback):
    def __init__(self):
        super().__init__()
        self.dtypes = set()

    def on_batch_end(self, batch, logs=None):
        self.dtypes |= {g.dtype for layer in self.model.layers for g in layer.grads.values()}


@pytest.mark.parametrize("model_dtype, data_dtype", [("float64", np.float32), ("float32", np.float64),
                                                     ("float32", np.int64)])
def test_data_is_cast_to_the_model_dtype(model_dtype, data_dtype):
    model = Sequential([Input((4,)), Dense(5, activation="relu"), Dense(1, activation="sigmoid")], dtype=model_dtype)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    x = (X * 3).astype(data_dtype)
    y = (Y == 1).astype(np.int64)  # integer targets too
    grads = GradDtypes()
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[grads])
    assert grads.dtypes == {np.dtype(model_dtype)}
    assert {w.dtype for w in model.get_weights()} == {np.dtype(model_dtype)}
    assert model.predict(x).dtype == np.dtype(model_dtype)
    assert model(x[:3]).dtype == np.dtype(model_dtype)


# --- reproducibility ----------------------------------------------------------------------------
def _seeded_run(seed):
    nn.set_seed(seed)
    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(X, Y, epochs=3, batch_size=7, validation_split=0.2, verbose=0)
    return model.get_weights(), history.history


def test_set_seed_makes_runs_bit_identical_and_leaves_numpy_global_state_alone():
    np.random.seed(1234)
    state = np.random.get_state()
    weights_a, history_a = _seeded_run(42)
    weights_b, history_b = _seeded_run(42)
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)
    assert history_a == history_b
    weights_c, _ = _seeded_run(43)
    assert not np.array_equal(weights_a[0], weights_c[0])
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


@pytest.mark.parametrize("seed", [-1, 1.5, True, "1"])
def test_set_seed_rejects_non_integers(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        nn.set_seed(seed)


# --- accuracy on the bundled data -------------------------------------------------------------------
def _standardise(x_train, x_test):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    return (x_train - mean) / std, (x_test - mean) / std


def test_iris_softmax_reaches_90_percent_held_out():
    nn.set_seed(0)
    x, y = datasets.load_iris()
    x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, test_size=0.3, seed=0, stratify=y)
    x_train, x_test = _standardise(x_train, x_test)
    model = Sequential([Input((4,)), Dense(16, activation="relu"), Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=nn.optimizers.Adam(0.01), metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=60, batch_size=16, verbose=0)
    assert model.evaluate(x_test, y_test, return_dict=True)["accuracy"] >= 0.9


def test_digits_mlp_reaches_95_percent_held_out():
    nn.set_seed(0)
    x, y = datasets.load_digits()
    x_train, x_test, y_train, y_test = datasets.train_test_split(x / 16, y, test_size=0.25, seed=0, stratify=y)
    model = Sequential([Input((64,)), Dense(128, activation="relu"), Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=nn.optimizers.Adam(0.002), metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=25, batch_size=32, verbose=0)  # 0.97-0.98 over seeds 0-5
    assert model.evaluate(x_test, y_test, return_dict=True)["accuracy"] >= 0.95


def test_breast_cancer_sigmoid_reaches_93_percent_held_out():
    nn.set_seed(0)
    x, y = datasets.load_breast_cancer()
    x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=y)
    x_train, x_test = _standardise(x_train, x_test)
    model = Sequential([Input((x.shape[1],)), Dense(16, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=nn.optimizers.Adam(0.003), metrics=["accuracy", "f1"])
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
    logs = model.evaluate(x_test, y_test, return_dict=True)
    assert logs["accuracy"] >= 0.93 and logs["f1"] >= 0.9


def test_functional_model_trains_with_a_list_of_inputs():
    nn.set_seed(0)
    a, b = Input((2,)), Input((2,))
    merged = nn.Concatenate()([Dense(8, activation="tanh")(a), Dense(8, activation="tanh")(b)])
    model = Model([a, b], Dense(3, activation="softmax")(merged))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=nn.optimizers.Adam(0.02), metrics=["accuracy"])
    x, y = _data(200, seed=3)
    y = (x[:, 0] > 0).astype(int) + (x[:, 3] > 0).astype(int)
    history = model.fit([x[:, :2], x[:, 2:]], y, epochs=30, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert model.evaluate([x[:, :2], x[:, 2:]], y, return_dict=True)["accuracy"] > 0.9


def test_fit_and_evaluate_refuse_empty_data_and_predict_returns_an_empty_array():
    model = _classifier()
    before = model.get_weights()
    with pytest.raises(ValueError, match="no samples"):
        model.fit(X[:0], Y[:0], verbose=0)
    with pytest.raises(ValueError, match="no samples"):
        model.evaluate(X[:0], Y[:0])
    _assert_weights(model, before)
    assert model.predict(X[:0]).shape == (0, 3)


def test_a_single_sample_without_its_batch_axis_gets_a_hint():
    with pytest.raises(ValueError, match=r"For one sample, add the batch axis: x\[None\]"):
        _classifier().predict(X[0])


def test_predict_runs_wide_models_in_cache_sized_pieces_with_the_same_results(monkeypatch):
    from numnet.training import loop as training

    model = nn.Sequential([
        nn.Input((12, 12, 1)),
        nn.Conv2D(8, 3, activation="relu", seed=0),  # 10 * 10 * 8 * 4 = 3,200 bytes a sample
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(3, activation="softmax", seed=1),
    ])
    x = np.random.default_rng(0).random((50, 12, 12, 1), dtype=np.float32)
    whole = model.predict(x, batch_size=50)
    monkeypatch.setattr(training, "INFERENCE_ACTIVATION_BYTES", 3_200 * 7)
    assert training.inference_batch(model, 50) == 7
    assert training.inference_batch(model, 5) == 5  # never more than asked
    np.testing.assert_allclose(model.predict(x, batch_size=50), whole, rtol=1e-6, atol=1e-7)
    monkeypatch.setattr(training, "INFERENCE_ACTIVATION_BYTES", 10)
    assert training.inference_batch(model, 50) == 1  # at least one sample


def test_evaluate_gives_the_same_figures_whatever_pieces_it_runs_in(monkeypatch):
    from numnet.training import loop as training

    model = nn.Sequential([
        nn.Input((12, 12, 1)),
        nn.Conv2D(8, 3, activation="relu", seed=0),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(3, activation="softmax", seed=1),
    ])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    x, y = rng.random((40, 12, 12, 1), dtype=np.float32), rng.integers(0, 3, 40)
    whole = model.evaluate(x, y, batch_size=40, return_dict=True)
    monkeypatch.setattr(training, "INFERENCE_ACTIVATION_BYTES", 3_200 * 3)  # pieces of 3 samples
    pieces = model.evaluate(x, y, batch_size=40, return_dict=True)
    assert pieces["accuracy"] == whole["accuracy"]
    assert pieces["loss"] == pytest.approx(whole["loss"], rel=1e-6)
