"""Model builders for the scikit-learn wrapper tests: small and seeded, so that two fits on
the same data give the same weights (scikit-learn's checks compare fits)."""

import numnet


def mlp(X, y, hidden=8, loss="mse", output_activation=None, learning_rate=0.02, seed=0, record=None):
    """Input(n_features) -> Dense(hidden, relu) -> Dense(y.shape[1], output_activation),
    compiled with Adam(learning_rate). ``record`` (a list) receives the (X, y) it was built from."""
    if record is not None:
        record.append((X, y))
    inputs = numnet.Input((X.shape[1],))
    h = numnet.Dense(hidden, activation="relu", seed=seed)(inputs)
    out = numnet.Dense(y.shape[1], activation=output_activation, seed=seed + 1)(h)
    model = numnet.Model(inputs, out, seed=seed)
    model.compile(numnet.optimizers.Adam(learning_rate), loss)
    return model


def classifier_mlp(X, y, **kwargs):
    return mlp(X, y, loss="categorical_crossentropy", output_activation="softmax", **kwargs)


def regressor_mlp(X, y, **kwargs):
    return mlp(X, y, loss="mse", **kwargs)
