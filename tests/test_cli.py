import importlib.machinery
import importlib.util
import re
import sys
import types

import numpy as np
import pytest

import numnet
from numnet import cli, datasets

ACCURACY_LINE = re.compile(r"Held-out test accuracy: (\d\.\d+) \((\d+) of (\d+) digits correct\), loss (\d+\.\d+)")
MATRIX_ROW = re.compile(r"^\s*(\d)\s+((?:\d+\s+){10})\|\s+(\d+)$", re.MULTILINE)


def _test_labels(seed):
    x, y = datasets.load_digits()
    return datasets.train_test_split(x, y, test_size=0.25, seed=seed, stratify=y)[3]


def _check_demo_output(out, seed, min_accuracy):
    match = ACCURACY_LINE.search(out)
    assert match, out
    accuracy, correct, total = float(match[1]), int(match[2]), int(match[3])
    assert total == 450
    assert accuracy >= min_accuracy, out
    assert accuracy == pytest.approx(correct / total, abs=1e-4)

    rows = MATRIX_ROW.findall(out)
    assert [int(r[0]) for r in rows] == list(range(10)), out
    matrix = np.array([[int(v) for v in r[1].split()] for r in rows])
    totals = np.array([int(r[2]) for r in rows])
    expected = np.bincount(_test_labels(seed), minlength=10)
    np.testing.assert_array_equal(matrix.sum(axis=1), expected)
    np.testing.assert_array_equal(totals, expected)
    assert np.trace(matrix) == correct


def test_demo_mlp_reaches_95_percent_and_prints_confusion_matrix(capsys):
    assert cli.main(["demo", "--epochs", "10", "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "Trained in" in out and "Confusion matrix" in out
    _check_demo_output(out, seed=0, min_accuracy=0.95)


def test_demo_is_reproducible_with_a_seed(capsys):
    cli.main(["demo", "--epochs", "2", "--seed", "7", "--no-plot"])
    first = ACCURACY_LINE.search(capsys.readouterr().out)[0]
    cli.main(["demo", "--epochs", "2", "--seed", "7", "--no-plot"])
    assert ACCURACY_LINE.search(capsys.readouterr().out)[0] == first


def test_demo_cnn_reaches_98_percent_with_its_defaults(capsys):
    assert cli.main(["demo", "--cnn", "--no-plot"]) == 0
    _check_demo_output(capsys.readouterr().out, seed=0, min_accuracy=0.98)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"numnet {numnet.__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 1
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["demo", "--epochs", "0"], ["demo", "--seed", "-1"], ["train"]])
def test_bad_arguments_exit_with_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_confusion_matrix_counts_and_table():
    m = cli.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    table = cli.format_confusion_matrix(m)
    assert table.splitlines()[1].split() == ["true\\pred", "0", "1", "2", "|", "total"]
    assert table.splitlines()[4].split() == ["2", "1", "0", "2", "|", "3"]


def test_save_plot_uses_numnet_plot_when_present(monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("numnet.plot")
    fake.__spec__ = importlib.machinery.ModuleSpec("numnet.plot", None)
    fake.history = lambda history, path: calls.append((history, path))
    monkeypatch.setitem(sys.modules, "numnet.plot", fake)
    path = str(tmp_path / "curves.png")
    assert cli._save_plot("H", path) == path
    assert calls == [("H", path)]
