"""examples/gan_digits.py: two models, two optimizers and alternating GradientTape steps
train a generator whose images approach the digits' statistics."""

import importlib.util
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gan_digits.py"


def _load():
    spec = importlib.util.spec_from_file_location("gan_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gan_trains_briefly_and_the_losses_move_sensibly():
    gan = _load()
    untrained, _ = gan.make_models(0)
    generator, _, history = gan.train(steps=300, log_every=50, seed=0)
    d_loss, g_loss = np.array(history["d_loss"]), np.array(history["g_loss"])
    assert np.all(np.isfinite(d_loss)) and np.all(np.isfinite(g_loss))
    # At the start D cannot tell real from generated: about 2 ln 2 (plus its random bias).
    assert d_loss[0] > 1.2
    # Then neither player wins outright: D's loss does not collapse to 0 and G's stays bounded.
    assert np.all((d_loss[1:] > 0.5) & (d_loss[1:] < 2.0)), d_loss
    assert np.all((g_loss > 0.3) & (g_loss < 3.0)), g_loss
    # The generated images' average moved towards the digits' average.
    assert gan.mean_image_gap(generator) < 0.5 * gan.mean_image_gap(untrained)


def test_gan_training_is_reproducible():
    gan = _load()
    _, _, first = gan.train(steps=20, log_every=10, seed=3)
    _, _, second = gan.train(steps=20, log_every=10, seed=3)
    assert first == second
