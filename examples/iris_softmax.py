"""Iris flowers, three classes: a small MLP with a softmax output and sparse categorical
cross-entropy (training uses the fused, stable (p - y) / N gradient).

    python examples/iris_softmax.py
"""

import numnet as nn
from numnet import Dense, Input, Sequential, datasets

nn.set_seed(0)
x, y = datasets.load_iris()  # (150, 4) float, (150,) labels 0..2
x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, test_size=0.3, seed=0, stratify=y)
mean, std = x_train.mean(axis=0), x_train.std(axis=0)
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std  # statistics of the training rows only

model = Sequential([
    Input((4,)),
    Dense(16, activation="relu"),
    Dense(3, activation="softmax"),
])
model.compile(loss="sparse_categorical_crossentropy", optimizer=nn.optimizers.Adam(0.01),
              metrics=["accuracy", "f1"])
model.summary()
model.fit(x_train, y_train, epochs=60, batch_size=16, validation_split=0.2, verbose=0)

logs = model.evaluate(x_test, y_test, return_dict=True)
print(f"held-out loss: {logs['loss']:.4f}")
print(f"held-out accuracy: {logs['accuracy']:.4f}")
print(f"held-out macro f1: {logs['f1']:.4f}")
