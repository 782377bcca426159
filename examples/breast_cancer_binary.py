"""Breast cancer diagnosis (malignant vs benign): binary classification with one sigmoid
output and binary cross-entropy, early stopping on the validation loss.

    python examples/breast_cancer_binary.py
"""

import numnet as nn
from numnet import Dense, Input, Sequential, datasets
from numnet.callbacks import EarlyStopping

nn.set_seed(0)
x, y = datasets.load_breast_cancer()  # (569, 30) float, (569,) labels 0 / 1
x_train, x_test, y_train, y_test = datasets.train_test_split(x, y, test_size=0.25, seed=0, stratify=y)
mean, std = x_train.mean(axis=0), x_train.std(axis=0)
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

model = Sequential([
    Input((x.shape[1],)),
    Dense(16, activation="relu"),
    Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer=nn.optimizers.Adam(0.003),
              metrics=["accuracy", "precision", "recall"])
stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
history = model.fit(x_train, y_train, epochs=100, batch_size=32, validation_split=0.2, callbacks=[stop], verbose=0)
print(f"trained {len(history.history['loss'])} epochs; best val_loss {stop.best:.4f}")

logs = model.evaluate(x_test, y_test, return_dict=True)
print(f"held-out loss: {logs['loss']:.4f}")
print(f"held-out accuracy: {logs['accuracy']:.4f}")
print(f"held-out precision: {logs['precision']:.4f}")
print(f"held-out recall: {logs['recall']:.4f}")
