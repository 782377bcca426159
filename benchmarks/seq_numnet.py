"""numnet's half of the sequence cases (f, g, h; see ``common.py``), as a user writes them:
``Sequential([Input((L,)), Embedding(5000, 64), LSTM(128) or GRU(128), Dense(2, softmax)])``
and, for h, a functional model ``Embedding -> MultiHeadAttention(4, 16)([e, e]) -> Add([e, a])
-> LayerNormalization -> GlobalAveragePooling1D -> Dense(2, softmax)``; compiled with
sparse categorical cross-entropy and Adam, ``fit(..., epochs=1, shuffle=True)`` and
``predict``. float32."""

from __future__ import annotations

import numnet

import common
from common import SEQ_BATCH, SEQ_LENGTH, SEQ_PREDICT_BATCH, SEQ_TEST, Job, accuracy_of


def model_for(case: str, seed: int = common.SEED):
    length = SEQ_LENGTH[case]
    L = numnet.layers
    if case in "fg":
        cell = L.LSTM if case == "f" else L.GRU
        model = numnet.Sequential([numnet.Input((length,)), L.Embedding(common.SEQ_VOCAB, common.SEQ_EMBED),
                                   cell(common.SEQ_UNITS), numnet.Dense(common.SEQ_CLASSES, activation="softmax")],
                                  seed=seed)
    else:
        ids = numnet.Input((length,))
        e = L.Embedding(common.SEQ_VOCAB, common.SEQ_EMBED)(ids)
        a = L.MultiHeadAttention(common.SEQ_HEADS, common.SEQ_KEY_DIM)([e, e])
        h = L.GlobalAveragePooling1D()(L.LayerNormalization()(L.Add()([e, a])))
        model = numnet.Model(ids, numnet.Dense(common.SEQ_CLASSES, activation="softmax")(h), seed=seed)
    model.compile(loss="sparse_categorical_cross_entropy",
                  optimizer=numnet.optimizers.Adam(learning_rate=common.LR, beta_1=common.BETA_1,
                                                   beta_2=common.BETA_2, epsilon=common.EPS))
    return model


def jobs(case: str, data) -> dict[str, Job]:
    n, length = common.seq_samples(data), SEQ_LENGTH[case]
    ids, y = common.make_sequences(n + SEQ_TEST, length)
    x, x_test, y, y_test = ids[:n], ids[n:], y[:n], y[n:]

    def train(model):
        history = model.fit(x, y, epochs=1, batch_size=SEQ_BATCH[case], verbose=0, shuffle=True)
        return {"loss": float(history.history["loss"][-1]), "steps": int(model.optimizer.iterations)}

    def predict(model):
        model.predict(x, batch_size=SEQ_PREDICT_BATCH)
        return None

    make = lambda: model_for(case)  # noqa: E731
    accuracy = lambda model: accuracy_of(model.predict(x_test, batch_size=SEQ_PREDICT_BATCH), y_test)  # noqa: E731
    return {f"{case}-train": Job(make, train, accuracy), f"{case}-predict": Job(make, predict)}
