"""Training keeps its promises under attack: divergence leaves the model exactly as after
its last finite step (weights, optimizer state, iterations, BatchNorm statistics), Ctrl-C
takes effect between two steps, two fits of one model at once are refused, data that the
model's dtype cannot hold is refused before any change, deep and wide graphs build and
load without recursion."""

import signal
import threading

import numpy as np
import pytest

import numnet as nn
from numnet import BatchNormalization, Concatenate, Dense, Input, Model, Sequential


def _model(seed=0):
    model = Sequential([Input((3,)), Dense(8, activation="relu", seed=seed), BatchNormalization(),
                        Dense(1, seed=seed + 1)], seed=seed)
    model.compile(nn.optimizers.Adam(0.01), "mse")
    return model


def _data(n=40):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


def _state(model):
    optimizer = model.optimizer
    state = {k: {s: np.array(a) for s, a in slots.items() if not s.startswith("_")}
             for k, slots in optimizer.state.items()}
    return model.get_weights(), state, optimizer.iterations


def _assert_same_state(a, b):
    for p, q in zip(a[0], b[0]):
        np.testing.assert_array_equal(p, q)
    assert a[2] == b[2]
    slots_a, slots_b = list(a[1].values()), list(b[1].values())  # same architecture, other layer names
    assert len(slots_a) == len(slots_b)
    for sa, sb in zip(slots_a, slots_b):
        assert sa.keys() == sb.keys()
        for slot in sa:
            np.testing.assert_array_equal(sa[slot], sb[slot], err_msg=slot)


def test_divergence_keeps_exactly_the_last_finite_step():
    x, y = _data()
    y[28] = 1e20  # batch 8 of 10 (batch size 4): its squared error overflows float32
    model = _model()
    with pytest.raises(FloatingPointError, match="batch 8"):
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    twin = _model()
    twin.fit(x[:28], y[:28], batch_size=4, epochs=1, shuffle=False, verbose=0)  # the 7 finite steps
    _assert_same_state(_state(model), _state(twin))  # moving statistics are weights too


def test_a_gradient_that_overflows_with_a_finite_loss_changes_nothing_and_poisons_nothing():
    x, y = _data(8)
    x[:] = 1e3
    y[:] = 1e18  # loss ~1e36 is finite in float32; the squared gradient overflows
    model = Sequential([Input((3,)), Dense(1, seed=0)])
    model.compile(nn.optimizers.Adam(0.01), "mse")
    model.fit(*_data(), epochs=1, verbose=0)  # so that Adam has state to poison
    before = _state(model)
    with pytest.raises(FloatingPointError, match="gradient became non-finite"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    _assert_same_state(_state(model), before)
    assert model.optimizer.state_finite()
    model.fit(*_data(), epochs=1, verbose=0)  # and it trains on afterwards
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_terminate_on_nan_stops_at_the_last_finite_step_too():
    x, y = _data()
    y[28] = 1e20
    model = _model()
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[nn.callbacks.TerminateOnNaN()])
    twin = _model()
    twin.fit(x[:28], y[:28], batch_size=4, epochs=1, shuffle=False, verbose=0)
    _assert_same_state(_state(model), _state(twin))


class _InterruptAt(nn.callbacks.Callback):
    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def on_batch_begin(self, batch, logs=None):
        if batch == self.batch:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C while this batch's step is about to run


def test_ctrl_c_inside_a_step_leaves_the_model_as_after_that_step():
    x, y = _data()
    model = _model()
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a background job
    with pytest.raises(KeyboardInterrupt, match="after batch 4"):
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[_InterruptAt(3)])
    twin = _model()
    twin.fit(x[:16], y[:16], batch_size=4, epochs=1, shuffle=False, verbose=0)
    _assert_same_state(_state(model), _state(twin))
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back


def test_two_fits_of_one_model_at_once_are_refused():
    x, y = _data()
    model = _model()
    started, release = threading.Event(), threading.Event()

    class Hold(nn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.set()
            release.wait(10)

    worker = threading.Thread(target=lambda: model.fit(x, y, epochs=1, verbose=0, callbacks=[Hold()]))
    worker.start()
    assert started.wait(10)
    try:
        with pytest.raises(RuntimeError, match="already being trained"):
            model.fit(x, y, epochs=1, verbose=0)
    finally:
        release.set()
        worker.join(10)
    model.fit(x, y, epochs=1, verbose=0)  # one after the other is fine


def test_values_too_large_for_the_model_dtype_are_refused_before_training():
    x, y = _data()
    x = x.astype(np.float64)
    x[5, 1] = 1e39  # finite in float64, inf in float32
    model = _model()
    before = _state(model)
    with pytest.raises(ValueError, match=r"x holds values up to 1e\+39, which are infinite in the model's float32"):
        model.fit(x, y, verbose=0)
    _assert_same_state(_state(model), before)
    y64 = y.astype(np.float64)
    y64[0] = -1e300
    with pytest.raises(ValueError, match="y holds values up to 1e\\+300"):
        model.fit(x.clip(-1, 1), y64, verbose=0)
    float64_model = Sequential([Input((3,)), Dense(1)], dtype="float64")
    float64_model.compile("sgd", "mse")
    float64_model.evaluate(x, y)  # the same data is fine in float64


def test_a_deep_sequential_saves_and_loads(tmp_path):
    model = Sequential([Input((2,)), *[Dense(2, seed=i) for i in range(1000)]])
    model.save(tmp_path / "deep.npz")
    loaded = nn.load_model(tmp_path / "deep.npz")
    data = np.ones((1, 2), np.float32)
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))


def test_a_wide_graph_builds_and_loads(tmp_path):
    inputs = [Input((1,)) for _ in range(3000)]
    model = Model(inputs, Dense(1, seed=0)(Concatenate()(inputs)))
    model.save(tmp_path / "wide.npz")
    loaded = nn.load_model(tmp_path / "wide.npz")
    assert len(loaded.inputs) == 3000


def test_a_callback_monitoring_a_figure_fit_never_logs_warns_before_training():
    x, y = _data()
    model = _model()
    before = model.get_weights()
    stop = nn.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    with pytest.warns(UserWarning, match=r"EarlyStopping monitors 'val_loss'.*give validation_data or "
                                         r"validation_split"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[stop])
    assert not np.array_equal(before[0], model.get_weights()[0])  # a warning, not a refusal
