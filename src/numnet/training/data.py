"""Validation at the boundary: what a user passes to ``fit`` / ``evaluate`` / ``predict`` /
the batch API is checked once, before any weight changes, and turned into lists of arrays
(one per model input, one per model output).

Inputs may be one array (one input), a list (one per input, in order) or a dict keyed by
``Input`` name; targets and sample weights one array (one output), a list or a dict keyed
by output name, as Keras takes them.
"""

from __future__ import annotations

import numpy as np

from ..graph.tensor import shapes_compatible


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def numeric_array(name: str, value) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be a numeric array; it could not be converted: {exc}") from exc
    if array.dtype.kind not in "biuf" and hasattr(value, "columns") and hasattr(value, "dtypes"):
        columns = list(zip(value.columns, value.dtypes))
        # A table (a pandas DataFrame) whose columns' dtypes differ: name a non-numeric
        # column, or convert numeric ones (bool and float give an object array) to one dtype.
        for column, dtype in columns:
            if getattr(dtype, "kind", "O") not in "biuf":
                raise TypeError(f"{name} must hold numbers (bool, int or float), but its column {column!r:.80} has "
                                f"dtype {dtype}; convert or drop that column.")
        if columns:
            array = np.asarray(value, dtype=np.result_type(*[dtype for _, dtype in columns]))
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers (bool, int or float), got an array of dtype {array.dtype}.")
    if array.ndim == 0:
        raise ValueError(f"{name} must have a batch dimension, got a scalar.")
    return array


def string_array(name: str, value) -> np.ndarray:
    """``value`` (a list of str, a unicode, bytes or object array of str / bytes) as a numpy
    unicode array, for a model input declared ``Input(..., dtype="string")``. Bytes are
    decoded as UTF-8."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        array = value
    else:
        from ..layers.preprocessing._strings import as_string_array

        try:
            array = as_string_array(value, name)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} feeds a string input, so it must hold strings: {exc}") from None
    if array.ndim == 0:
        raise ValueError(f"{name} must have a batch dimension, got a scalar.")
    return array


def cast_inputs(arrays, dtype) -> list:
    """The input arrays in the model's float ``dtype``, except string arrays (a string
    input's preprocessing layer turns them into numbers inside the model)."""
    return [a if a.dtype.kind == "U" else a.astype(dtype, copy=False) for a in arrays]


def check_finite(name: str, array: np.ndarray, dtype=None) -> None:
    """NaN / inf, or (with ``dtype``, the model's) values that become inf once cast to it
    (float64 data holding 1e39 for a float32 model): refused before training starts."""
    if array.dtype.kind != "f" or not array.size:
        return
    # min and max are NaN / inf exactly when some element is, without a temporary array.
    low, high = array.min(), array.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} contains NaN or infinite values; clean or impute them before training.")
    if dtype is not None and np.dtype(dtype).itemsize < array.dtype.itemsize:
        largest = np.finfo(dtype).max
        if low < -largest or high > largest:
            raise ValueError(
                f"{name} holds values up to {max(abs(float(low)), abs(float(high))):.3g}, which are infinite in the "
                f"model's {np.dtype(dtype).name} (largest {float(largest):.3g}); scale the data first."
            )


def _structured(model, value, names: list[str], what: str, name: str) -> list:
    """``value`` as a list aligned with ``names`` (the model's inputs or outputs)."""
    count = len(names)
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        extra = [k for k in value if k not in names]
        if missing or extra:
            detail = (f"missing {missing}" if missing else "") + (" and " if missing and extra else "") + \
                     (f"unknown {extra}" if extra else "")
            raise ValueError(f"{name} is a dict whose keys do not match the model's {what} {names}: {detail}.")
        return [value[n] for n in names]
    if count > 1:
        if not isinstance(value, (list, tuple)) or len(value) != count:
            length = len(value) if isinstance(value, (list, tuple)) else "one array"
            raise ValueError(f"The model has {count} {what} {names}; pass {name} as a list of {count} arrays "
                             f"or a dict keyed by name, got {length if isinstance(length, str) else f'a list of {length}'}.")
        return list(value)
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], np.ndarray):
        return [value[0]]
    return [value]


def as_inputs(model, x, name: str = "x", check_values: bool = True) -> list[np.ndarray]:
    """Validate ``x`` against the model's inputs; returns one array per input (no copy).

    ``check_values=False`` skips the NaN / inf scan of the inputs (``predict`` scans its
    much smaller output instead, and the inputs only when the output is not finite)."""
    if getattr(model, "_plan", None) is None:  # a Sequential built from its first data
        first = x[0] if isinstance(x, (list, tuple)) and x and isinstance(x[0], np.ndarray) else x
        if isinstance(first, dict):
            first = next(iter(first.values()))
        as_strings = getattr(getattr(model, "_stack", [None])[0], "_input_dtype", None) == "string"
        shape = (string_array if as_strings else numeric_array)(name, first).shape[1:]
        model.build((shape or (1,)) if as_strings else shape)  # a list of strings: one string per sample
    names = model.input_names
    values = _structured(model, x, names, "inputs", name)
    arrays = []
    for i, (value, tensor) in enumerate(zip(values, model.inputs)):
        label = name if len(names) == 1 else f"{name}[{names[i]!r}]"
        expected = tensor.shape[1:]
        if tensor.dtype.kind == "U":
            array = string_array(label, value)
            # As Keras does: a list of strings (n,) feeds Input(shape=(1,)) as (n, 1).
            if array.ndim == len(expected) and expected and expected[-1] == 1:
                array = array.reshape(array.shape + (1,))
        else:
            array = numeric_array(label, value)
        if not shapes_compatible(expected, array.shape[1:]):
            one_sample = shapes_compatible(expected, array.shape)
            shown = ", ".join("None" if s is None else str(s) for s in expected)
            raise ValueError(
                f"{label} has shape {array.shape}, but input {names[i]!r} expects (n_samples, {shown}): "
                f"feature shape {expected}, got {array.shape[1:]}."
                + (f" For one sample, add the batch axis: {label}[None]." if one_sample else "")
            )
        if check_values:
            check_finite(label, array, model.dtype)
        arrays.append(array)
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ValueError(f"The input arrays have different numbers of samples: {[len(a) for a in arrays]}.")
    return arrays


def as_targets(model, y, n_samples: int, name: str = "y") -> list:
    """Validate ``y`` against the model's outputs and their losses (and that there is data
    at all); returns one array per output (None for an output without a loss)."""
    if n_samples == 0:
        raise ValueError(f"The data holds no samples; {name} and its inputs need at least one row.")
    compiled = model._compiled
    names = model.output_names
    if y is None:
        raise ValueError(f"{name} is missing: the model's outputs {names} need targets.")
    values = _structured(model, y, names, "outputs", name)
    targets = []
    for output, value in zip(compiled.outputs, values):
        label = name if len(names) == 1 else f"{name}[{output.name!r}]"
        if output.loss is None:
            targets.append(None if value is None else numeric_array(label, value))
            continue
        if value is None:
            raise ValueError(f"{label} is None, but output {output.name!r} has a loss; give its targets.")
        targets.append(_as_target(output, value, n_samples, label))
    return targets


def _as_target(output, y, n_samples: int, name: str) -> np.ndarray:
    y = numeric_array(name, y)
    if len(y) != n_samples:
        raise ValueError(f"x has {n_samples} samples but {name} has {len(y)}; they must match.")
    check_finite(name, y, output.dtype)
    if getattr(output.loss, "is_custom", False):
        return y  # a custom loss reads y_true as it likes (labels, another width ...)
    output_shape = output.shape
    loss = output.loss.name
    if loss == "sparse_categorical_cross_entropy":
        labels = output_shape[:-1]
        if not (shapes_compatible(labels, y.shape[1:]) or shapes_compatible(labels + (1,), y.shape[1:])):
            raise ValueError(
                f"{name} must hold integer class labels of shape (n_samples,) for "
                f"sparse_categorical_cross_entropy (output {output.name!r}), got {y.shape}."
            )
        if y.dtype.kind == "f" and np.any(y != np.floor(y)):
            raise ValueError(f"{name} must hold whole-number class labels for sparse_categorical_cross_entropy.")
        n_classes = output_shape[-1]
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(
                f"{name} holds class labels from {y.min():g} to {y.max():g}, but output {output.name!r} has "
                f"{n_classes} classes (labels 0..{n_classes - 1})."
            )
        return y.astype(np.intp, copy=False)
    if not shapes_compatible(output_shape, y.shape[1:]):
        if y.ndim == 1 and output_shape == (1,):
            y = y.reshape(-1, 1)
        else:
            hint = " Use sparse_categorical_cross_entropy for integer labels." if y.ndim == 1 else ""
            shown = ", ".join("None" if s is None else str(s) for s in output_shape)
            where = "the model outputs" if name == "y" or "[" not in name else f"output {output.name!r} is"
            raise ValueError(f"{name} has shape {y.shape}, but {where} (n_samples, {shown}).{hint}")
    if loss in ("binary_cross_entropy", "categorical_cross_entropy") and y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{name} must hold values in [0, 1] for {loss}, got values from {y.min():g} to {y.max():g}.")
    return y


def _class_indices(output, y: np.ndarray) -> np.ndarray:
    if output.loss.name == "sparse_categorical_cross_entropy":
        return y.reshape(len(y))
    if y.shape[-1] == 1:
        return np.rint(y.reshape(len(y))).astype(np.intp)
    return y.reshape(len(y), -1).argmax(axis=1)


def _one_sample_weight(weight, n: int, name: str) -> np.ndarray:
    weights = numeric_array(name, weight).astype(np.float64)
    if weights.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {weights.shape}.")
    check_finite(name, weights)
    if np.any(weights < 0):
        raise ValueError(f"{name} must be non-negative.")
    return weights


def as_sample_weights(model, targets: list, sample_weight, class_weight) -> list | None:
    """One weight per sample for each output, from ``sample_weight`` (one array for all
    outputs, or a list / dict per output) and ``class_weight`` (one-output models), or
    None when there are no weights at all."""
    compiled = model._compiled
    names = model.output_names
    n = next(len(t) for t in targets if t is not None)
    per_output = [None] * len(names)
    if sample_weight is not None:
        if isinstance(sample_weight, (dict, list, tuple)) and len(names) > 1:
            values = _structured(model, sample_weight, names, "outputs", "sample_weight")
        else:
            values = [sample_weight] * len(names)
        for i, value in enumerate(values):
            if value is not None:
                label = "sample_weight" if len(names) == 1 else f"sample_weight[{names[i]!r}]"
                per_output[i] = _one_sample_weight(value, n, label)
    if class_weight is not None:
        if len(names) > 1:
            raise ValueError("class_weight is for models with one output; give sample_weight per output instead.")
        if not isinstance(class_weight, dict):
            raise TypeError(f"class_weight must be a dict {{class index: weight}}, got {class_weight!r}.")
        output = compiled.outputs[0]
        classes = _class_indices(output, targets[0])
        n_classes = int(np.prod([s for s in output.shape[-1:] if s is not None])) if output.shape else 1
        limit = max(n_classes, 2)
        for label, w in class_weight.items():
            valid_label = isinstance(label, (int, np.integer)) and not isinstance(label, bool) and 0 <= label < limit
            valid_weight = (isinstance(w, (int, float, np.integer, np.floating)) and not isinstance(w, bool)
                            and np.isfinite(w) and w >= 0)
            if not valid_label:
                raise ValueError(f"class_weight must map class indices (0..{limit - 1} for this output) to "
                                 f"non-negative weights; key {label!r} is not one.")
            if not valid_weight:
                raise ValueError(f"class_weight must map class indices to non-negative weights, got {label!r}: {w!r}.")
        table = np.ones(limit)  # never sized by the labels: y = [1e9] must not allocate 8 GB
        for label, w in class_weight.items():
            table[label] = w
        # Labels outside the table (a one-unit output trained on other values) keep weight 1.
        inside = (classes >= 0) & (classes < limit)
        weights = np.ones(len(classes))
        weights[inside] = table[classes[inside]]
        per_output[0] = weights if per_output[0] is None else per_output[0] * weights
    if all(w is None for w in per_output):
        return None
    return per_output
