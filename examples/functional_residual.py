"""The functional API: a residual network on the bundled digits, where each block adds its
input back to its output (``Add``), so the errors of both paths are summed going back.

    x ── Dense(64) ─┬─ Dense(64, relu) ─ Dense(64) ─ Add ─┬─ ... ─ Dense(10, softmax)
                    └─────────────────────────────────────┘

    python examples/functional_residual.py
"""

import numnet as nn
from numnet import Activation, Add, Dense, Input, Model, datasets

nn.set_seed(0)
x, y = datasets.load_digits()  # (1797, 64) pixel values 0..16, (1797,) labels 0..9
x_train, x_test, y_train, y_test = datasets.train_test_split(x / 16, y, test_size=0.25, seed=0, stratify=y)


def residual_block(h, units):
    branch = Dense(units, activation="relu")(h)
    branch = Dense(units)(branch)
    return Activation("relu")(Add()([h, branch]))


inputs = Input((64,))
h = Dense(64, activation="relu")(inputs)
h = residual_block(h, 64)
h = residual_block(h, 64)
outputs = Dense(10, activation="softmax")(h)
model = Model(inputs, outputs)
model.compile(loss="sparse_categorical_crossentropy", optimizer=nn.optimizers.Adam(0.002), metrics=["accuracy"])
model.summary()
model.fit(x_train, y_train, epochs=15, batch_size=32, validation_split=0.1, verbose=0)

logs = model.evaluate(x_test, y_test, return_dict=True)
print(f"held-out loss: {logs['loss']:.4f}")
print(f"held-out accuracy: {logs['accuracy']:.4f}")
