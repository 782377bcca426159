"""Regression on generated data: y = sin(3 x1) + x2^2 - x1 x3 + noise, fitted by an MLP
with mean squared error; reports held-out mse, mae and r2.

    python examples/regression.py
"""

import numpy as np

import numnet as nn
from numnet import Dense, Input, Sequential, datasets

rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, size=(2000, 3))
y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2 - x[:, 0] * x[:, 2] + rng.normal(scale=0.05, size=2000)
x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, test_size=0.25, seed=0)

nn.set_seed(0)
model = Sequential([
    Input((3,)),
    Dense(64, activation="tanh"),
    Dense(32, activation="tanh"),
    Dense(1),
])
model.compile(loss="mse", optimizer=nn.optimizers.Adam(0.005), metrics=["mae", "r2"])
model.fit(x_train, y_train, epochs=60, batch_size=32, verbose=0)

logs = model.evaluate(x_test, y_test, return_dict=True)
print(f"held-out mse: {logs['loss']:.4f}")
print(f"held-out mae: {logs['mae']:.4f}")
print(f"held-out r2: {logs['r2']:.4f}")
