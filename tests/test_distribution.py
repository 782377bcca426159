"""numnet.distribution: data-parallel training over MPI.

The multi-process tests launch ``mpiexec -n 2`` and ``-n 3`` (oversubscribed on a small
machine: uneven and empty shares) on the scripts in tests/mpi_scripts/, and compare what
every rank wrote with the same code run here in one process, without a distribution.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import numnet
from numnet import distribution

SCRIPTS = os.path.join(os.path.dirname(__file__), "mpi_scripts")
sys.path.insert(0, SCRIPTS)

import train_models  # noqa: E402  (the scripts' directory is on the path only now)


def _mpiexec() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    assert found, "mpiexec not found: pip install mpich (the test extra installs it)"
    return found


def _launch(n: int, script: str, *args, timeout: float = 120.0) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # The processes import the numnet under test, whatever the working directory.
    source = os.path.dirname(os.path.dirname(numnet.__file__))
    env["PYTHONPATH"] = source + os.pathsep + env.get("PYTHONPATH", "")
    command = [_mpiexec(), "-n", str(n), sys.executable, os.path.join(SCRIPTS, script), *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The one-process run (no distribution) of train_models.run."""
    outdir = tmp_path_factory.mktemp("one-process")
    assert distribution.distribution() is None
    return train_models.run(str(outdir)), outdir


@pytest.fixture(scope="module", params=[2, 3])
def ranks(request, tmp_path_factory):
    """What every rank of ``mpiexec -n N`` wrote, and the directory."""
    n = request.param
    outdir = tmp_path_factory.mktemp(f"mpi-{n}")
    result = _launch(n, "train_models.py", outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    return [dict(np.load(outdir / f"rank{r}.npz")) for r in range(n)], outdir


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", ["classifier_weights", "classifier_history", "classifier_evaluate",
                                 "classifier_predict", "classifier_lr", "regression_weights", "regression_history",
                                 "regularized_weights", "regularized_history",
                                 "outputs_weights", "outputs_history", "outputs_evaluate", "tagger_weights",
                                 "tagger_history", "tagger_evaluate", "tagger_predict", "syncbn_weights",
                                 "syncbn_history", "binary_history", "binary_evaluate", "augmented_weights",
                                 "augmented_history"])
def test_processes_train_to_the_weights_and_figures_of_one_process(ranks, reference, key):
    results, _ = ranks
    want = reference[0][key]
    assert np.abs(want).max() > 0
    for got in results:
        _close(got[key], want)


def test_every_rank_holds_the_same_weights_and_figures_bit_for_bit(ranks):
    results, _ = ranks
    numeric = [key for key, value in results[0].items() if value.dtype.kind == "f"]
    assert len(numeric) >= 24
    for got in results[1:]:
        for key in numeric:
            np.testing.assert_array_equal(got[key], results[0][key])


def test_every_rank_runs_the_same_steps_and_callbacks_decide_alike(ranks, reference):
    results, _ = ranks
    ref = reference[0]
    # EarlyStopping stopped the classifier before its 12 epochs, ReduceLROnPlateau halved
    # the rate: the same epoch and rate on every rank as in one process.
    assert ref["classifier_history"].shape[1] < 12
    assert float(ref["classifier_lr"]) < 0.05
    for got in results:
        assert int(got["classifier_iterations"]) == int(ref["classifier_iterations"])
        assert list(got["classifier_history_keys"]) == list(ref["classifier_history_keys"])
        assert got["classifier_history"].shape == ref["classifier_history"].shape


def test_saved_files_are_written_once_by_rank_zero(ranks, reference):
    results, outdir = ranks
    epochs = reference[0]["classifier_history"].shape[1]
    assert list(results[0]["saves"]) == [1, epochs]  # model.save once, a checkpoint per epoch
    for got in results[1:]:
        assert list(got["saves"]) == [0, 0]
    assert sorted(p for p in os.listdir(outdir) if p.startswith("ckpt")) == \
        sorted(p for p in os.listdir(reference[1]) if p.startswith("ckpt"))
    for got in results:  # every rank loaded the complete file rank 0 wrote
        _close(got["classifier_loaded"], reference[0]["classifier_weights"])

    def rows(directory):
        with open(os.path.join(directory, "log.csv"), newline="") as f:
            return list(csv.reader(f))

    mine, theirs = rows(outdir), rows(reference[1])
    assert mine[0] == theirs[0] and len(mine) == len(theirs) == epochs + 1
    _close(np.array(mine[1:], dtype=float), np.array(theirs[1:], dtype=float))


def test_batchnorm_moving_statistics_average_the_shares(ranks, reference):
    """Per-share batch statistics (Keras's synchronized=False): after one step from
    moving_mean 0, moving_variance 1 with momentum 0.5, the moving mean is the global
    batch's (exact), the variance the share-weighted mean of the shares' variances."""
    results, _ = ranks
    n = len(results)
    x = reference[0]["bn_x"]
    shares = np.array_split(x, n)
    share_var = sum(len(s) / len(x) * s.var(axis=0) for s in shares)
    for got in results:
        _close(got["bn_moving_mean"], 0.5 * x.mean(axis=0))
        _close(got["bn_moving_variance"], 0.5 + 0.5 * share_var)
    _close(reference[0]["bn_moving_mean"], 0.5 * x.mean(axis=0))


def test_divergence_stops_every_rank_alike_and_keeps_the_weights(ranks, reference):
    results, _ = ranks
    want = str(reference[0]["diverging"])
    assert want.startswith("The loss became inf at epoch 1, batch 1") and want.endswith("unchanged=True")
    for got in results:
        assert str(got["diverging"]) == want


def test_different_models_on_the_ranks_are_refused_on_every_rank(ranks):
    results, _ = ranks
    for rank, got in enumerate(results):
        assert str(got["mismatched"]).startswith("DataParallel: the processes hold different models")
        assert f"on process {rank}" in str(got["mismatched"])


def test_a_failed_save_on_rank_zero_raises_on_every_rank(ranks):
    results, _ = ranks
    assert str(results[0]["failed_save"]).startswith("NotADirectoryError")
    for got in results[1:]:
        message = str(got["failed_save"])
        assert message.startswith("RuntimeError: Process 0 failed during model.save(") and "NotADirectoryError" in message


def test_an_exception_on_one_rank_ends_the_whole_job_with_it_shown():
    start = time.perf_counter()
    result = _launch(3, "fail_on_rank.py", 1, timeout=60)
    assert time.perf_counter() - start < 60
    assert result.returncode != 0
    assert "ValueError: boom on rank 1" in result.stderr
    assert "process 1 of 3 raised ValueError; ending the whole job" in result.stderr
    assert "finished without the error" not in result.stdout


def test_the_documented_script_trains_once_and_writes_once(tmp_path):
    text = open(os.path.join(os.path.dirname(SCRIPTS), "..", "docs", "distributed.md"), encoding="utf-8").read()
    script = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    (tmp_path / "train.py").write_text(script)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(numnet.__file__)))
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "train.py"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split(" - ")[0] for line in lines if line.startswith("Epoch ")] == [f"Epoch {e}/5" for e in
                                                                                    range(1, 6)]
    (accuracy,) = [float(line.split()[-1]) for line in lines if line.startswith("validation accuracy")]
    assert accuracy > 0.8
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["digits-1.npz", "digits-2.npz", "digits-3.npz",
                                                             "digits-4.npz", "digits-5.npz", "digits.npz"]
    assert numnet.load_model(tmp_path / "digits.npz").predict(np.zeros((1, 64))).shape == (1, 10)


# --- in this process: a distribution of one ------------------------------------------------------
@pytest.fixture
def one_process():
    dist = distribution.DataParallel()
    distribution.set_distribution(dist)
    try:
        yield dist
    finally:
        distribution.set_distribution(None)


def test_importing_numnet_does_not_import_mpi4py():
    code = "import sys, numnet; print('mpi4py' in sys.modules, numnet.distribution.size())"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(numnet.__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "1"], out.stderr


def test_shares_are_contiguous_and_differ_by_at_most_one_row(one_process):
    class Three(distribution.DataParallel):
        def __init__(self):  # the arithmetic of a 3-process job, without one
            self.size, self.rank = 3, 0

    three = Three()
    assert [three.share(7, r) for r in range(3)] == [slice(0, 3), slice(3, 5), slice(5, 7)]
    assert [three.share(2, r) for r in range(3)] == [slice(0, 1), slice(1, 2), slice(2, 2)]
    assert three.share_sizes(8) == [3, 3, 2]
    assert one_process.share(5) == slice(0, 5) and distribution.size() == 1 and distribution.is_chief()


def test_one_process_distribution_trains_as_without_one(one_process):
    def train():
        numnet.set_seed(1)
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
        model = numnet.Sequential([numnet.Input((3,)), numnet.Dense(4, activation="tanh"), numnet.Dense(2)],
                                  dtype="float64")
        model.compile("adam", "mse", metrics=["mae"])
        history = model.fit(x, y, batch_size=6, epochs=2, verbose=0, validation_split=0.25)
        return model.get_weights(), history.history, model.predict(x, batch_size=7), model.evaluate(x, y)

    distributed = train()
    distribution.set_distribution(None)
    plain = train()
    for a, b in zip(distributed[0], plain[0]):
        _close(a, b)
    assert distributed[1].keys() == plain[1].keys()
    for key in plain[1]:
        _close(distributed[1][key], plain[1][key])
    _close(distributed[2], plain[2])
    _close(distributed[3], plain[3])


def test_set_distribution_refuses_what_is_not_a_distribution():
    with pytest.raises(TypeError, match="expects a numnet.distribution.DataParallel or None, got 'mpi'"):
        distribution.set_distribution("mpi")
    assert distribution.distribution() is None


def test_devices_must_list_every_process():
    with pytest.raises(ValueError, match=r"lists 2 devices but the job has 1 processes"):
        distribution.DataParallel(devices=["cpu:0", "cpu:1"])
    assert distribution.DataParallel(devices=distribution.list_devices()).devices == ["cpu:0"]
    assert distribution.distribution() is None


def test_communicator_must_be_an_mpi_communicator():
    with pytest.raises(TypeError, match="must be an mpi4py communicator, got 'world'"):
        distribution.DataParallel(communicator="world")


def test_a_metric_whose_state_cannot_be_combined_is_refused_before_any_update(one_process):
    class Largest(numnet.metrics.Metric):  # state in a plain attribute: not a sum
        def reset_state(self):
            self.largest = 0.0

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.largest = max(self.largest, float(np.max(y_pred)))

        def result(self):
            return self.largest

    numnet.set_seed(0)
    model = numnet.Sequential([numnet.Input((2,)), numnet.Dense(1)])
    model.compile("sgd", "mse", metrics=[Largest()])
    before = model.get_weights()
    with pytest.raises(TypeError, match="cannot combine the state of the metric 'largest'.*add_variable"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


# --- BatchNormalization(synchronized=True) ---------------------------------------------------------
def test_synchronized_is_keras_argument_and_survives_saving(tmp_path):
    layer = numnet.BatchNormalization(synchronized=True)
    assert layer.synchronized and layer.get_config()["synchronized"] is True
    assert "synchronized" not in numnet.BatchNormalization().get_config()
    model = numnet.Sequential([numnet.Input((3,)), layer, numnet.Dense(1)])
    model.save(tmp_path / "bn.npz")
    assert numnet.load_model(tmp_path / "bn.npz").layers[0].synchronized is True


def test_synchronized_must_be_a_flag():
    with pytest.raises(TypeError, match="BatchNormalization synchronized must be True or False, got 'yes'"):
        numnet.BatchNormalization(synchronized="yes")


@pytest.mark.parametrize("with_distribution", [False, True])
def test_synchronized_in_one_process_is_plain_batchnorm(with_distribution):
    """Without other processes there is nothing to synchronise: the same step, bit for bit
    (also under a DataParallel of one process)."""
    def step(synchronized):
        numnet.set_seed(4)
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(8, 3)) * 2 + 1, rng.normal(size=(8, 1))
        model = numnet.Sequential([numnet.Input((3,)), numnet.Dense(4),
                                   numnet.BatchNormalization(synchronized=synchronized), numnet.Dense(1)],
                                  dtype="float64")
        model.compile("sgd", "mse")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()

    if with_distribution:
        distribution.set_distribution(distribution.DataParallel())
    try:
        for a, b in zip(step(True), step(False)):
            np.testing.assert_array_equal(a, b)
    finally:
        distribution.set_distribution(None)


def test_without_a_distribution_this_is_process_zero_of_one():
    assert distribution.distribution() is None
    assert (distribution.rank(), distribution.size(), distribution.is_chief()) == (0, 1, True)
    distribution.barrier()  # nothing to wait for


def test_evaluate_prints_its_figures_once_on_rank_zero():
    result = _launch(2, "evaluate_verbose.py")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("loss:") == 1, result.stdout
