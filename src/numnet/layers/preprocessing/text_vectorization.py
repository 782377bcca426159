"""``TextVectorization``: raw strings to token ids, multi-hot / count / tf-idf vectors.

Per string: standardize -> split -> n-grams -> look up (a ``StringLookup`` with
``mask_token=""``: in int mode 0 is padding and 1 the OOV token ``"[UNK]"``).

* ``standardize``: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
  ``"strip_punctuation"``, None, or a callable ``str -> str`` applied to each string.
  Lower-casing is Python's ``str.lower`` (all of Unicode; TensorFlow's, behind Keras, lowers
  ASCII only); punctuation is Keras's set ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'``.
* ``split``: ``"whitespace"`` (``str.split()``), ``"character"`` (code points), None (the
  whole string is one token), or a callable ``str -> list of str``.
* ``ngrams``: None, ``n`` (all n-grams of 1..n tokens) or a tuple of sizes; n-grams are
  joined by one space and come after the single tokens, grouped by size (as
  ``tf.strings.ngrams``).
* ``output_mode="int"``: ``(batch, output_sequence_length)`` int64, padded with 0 and
  truncated at the end; without ``output_sequence_length`` as long as the longest
  string of the batch. ``"multi_hot"`` / ``"count"`` / ``"tf_idf"``: ``(batch, depth)``
  floats (``depth = vocabulary_size()``, or ``max_tokens`` with ``pad_to_max_tokens``).

A callable ``standardize`` / ``split`` saves with the model when registered with
``register_text_function`` (its name is stored); any other callable cannot be saved.
Not differentiable: it sits at the model's input, ``Input(shape=(1,), dtype="string")``.
"""

from __future__ import annotations

import re

import numpy as np

from ._base import PreprocessingLayer, batches_of, check_choice, check_optional_positive, nonempty
from ._strings import as_string_array
from .lookup import StringLookup

PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')

_TEXT_FUNCTIONS: dict[str, object] = {}


def register_text_function(function=None, *, name: str | None = None):
    """Register a callable ``standardize`` / ``split`` under ``name`` (default: its
    ``__name__``) so that a ``TextVectorization`` using it saves and loads. A decorator."""
    def decorate(fn):
        if not callable(fn):
            raise TypeError(f"register_text_function expects a callable, got {fn!r:.80}.")
        _TEXT_FUNCTIONS[name or fn.__name__] = fn
        return fn
    return decorate(function) if function is not None else decorate


def _function_config(value, what: str):
    if not callable(value):
        return value
    for key, fn in _TEXT_FUNCTIONS.items():
        if fn is value:
            return {"registered_function": key}
    return {"unregistered_function": getattr(value, "__qualname__", repr(value))}


def _function_from_config(value, what: str):
    if isinstance(value, dict):
        key = value.get("registered_function")
        if key not in _TEXT_FUNCTIONS:
            raise ValueError(f"TextVectorization {what}: the function {value!r:.80} is not registered; decorate it with "
                             "numnet.layers.preprocessing.register_text_function (and import it) before loading.")
        return _TEXT_FUNCTIONS[key]
    return value


def standardize_text(text: str, standardize) -> str:
    if standardize in ("lower", "lower_and_strip_punctuation"):
        text = text.lower()
    if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        text = PUNCTUATION.sub("", text)
    if callable(standardize):
        text = standardize(text)
        if not isinstance(text, str):
            raise TypeError(f"TextVectorization standardize must return a str, got {type(text).__name__}.")
    return text


def split_text(text: str, split) -> list:
    if split == "whitespace":
        return text.split()
    if split == "character":
        return list(text)
    if split is None:
        return [text]
    tokens = list(split(text))
    if not all(isinstance(t, str) for t in tokens):
        raise TypeError("TextVectorization split must return a list of str.")
    return tokens


def make_ngrams(tokens: list, sizes) -> list:
    if sizes is None:
        return tokens
    out = []
    for n in sizes:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


class TextVectorization(PreprocessingLayer):
    """Strings to token ids or bag-of-words vectors (see the module docstring)."""

    _input_dtype = "string"

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs) -> None:
        owner = "TextVectorization"
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        check_choice(output_mode, ("int", "multi_hot", "count", "tf_idf"), "output_mode", owner)
        standardize = _function_from_config(standardize, "standardize")
        split = _function_from_config(split, "split")
        if not (standardize is None or callable(standardize)):
            check_choice(standardize, ("lower_and_strip_punctuation", "lower", "strip_punctuation"), "standardize",
                         owner)
        if not (split is None or callable(split)):
            check_choice(split, ("whitespace", "character"), "split", owner)
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if ngrams is None:
            sizes = None
        elif isinstance(ngrams, (int, np.integer)) and not isinstance(ngrams, bool) and ngrams >= 1:
            sizes = tuple(range(1, int(ngrams) + 1))
        elif isinstance(ngrams, tuple) and ngrams and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                                                         and n >= 1 for n in ngrams):
            sizes = tuple(int(n) for n in ngrams)
        else:
            raise ValueError(f"{owner} ngrams must be None, a positive integer or a tuple of them, got {ngrams!r:.80}.")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"{owner} output_sequence_length is only for output_mode='int', got output_mode="
                             f"{output_mode!r}.")
        self.output_sequence_length = check_optional_positive(output_sequence_length, "output_sequence_length", owner)
        if ragged:
            raise ValueError(f"{owner} ragged=True is not supported: numnet has no ragged tensors (ragged=False).")
        if encoding not in ("utf-8", "UTF-8", "utf8"):
            raise ValueError(f"{owner} encoding must be 'utf-8', got {encoding!r}.")
        kwargs.pop("vocabulary_size", None)  # Keras records it in configs; the vocabulary says it
        super().__init__(name=name, **kwargs)
        self.standardize, self.split, self.ngrams, self._ngram_sizes = standardize, split, ngrams, sizes
        self.output_mode = output_mode
        self._lookup = StringLookup(max_tokens=max_tokens, mask_token="", vocabulary=vocabulary,
                                    idf_weights=idf_weights, output_mode=output_mode,
                                    pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=f"{self.name}_lookup")

    # --- the vocabulary ------------------------------------------------------------------------------
    @property
    def max_tokens(self):
        return self._lookup.max_tokens

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """Tokens by index (int mode: ``["", "[UNK]", most frequent, ...]``)."""
        return self._lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        self._lookup.set_vocabulary(vocabulary, idf_weights)
        self._lookup._has_input_vocabulary = True

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary from ``data`` (strings, ``(n,)`` or ``(n, 1)``, or an iterable
        of such batches); each string is one document for tf-idf. Order: most frequent first, ties by the token in
        descending order."""
        batches = batches_of(data)
        parts = [self._strings(b, "adapt data") for b in ([data] if batches is None else batches)]
        strings = np.concatenate(parts) if parts else np.zeros(0, dtype="<U1")
        nonempty(strings, "the data", "TextVectorization")
        lookup = self._lookup
        if lookup._has_input_vocabulary:
            raise ValueError(f"TextVectorization {self.name!r} was given a vocabulary; it cannot also be adapted.")
        documents = [np.array(self._tokens(s), dtype=str) for s in strings.tolist()]
        lookup._adapt_documents([d if d.size else np.zeros(0, dtype="<U1") for d in documents])

    # --- calling -----------------------------------------------------------------------------------------
    def _strings(self, data, what: str) -> np.ndarray:
        strings = as_string_array(data, f"TextVectorization {what}")
        if strings.ndim == 0:
            strings = strings.reshape(1)
        if strings.ndim == 2 and strings.shape[1] == 1:
            strings = strings[:, 0]
        if strings.ndim != 1:
            raise ValueError(f"TextVectorization {what} must be strings of shape (batch,) or (batch, 1), got shape "
                             f"{strings.shape}.")
        return strings

    def _tokens(self, text: str) -> list:
        return make_ngrams(split_text(standardize_text(text, self.standardize), self.split), self._ngram_sizes)

    @property
    def output_is_float(self) -> bool:
        return self.output_mode != "int"

    def compute_output_shape(self, input_shape):
        if tuple(input_shape) not in ((), (1,)):
            raise ValueError(f"TextVectorization {self.name!r} takes strings of shape (batch,) or (batch, 1), got "
                             f"(batch, {', '.join(str(s) for s in input_shape)}).")
        if self.output_mode == "int":
            return (self.output_sequence_length,)
        return self._lookup.compute_output_shape((None,))

    def forward(self, input, training=False):
        strings = self._strings(input, "input")
        if not self.built:
            self.build_for(tuple(np.shape(input))[1:] if np.ndim(input) > 1 else ())
        rows = [self._tokens(s) for s in strings.tolist()]
        lookup = self._lookup
        if self.output_mode != "int":
            width = max([len(r) for r in rows] + [1])
            # Pad with the mask token "": it takes no index in these modes and is not counted.
            table = np.array([r + [""] * (width - len(r)) for r in rows], dtype=str).reshape(len(rows), width)
            return lookup.forward(table).astype(self._float_dtype(), copy=False)  # the model's float dtype
        length = self.output_sequence_length
        if length is None:
            length = max([len(r) for r in rows] + [0])
        ids = np.zeros((len(rows), length), dtype=np.int64)
        flat = [t for r in rows for t in r[:length]]
        if flat:
            looked_up, _ = lookup.lookup(np.array(flat, dtype=str))
            start = 0
            for i, r in enumerate(rows):
                n = min(len(r), length)
                ids[i, :n] = looked_up[start:start + n]
                start += n
        return ids

    # --- saving -----------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        lookup = self._lookup
        config = lookup.get_config()
        return {
            **super().get_config(),
            "max_tokens": lookup.max_tokens,
            "standardize": _function_config(self.standardize, "standardize"),
            "split": _function_config(self.split, "split"),
            "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "vocabulary": config["vocabulary"],
            "idf_weights": config["idf_weights"],
        }
