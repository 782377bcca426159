"""``IndexLookup``: the vocabulary machinery behind ``StringLookup``, ``IntegerLookup`` and
``TextVectorization``, with Keras 3's index layout and adapt order.

Index layout (``output_mode="int"``)::

    [mask_token]            index 0, only when mask_token is not None
    [oov_token] * num_oov   the next num_oov_indices indices
    vocabulary tokens       from there on, most frequent first

In the other output modes the mask token takes no index (and is dropped from the
counts). An out-of-vocabulary token maps to the one OOV index, or with
``num_oov_indices > 1`` to ``oov_start + bucket``: integers by ``token % num_oov``
(Keras's default "floormod"), strings by numnet's stable hash (``_hash``; Keras uses
FarmHash, so strings land in other buckets than in Keras). ``num_oov_indices=0``: an
unknown token is a ValueError.

``adapt``: counts every token; the vocabulary is ordered by count, most frequent first,
ties broken by the token itself in descending order (Keras: a lexsort on (token, count),
reversed); the mask and OOV tokens are never learnt; ``max_tokens`` keeps the first
``max_tokens - (mask + OOV slots)``. tf-idf: a row of the adapted data is one document,
``idf(t) = log(1 + num_documents / (1 + document_count(t)))``; the OOV (and mask) slots
get the mean idf of the vocabulary, the ``pad_to_max_tokens`` tail zero.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ._base import OUTPUT_MODES, PreprocessingLayer, batches_of, categorical_output_shape, check_choice, \
    check_optional_positive, encode_categorical


class IndexLookup(PreprocessingLayer):
    """Maps tokens to indices (``invert=False``) or indices back to tokens. Subclasses set
    ``_kind`` ("string" or "int") and implement ``_as_tokens`` / ``_hash_oov``."""

    _kind = "string"

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 name=None, **kwargs) -> None:
        owner = type(self).__name__
        super().__init__(name=name, **kwargs)
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode == "binary":
            output_mode = "multi_hot"
        self.output_mode = check_choice(output_mode, OUTPUT_MODES, "output_mode", owner)
        self.max_tokens = check_optional_positive(max_tokens, "max_tokens", owner)
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, (int, np.integer)) \
                or num_oov_indices < 0:
            raise ValueError(f"{owner} num_oov_indices must be an integer >= 0, got {num_oov_indices!r:.80}.")
        self.num_oov_indices = int(num_oov_indices)
        if sparse:
            raise ValueError(f"{owner} sparse=True is not supported: numnet has no sparse tensors (sparse=False).")
        self.sparse = False
        self.invert = bool(invert)
        if self.invert and self.output_mode != "int":
            raise ValueError(f"{owner} invert=True needs output_mode='int', got output_mode={self.output_mode!r}.")
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        if self.pad_to_max_tokens and self.max_tokens is None and self.output_mode != "int":
            raise ValueError(f"{owner} pad_to_max_tokens=True needs max_tokens to be set.")
        self.mask_token = None if mask_token is None else self._special(mask_token, "mask_token")
        self.oov_token = None if oov_token is None else self._special(oov_token, "oov_token")
        if self.max_tokens is not None and self.max_tokens < self._token_start():
            raise ValueError(f"{owner} max_tokens={self.max_tokens} leaves no room for the {self._token_start()} mask "
                             "and OOV indices; make it larger.")
        if idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError(f"{owner} idf_weights is only for output_mode='tf_idf', got output_mode="
                             f"{self.output_mode!r}.")
        # The vocabulary lives in one shared object, changed in place by adapt / set_vocabulary:
        # the per-thread inference views of this layer (graph.threads) are shallow copies, so
        # they see a new vocabulary at once.
        self._state = SimpleNamespace(tokens=self._empty_tokens(), sorted=self._empty_tokens(),
                                      order=np.zeros(0, dtype=np.int64), idf=None)
        self._has_input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            if self.output_mode == "tf_idf" and idf_weights is None:
                raise ValueError(f"{owner} output_mode='tf_idf' with a vocabulary needs idf_weights too.")
            self.set_vocabulary(vocabulary, idf_weights)

    # --- subclass hooks ------------------------------------------------------------------------
    def _empty_tokens(self) -> np.ndarray:
        return np.zeros(0, dtype="<U1" if self._kind == "string" else np.int64)

    def _special(self, token, what: str):
        return token

    def _as_tokens(self, data, what: str) -> np.ndarray:
        raise NotImplementedError

    def _hash_oov(self, tokens: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # --- the index layout --------------------------------------------------------------------
    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices: mask and OOV slots plus the vocabulary."""
        return self._token_start() + len(self._tokens)

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The tokens by index: ``[mask] + [oov] * num_oov_indices + vocabulary`` (a
        token's position is its index); without the special tokens: the vocabulary only."""
        tokens = self._tokens.tolist()
        if not include_special_tokens:
            return tokens
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices + tokens

    # --- setting and learning the vocabulary ------------------------------------------------------
    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Use ``vocabulary`` (tokens, most useful first; it may start with the mask and OOV
        tokens exactly as ``get_vocabulary()`` lists them). ValueError for a repeated token,
        a misplaced special token, more than ``max_tokens``, or idf weights that do not fit."""
        owner = type(self).__name__
        tokens = self._as_tokens(vocabulary, "vocabulary")
        if tokens.ndim != 1:
            raise ValueError(f"{owner} vocabulary must be one-dimensional, got shape {tokens.shape}.")
        specials = self.get_vocabulary()[:self._token_start()]
        start = len(specials)
        found_specials = len(tokens) >= start and tokens[:start].tolist() == specials
        if found_specials:
            tokens = tokens[start:]
        unique, counts = np.unique(tokens, return_counts=True)
        if (counts > 1).any():
            raise ValueError(f"{owner} vocabulary has repeated tokens {unique[counts > 1].tolist()[:10]}; each token "
                             "may appear once.")
        for special, what in ((self.mask_token, "mask_token"), (self.oov_token if self.invert else None, "oov_token")):
            if special is not None and (tokens == special).any():
                raise ValueError(f"{owner} vocabulary holds the {what} {special!r} at a position other than the "
                                 f"start; leave the special tokens out or put exactly {specials} first.")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"{owner} vocabulary has {start + len(tokens)} entries with the mask and OOV tokens, "
                             f"more than max_tokens={self.max_tokens}.")
        idf = None
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{owner} output_mode='tf_idf' needs idf_weights with the vocabulary.")
            weights = np.asarray(idf_weights, dtype=np.float64)
            expected = len(tokens) + (start if found_specials else 0)
            if weights.ndim != 1 or len(weights) != expected:
                raise ValueError(f"{owner} idf_weights must be one weight per vocabulary entry ({expected}), got "
                                 f"shape {weights.shape}.")
            if not found_specials:  # the special slots get the mean weight, as in Keras
                weights = np.concatenate([np.full(start, weights.mean() if weights.size else 0.0), weights])
            idf = weights
        elif idf_weights is not None:
            raise ValueError(f"{owner} idf_weights is only for output_mode='tf_idf', got output_mode="
                             f"{self.output_mode!r}.")
        self._install(tokens, idf)

    def _install(self, tokens: np.ndarray, idf) -> None:
        """Set the vocabulary (and the full-depth idf weights) and the sorted search index."""
        if idf is not None and self.pad_to_max_tokens and self.max_tokens is not None:
            idf = np.concatenate([idf, np.zeros(self.max_tokens - len(idf))])
        order = np.argsort(tokens, kind="stable")
        state = self._state
        state.tokens, state.order, state.sorted, state.idf = tokens, order, tokens[order], idf

    # the shared state's parts, read-only
    _tokens = property(lambda self: self._state.tokens)
    _sorted = property(lambda self: self._state.sorted)
    _order = property(lambda self: self._state.order)
    _idf = property(lambda self: self._state.idf)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary (and, for tf-idf, the idf weights) from ``data``: an array
        or list of tokens, ``(n,)`` (one token per document) or ``(n, k)`` (a row per
        document), or an iterable (a generator, a ``PyDataset``) of such batches."""
        owner = type(self).__name__
        if self._has_input_vocabulary:
            raise ValueError(f"{owner} {self.name!r} was given a vocabulary (vocabulary= or set_vocabulary); it "
                             "cannot also be adapted. Create the layer without a vocabulary to adapt it.")
        batches = batches_of(data)
        documents = []
        for batch in ([data] if batches is None else batches):
            tokens = self._as_tokens(batch, "adapt data")
            if tokens.ndim == 0:
                tokens = tokens.reshape(1, 1)
            elif tokens.ndim == 1:
                tokens = tokens[:, None]
            documents.extend(tokens.reshape(len(tokens), int(np.prod(tokens.shape[1:]))))
        if not documents or all(d.size == 0 for d in documents):
            raise ValueError(f"{owner}.adapt: the data is empty; adapt needs at least one sample.")
        self._adapt_documents(documents)

    def _adapt_documents(self, documents: list) -> None:
        """``documents``: one 1-D token array per document (they may differ in length)."""
        owner = type(self).__name__
        flat = np.concatenate(documents) if documents else self._empty_tokens()
        if flat.size == 0:
            raise ValueError(f"{owner}.adapt: the data holds no tokens; adapt needs at least one.")
        unique, counts = np.unique(flat, return_counts=True)
        keep = np.ones(len(unique), dtype=bool)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                keep &= unique != special
        unique, counts = unique[keep], counts[keep]
        # Most frequent first; ties: the larger token first (lexsort ascending, reversed).
        order = np.lexsort((unique, counts))[::-1]
        if self.max_tokens is not None:
            order = order[:self.max_tokens - self._token_start()]
        tokens = unique[order]
        idf = None
        if self.output_mode == "tf_idf":
            doc_counts = np.zeros(len(tokens), dtype=np.int64)
            position = {t: i for i, t in enumerate(tokens.tolist())}
            for document in documents:
                for t in np.unique(document).tolist():
                    i = position.get(t)
                    if i is not None:
                        doc_counts[i] += 1
            weights = np.log(1.0 + len(documents) / (1.0 + doc_counts))
            idf = np.concatenate([np.full(self._token_start(), weights.mean() if weights.size else 0.0), weights])
        self._install(tokens, idf)

    # --- calling ---------------------------------------------------------------------------------
    @property
    def output_is_float(self) -> bool:
        return self.output_mode != "int"

    def _output_dtype(self, tensors, dtype):
        if self.invert:
            return np.dtype(np.str_) if self._kind == "string" else np.dtype(np.int64)
        return super()._output_dtype(tensors, dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode != "int" and not self.pad_to_max_tokens and not self._has_vocabulary():
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r}: output_mode={self.output_mode!r} needs the vocabulary size "
                "before the layer joins a graph; adapt the layer or give it a vocabulary first (or set "
                "pad_to_max_tokens=True with max_tokens).")
        return categorical_output_shape(input_shape, self.output_mode, self._depth() if self.output_mode != "int"
                                        else None)

    def _has_vocabulary(self) -> bool:
        return len(self._tokens) > 0

    def forward(self, input, training=False):
        tokens = self._as_tokens(input, "the input")
        if not self.built:
            self.build_for(tokens.shape[1:])
        if self.invert:
            return self._invert(tokens)
        ids, masked = self.lookup(tokens)
        if self.output_mode == "int":
            return ids
        if not self._has_vocabulary() and not self.pad_to_max_tokens:
            raise RuntimeError(f"{type(self).__name__} {self.name!r} has no vocabulary yet; adapt it or give one.")
        dtype = self._float_dtype()
        return encode_categorical(ids, "count" if self.output_mode == "tf_idf" else self.output_mode,
                                  self._depth(), dtype, self._idf, drop=masked)

    def lookup(self, tokens: np.ndarray):
        """(int64 indices of ``tokens``, where the mask token is). OOV as documented above."""
        ids = np.full(tokens.shape, -1, dtype=np.int64)
        if len(self._sorted):
            position = np.searchsorted(self._sorted, tokens)
            position = np.minimum(position, len(self._sorted) - 1)
            found = self._sorted[position] == tokens
            ids = np.where(found, self._order[position] + self._token_start(), -1)
        masked = None
        if self.mask_token is not None:
            masked = tokens == self.mask_token
            if not masked.any():
                masked = None
        unknown = ids < 0
        if masked is not None:
            unknown &= ~masked
        if unknown.any():
            if self.num_oov_indices == 0:
                raise ValueError(f"{type(self).__name__} {self.name!r}: with num_oov_indices=0 every input must be "
                                 f"in the vocabulary; found {tokens[unknown][:5].tolist()}. Set num_oov_indices=1.")
            if self.num_oov_indices == 1:
                ids[unknown] = self._oov_start()
            else:
                ids[unknown] = self._oov_start() + self._hash_oov(tokens[unknown])
        if masked is not None:
            ids[masked] = 0  # only kept in int mode; dropped by encode_categorical otherwise
        return ids, masked

    def _invert(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.dtype.kind == "f":
            ids = ids.astype(np.int64)
        vocabulary = self.get_vocabulary()
        # The OOV token last, so that the table's dtype holds every token (the widest string).
        table = np.array(vocabulary + [self.oov_token])
        inside = (ids >= self._token_start()) & (ids < len(vocabulary))
        out = np.where(inside, table[np.where(inside, ids, len(vocabulary))], table[-1])
        if self.mask_token is not None:
            out[ids == 0] = self.mask_token
        return out

    # --- saving ----------------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments; ``vocabulary`` is the current one (adapted or given, with
        the special tokens as ``get_vocabulary()`` lists them) and ``idf_weights`` its weights, so
        a saved layer comes back exactly."""
        config = {
            **super().get_config(),
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "mask_token": self.mask_token,
            "oov_token": self.oov_token,
            "invert": self.invert,
            "output_mode": self.output_mode,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": self.get_vocabulary() if self._has_vocabulary() else None,
            "idf_weights": None if self._idf is None or not self._has_vocabulary() else
            [float(w) for w in self._idf[:self.vocabulary_size()]],
        }
        return config
