"""A generative adversarial network on the bundled 8x8 digits, trained with a custom loop.

Two models and two optimizers, alternating steps, as TensorFlow users write it:

* the discriminator D (64 pixels -> 1 logit) learns to tell real digits (label 1) from
  generated ones (label 0): d_loss = BCE(1, D(x)) + BCE(0, D(G(z)));
* the generator G (16 noise values -> 64 pixels in [0, 1]) learns to make D say 1:
  g_loss = BCE(1, D(G(z))).

Each step records on a ``numnet.GradientTape``; ``model(x, training=True)`` is one op on
the tape whose backward is the model's own (the built-in layers' hand-written backward),
and the gradient flows from D's input back into G.

    python examples/gan_digits.py
"""

import numpy as np

import numnet
from numnet import Dense, Input, Model, datasets, ops
from numnet.random import make_generator

NOISE = 16


def make_models(seed: int = 0):
    z = Input((NOISE,))
    h = Dense(64, activation="relu", seed=seed)(z)
    generator = Model(z, Dense(64, activation="sigmoid", seed=seed + 1)(h), name="generator")
    x = Input((64,))
    h = Dense(64, activation="relu", seed=seed + 2)(x)
    discriminator = Model(x, Dense(1, seed=seed + 3)(h), name="discriminator")  # a logit
    return generator, discriminator


def bce_logits(target: float, logits):
    """Mean binary cross-entropy of ``logits`` against a constant ``target``."""
    return ops.mean(ops.binary_crossentropy(ops.full(logits.shape, target), logits, from_logits=True))


def train(steps: int = 1500, batch_size: int = 64, seed: int = 0, log_every: int = 100):
    """Train for ``steps`` alternating steps; returns ``(generator, discriminator, history)``,
    ``history`` holding ``step``, ``d_loss`` and ``g_loss`` every ``log_every`` steps."""
    images, _ = datasets.load_digits()
    images = (images / 16).astype(np.float32)  # pixels in [0, 1]
    rng = make_generator(seed)
    generator, discriminator = make_models(seed)
    d_optimizer = numnet.optimizers.Adam(0.002, beta_1=0.5)
    g_optimizer = numnet.optimizers.Adam(0.002, beta_1=0.5)
    d_variables = discriminator.trainable_variables
    g_variables = generator.trainable_variables
    history = {"step": [], "d_loss": [], "g_loss": []}
    for step in range(steps):
        real = images[rng.integers(0, len(images), batch_size)]
        fake = generator(rng.standard_normal((batch_size, NOISE)).astype(np.float32))  # arrays: no tape
        with numnet.GradientTape() as tape:
            d_loss = bce_logits(1.0, discriminator(real, training=True)) + \
                bce_logits(0.0, discriminator(fake, training=True))
        d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_variables), d_variables))

        noise = rng.standard_normal((batch_size, NOISE)).astype(np.float32)
        with numnet.GradientTape() as tape:
            g_loss = bce_logits(1.0, discriminator(generator(noise, training=True), training=True))
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_variables), g_variables))
        if step % log_every == 0 or step == steps - 1:
            history["step"].append(step)
            history["d_loss"].append(float(d_loss))
            history["g_loss"].append(float(g_loss))
    return generator, discriminator, history


def mean_image_gap(generator, seed: int = 1, n: int = 1000) -> float:
    """Mean absolute difference between the average generated and the average real image."""
    images, _ = datasets.load_digits()
    fake = generator.predict(make_generator(seed).standard_normal((n, NOISE)).astype(np.float32))
    return float(np.abs(fake.mean(0) - (images / 16).mean(0)).mean())


if __name__ == "__main__":
    untrained, _ = make_models(0)
    generator, discriminator, history = train()
    for step, d, g in zip(history["step"], history["d_loss"], history["g_loss"]):
        print(f"step {step:5d}  d_loss {d:.3f}  g_loss {g:.3f}")
    print(f"mean image gap: untrained {mean_image_gap(untrained):.3f}, trained {mean_image_gap(generator):.3f}")
    sample = generator.predict(make_generator(2).standard_normal((1, NOISE)).astype(np.float32))[0]
    for row in sample.reshape(8, 8):
        print("".join(" .:-=+*#%@"[min(9, int(v * 10))] for v in row))
