"""numnet.plot: training curves and confusion matrices drawn with matplotlib."""

import sys

import matplotlib
import numpy as np
import pytest

import numnet as nn
from numnet import Dense, Input, Sequential, cli, plot

PNG = b"\x89PNG\r\n\x1a\n"


def _trained_history():
    nn.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy", "f1"])
    return model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0)


def _lines(figure):
    return {ax.get_title(): {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
            for ax in figure.axes if ax.get_visible()}


def test_history_draws_loss_and_each_metric_train_and_validation(tmp_path):
    history = _trained_history()
    figure = plot.history(history, path=tmp_path / "curves.png")
    drawn = _lines(figure)
    assert list(drawn) == ["Loss", "Accuracy", "F1 score"]
    assert drawn["Loss"]["training"] == history.history["loss"]
    assert drawn["Loss"]["validation"] == history.history["val_loss"]
    assert drawn["Accuracy"]["validation"] == history.history["val_accuracy"]
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG)


def test_history_accepts_a_dict_with_or_without_validation():
    figure = plot.history({"loss": [3.0, 2.0, 1.5], "mae": [1.0, 0.8, 0.7]})
    drawn = _lines(figure)
    assert drawn == {"Loss": {"training": [3.0, 2.0, 1.5]}, "Mean absolute error": {"training": [1.0, 0.8, 0.7]}}
    only_val = _lines(plot.history({"val_loss": [1.0, 0.5]}))
    assert only_val == {"Loss": {"validation": [1.0, 0.5]}}


def test_history_without_a_path_goes_through_pyplot():
    import matplotlib.pyplot as plt

    figure = plot.history({"loss": [1.0, 0.5]})
    assert plt.fignum_exists(figure.number)
    plt.close(figure)


def test_history_rejects_empty_input():
    with pytest.raises(ValueError, match="History"):
        plot.history({})
    with pytest.raises(ValueError, match="History"):
        plot.history([1, 2, 3])


def test_confusion_matrix_counts_and_labels(tmp_path):
    y_true = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2, 2, 1, 2])
    figure = plot.confusion_matrix(y_true, y_pred, class_names=["cat", "dog", "bird"], path=tmp_path / "cm.png")
    ax = figure.axes[0]
    expected = np.array([[1, 1, 0], [1, 2, 0], [0, 1, 3]])
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "bird"]
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(expected.ravel().tolist())
    assert "accuracy 66.7%" in ax.get_title()
    assert (tmp_path / "cm.png").read_bytes().startswith(PNG)


def test_confusion_matrix_from_scores_onehot_and_sigmoid_outputs(tmp_path):
    y_true = np.eye(3)[[0, 1, 2, 2]]
    scores = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.0, 0.1, 0.9]])
    figure = plot.confusion_matrix(y_true, scores, path=tmp_path / "a.png")
    np.testing.assert_array_equal(figure.axes[0].images[0].get_array(), [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    binary = plot.confusion_matrix(np.array([0, 1, 1]), np.array([[0.2], [0.9], [0.4]]), path=tmp_path / "b.png")
    np.testing.assert_array_equal(binary.axes[0].images[0].get_array(), [[1, 0], [1, 1]])
    normalized = plot.confusion_matrix([0, 0, 1], [0, 1, 1], normalize=True, path=tmp_path / "c.png")
    np.testing.assert_allclose(normalized.axes[0].images[0].get_array(), [[0.5, 0.5], [0.0, 1.0]])


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="samples"):
        plot.confusion_matrix([0, 1], [0, 1, 1], path=None)
    with pytest.raises(ValueError, match="class_names"):
        plot.confusion_matrix([0, 2], [0, 1], class_names=["a", "b"])
    with pytest.raises(ValueError, match="non-integer"):
        plot.confusion_matrix([0.5, 1.0], [0, 1])


def test_missing_matplotlib_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install numnet\[plot\]"):
        plot.history({"loss": [1.0]}, path="x.png")
    with pytest.raises(ImportError, match=r"pip install numnet\[plot\]"):
        plot.confusion_matrix([0], [0])


def test_demo_saves_a_training_curve_png(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--epochs", "2", "--seed", "0"]) == 0
    png = tmp_path / "numnet-demo-mlp.png"
    assert png.read_bytes().startswith(PNG)
    assert f"Training curves saved to {png}" in capsys.readouterr().out
    assert matplotlib.get_backend()  # the demo did not break matplotlib's state
