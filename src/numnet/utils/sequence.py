"""Padding variable-length sequences into one array, as Keras's ``pad_sequences``."""

from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Stack ``sequences`` (a list of lists or arrays) into ``(n, maxlen, *item_shape)``.

    ``maxlen`` defaults to the longest sequence. A longer sequence loses its first
    (``truncating="pre"``) or last (``"post"``) items; a shorter one is filled with
    ``value`` before (``padding="pre"``, the default) or after (``"post"``) its items.
    ``item_shape`` is the shape of one item (``()`` for scalars), taken from the first
    non-empty sequence; every item must have it. Returns an array of ``dtype``.

    >>> pad_sequences([[1, 2], [3]], padding="post")
    array([[1, 2],
           [3, 0]], dtype=int32)
    """
    for name, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f"pad_sequences {name} must be 'pre' or 'post', got {choice!r}.")
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences expects a list of sequences, got {type(sequences).__name__}.")
    rows = []
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(f"pad_sequences: sequence {i} is not a sequence (got {s!r:.40}).")
        rows.append(np.asarray(s))
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0):
        raise ValueError(f"pad_sequences maxlen must be a non-negative integer or None, got {maxlen!r}.")
    lengths = [len(r) for r in rows]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    item_shape = next((r.shape[1:] for r in rows if len(r)), ())
    out = np.full((len(rows), int(maxlen)) + item_shape, value, dtype=dtype)
    for i, r in enumerate(rows):
        if not len(r) or maxlen == 0:
            continue
        if r.shape[1:] != item_shape:
            raise ValueError(
                f"pad_sequences: sequence {i} has items of shape {r.shape[1:]}, expected {item_shape} "
                "(the shape of the first non-empty sequence's items)."
            )
        kept = r[-maxlen:] if truncating == "pre" else r[:maxlen]
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept) :] = kept
    return out
