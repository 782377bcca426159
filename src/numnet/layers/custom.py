"""Layers written with ``call()``: the forward pass in ``numnet.ops``, the backward pass from the tape.

A ``Layer`` subclass that defines ``call(self, inputs, training=False)`` and no ``forward``
is made a *call layer* when the class is created (``Layer.__init_subclass__`` calls
``make_call_layer``). It then behaves as every other layer to the graph:

* ``forward(x, training)`` runs ``call`` on Tensors wrapping ``x`` under a private
  ``GradientTape`` and keeps that recording as ``self._tape_record`` (an attribute the call
  assigns, so the graph's per-call capture keeps the calls of a shared layer apart);
* ``backward(error)`` runs the tape's reverse pass from ``error`` (plus 1 for every term the
  call gave ``add_loss``), assigns ``self.grads[name]`` and returns dL/d(inputs).

Weights are ``LayerVariable``s: ops Variables whose array is looked up in the layer's
``params`` / ``buffers`` each time it is read, so the view into a model's flat parameter
buffer (``FlatParameters`` rebinds ``params[name]``) is what every op sees; none is a stale
copy. ``self.kernel = self.add_weight(shape=...)`` keeps such a Variable.

Layers held as attributes (``self.dense = Dense(8)``, or lists of them) are *tracked*: the
call layer's ``params`` / ``grads`` / ``buffers`` are mappings that hold its own weights and,
by path, every tracked layer's (``"dense/kernel"``), reading and writing through to that
layer. So the call layer is one leaf of a model (one entry of ``Model.leaf_layers``), and
the flat buffer, the optimizer, ``get_weights`` and saving see all weights below it. A
tracked layer with ``trainable = False`` shows its parameters among the buffers.

Built-in layers (and models) called on Tensors inside ``call`` (or under any tape) are one
op each on the tape (``call_on_tensors``): their own forward, and their hand-written
backward in the op's backward closure.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import MutableMapping

import numpy as np

from ..ops import tape as _tape
from ..ops.tensor import Tensor, Variable, as_array, wrap

_SEP = "/"


# --- weights as Variables ------------------------------------------------------------------------
class LayerVariable(Variable):
    """``layer``'s weight ``key`` as an ops Variable. ``value`` is read from the layer's
    ``params`` (or ``buffers``) on every access; ``trainable`` is the layer's flag (a frozen
    layer's weights are not watched by a tape)."""

    __slots__ = ("layer", "key")

    def __init__(self, layer, key: str) -> None:  # noqa: D107 -- no Variable.__init__: nothing to copy
        self.layer = layer
        self.key = key

    @property
    def value(self) -> np.ndarray:
        # ``key`` is never a path here (a tracked layer's weight has that layer's Variable),
        # and ops read this on every use. The common case first: a parameter, in the
        # layer's ``params`` (an instance attribute for every layer but a call layer that
        # tracks others, whose view finds its own weights first); then the other stores.
        found = self.layer.params.get(self.key)
        if found is not None:
            return found
        attributes = self.layer.__dict__
        key = self.key
        for store in (attributes.get("_own_params"), attributes.get("params"), attributes.get("_own_buffers"),
                      attributes.get("buffers")):
            if store is not None and key in store:
                return store[key]
        raise RuntimeError(f"Layer {self.layer.name!r} has no weight {key!r} any more.")

    @property
    def name(self) -> str:
        return f"{self.layer.name}/{self.key}"

    @property
    def trainable(self) -> bool:
        return bool(self.layer.trainable) and self.key in self.layer.params

    @property
    def path(self):
        """The optimizer key of this weight: ``(layer name, weight name)``."""
        return (self.layer.name, self.key)


def variable_for(layer, key: str) -> LayerVariable:
    """The one ``LayerVariable`` of ``layer``'s weight ``key`` (a path such as ``"dense/kernel"``
    names the weight of a tracked layer and gives that layer's Variable)."""
    if _SEP in key and is_call_layer(layer):
        child, rest = _resolve(layer, key)
        if child is not None:
            return variable_for(child, rest)
    cache = layer.__dict__.get("_variables")
    if cache is None:
        cache = layer.__dict__["_variables"] = {}
    variable = cache.get(key)
    if variable is None:
        variable = cache[key] = LayerVariable(layer, key)
    return variable


def leaves_of(layer) -> list:
    """``(path, layer)`` of the layers that hold ``layer``'s weights: a model's leaf layers,
    else the layer itself."""
    if getattr(layer, "_is_model", False):
        return layer.leaf_layers() if layer._plan is not None else []
    return [(layer.name, layer)]


def trainable_variables(layer) -> list:
    """The Variables of every trainable weight of ``layer`` (of every leaf, for a model)."""
    return [variable_for(leaf, key) for _, leaf in leaves_of(layer) if leaf.trainable for key in leaf.params]


def all_variables(layer) -> list:
    """The Variables of every weight (parameters, then buffers, layer by layer)."""
    return [variable_for(leaf, key) for _, leaf in leaves_of(layer)
            for key in [*leaf.params, *leaf.buffers]]


# --- tracked layers: params / grads / buffers by path ---------------------------------------------
def is_call_layer(layer) -> bool:
    return getattr(type(layer), "_call_layer", False)


def _children(layer) -> list:
    """``(attribute path, layer)`` for every layer held by ``layer`` as an attribute or in a
    list / tuple attribute, in assignment order (cached until such an attribute changes)."""
    cached = layer.__dict__.get("_tracked")
    if cached is not None:
        return cached
    from .layer import Layer
    from ..graph.call_state import KEPT

    found = []
    for key, value in list(layer.__dict__.items()):
        if key in KEPT or key.startswith("_own_") or value is layer:
            continue
        if isinstance(value, Layer):
            found.append((key, value))
        elif isinstance(value, (list, tuple)):
            found.extend((f"{key}{_SEP}{i}", v) for i, v in enumerate(value) if isinstance(v, Layer))
    layer.__dict__["_tracked"] = found
    return found


def tracked_layers(layer) -> list:
    """The layers ``layer`` tracks (direct children)."""
    return [child for _, child in _children(layer)]


def _entries(child, kind: str):
    """``(key, owner, owner_key)`` for the weights of tracked ``child`` that show in ``kind``
    (``"params"``, ``"grads"``, ``"buffers"``) of its parent."""
    if getattr(child, "_is_model", False):
        for path, leaf in leaves_of(child):
            for key, owner, own in _entries(leaf, kind):
                yield f"{path}{_SEP}{key}", owner, own
        return
    if kind == "buffers":
        stores = [child.buffers] + ([] if child.trainable else [child.params])
    else:
        stores = [child.params if kind == "params" else child.grads] if child.trainable else []
    for store in stores:
        for key in list(store):
            yield key, child, key


def _resolve(layer, key: str):
    """(the tracked layer, its own key) that path ``key`` names, or (None, None)."""
    for prefix, child in _children(layer):
        if key.startswith(prefix + _SEP):
            rest = key[len(prefix) + 1:]
            if getattr(child, "_is_model", False):
                for path, leaf in leaves_of(child):
                    if rest.startswith(path + _SEP):
                        return leaf, rest[len(path) + 1:]
                return None, None
            return child, rest
    return None, None


class TrackedWeights(MutableMapping):
    """A call layer's ``params``, ``grads`` or ``buffers``: its own dict, then the weights of
    the layers it tracks by path. Reads and writes go to the layer that owns the weight."""

    __slots__ = ("layer", "kind", "own")

    def __init__(self, layer, kind: str, own: dict) -> None:
        self.layer, self.kind, self.own = layer, kind, own

    def _store(self, owner):
        return owner.params if self.kind == "params" else owner.grads if self.kind == "grads" else \
            (owner.buffers if self.kind == "buffers" else None)

    def _route(self, key):
        if key in self.own or _SEP not in key:
            return None, None
        owner, own_key = _resolve(self.layer, key)
        if owner is None:
            return None, None
        return owner, own_key

    def __getitem__(self, key):
        owner, own_key = self._route(key)
        if owner is None:
            return self.own[key]
        if self.kind == "buffers" and own_key in owner.params and not owner.trainable:
            return owner.params[own_key]
        return self._store(owner)[own_key]

    def __setitem__(self, key, value) -> None:
        owner, own_key = self._route(key)
        if owner is None:
            self.own[key] = value
        elif self.kind == "buffers" and own_key in owner.params:
            owner.params[own_key] = value
        else:
            self._store(owner)[own_key] = value

    def __delitem__(self, key) -> None:
        owner, own_key = self._route(key)
        if owner is None:
            del self.own[key]
        else:
            del self._store(owner)[own_key]

    def __iter__(self):
        yield from list(self.own)
        for prefix, child in _children(self.layer):
            for key, _, _ in _entries(child, self.kind):
                yield f"{prefix}{_SEP}{key}"

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key) -> bool:
        if key in self.own:
            return True
        owner, own_key = self._route(key)
        if owner is None:
            return False
        if self.kind == "buffers":
            return own_key in owner.buffers or (not owner.trainable and own_key in owner.params)
        if not owner.trainable:
            return False
        return own_key in self._store(owner)

    def __repr__(self) -> str:
        return f"TrackedWeights({self.kind} of {self.layer.name!r}: {list(self)})"


_WEIGHT_KINDS = ("params", "grads", "buffers")
# What a training step assigns to every layer: never a layer, so never a change of tracking.
_PER_STEP = frozenset({"needs_input_error", "_grad_pass", "_tape_record", "input", "output"})


class _Weights:
    """A call layer's ``params``, ``grads`` or ``buffers``: its own dict, or, when it tracks
    layers, a ``TrackedWeights`` view of its own and theirs.

    A non-data descriptor: for a layer that tracks no layers the own dict is put in the
    instance ``__dict__`` under the same name, so that later reads (several per training
    step) are plain attribute lookups; ``_setattr`` removes it again whenever the tracked
    layers may change, and routes assignments (``layer.grads = {}``) to ``_set_weights``."""

    def __init__(self, kind: str) -> None:
        self.kind, self.own_key = kind, f"_own_{kind}"
        self.__doc__ = f"The layer's {kind} and, by path, those of the layers it tracks."

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        attributes = layer.__dict__
        own = attributes.get(self.own_key)
        if own is None:
            own = attributes[self.own_key] = {}
        if _children(layer):
            return TrackedWeights(layer, self.kind, own)
        attributes[self.kind] = own
        return own


def _set_weights(layer, kind: str, value) -> None:
    """``layer.<kind> = value``: a copy of ``value`` becomes the own dict (a TrackedWeights
    gives its own part); ``grads = {}`` clears every tracked layer's gradients too."""
    if isinstance(value, TrackedWeights):
        value = value.own
    attributes = layer.__dict__
    attributes[f"_own_{kind}"] = dict(value)
    attributes.pop(kind, None)  # the next read puts the new dict (or a view) there
    if kind == "grads" and not value:
        for child in tracked_layers(layer):
            for _, leaf in leaves_of(child):
                leaf.grads = {}


# --- add_weight (both signatures) -----------------------------------------------------------------
class _AddWeight:
    """``add_weight`` of a call layer: returns the weight's ``LayerVariable``. A data
    descriptor, so that a file loader's stand-in (assigned as an instance attribute) is
    kept aside and still used to create the weights."""

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        return functools.partial(_add_weight, layer)

    def __set__(self, layer, value) -> None:
        layer.__dict__["add_weight"] = value

    def __delete__(self, layer) -> None:
        layer.__dict__.pop("add_weight", None)


def _add_weight(layer, *args, **kwargs) -> LayerVariable:
    from .layer import Layer, weight_arguments

    name, shape, initializer, trainable, regularizer, constraint = weight_arguments(layer, args, kwargs)
    source = layer.__dict__.get("add_weight")
    if source is not None:
        source(name, shape, initializer, trainable, regularizer=regularizer, constraint=constraint)
    else:
        Layer.add_weight(layer, name, shape, initializer=initializer, trainable=trainable, regularizer=regularizer,
                         constraint=constraint)
    return variable_for(layer, name)


# --- the call layer's methods ------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _call_takes(cls, name: str) -> bool:
    parameters = inspect.signature(cls.call).parameters
    return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def run_call(layer, inputs, training, kwargs):
    """``layer.call(inputs, training=training, **kwargs)``, passing ``training`` only when
    ``call`` accepts it."""
    if _call_takes(type(layer), "training"):
        return layer.call(inputs, training=bool(training), **kwargs)
    return layer.call(inputs, **kwargs)


def _specs(shape, dtype, symbolic_dtypes=None):
    """Dummy specs for ``shape`` in the layer's float ``dtype``; an input whose symbolic
    tensor is integer or boolean (``Input((5,), dtype="int32")``) keeps that dtype, so that
    ``call`` sees ids during the shape inference as it will in use."""
    from ..ops import TensorSpec

    def pick(given):
        return given if given is not None and np.dtype(given).kind in "iub" else dtype

    if isinstance(shape, list):
        given = symbolic_dtypes if isinstance(symbolic_dtypes, list) and len(symbolic_dtypes) == len(shape) \
            else [None] * len(shape)
        return [TensorSpec((None, *s), pick(d)) for s, d in zip(shape, given)]
    return TensorSpec((None, *shape), pick(None if isinstance(symbolic_dtypes, list) else symbolic_dtypes))


def _infer(layer, input_shape):
    """(output shape(s) without the batch axis, output dtype) of ``call`` for ``input_shape``,
    by running it on dummy inputs (``ops.infer_output_spec``)."""
    from ..ops import infer_output_spec

    cached = layer.__dict__.get("_inferred")
    symbolic_dtypes = layer.__dict__.get("_symbolic_dtypes")
    key = repr((input_shape, symbolic_dtypes))
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    dtype = layer.dtype or np.dtype(np.float32)
    spec = infer_output_spec(lambda x: _checked_output(layer, run_call(layer, x, False, {})),
                             _specs(input_shape, dtype, symbolic_dtypes))
    if isinstance(spec, (list, tuple)):
        shapes, out_dtype = [tuple(s.shape[1:]) for s in spec], spec[0].dtype
    else:
        shapes, out_dtype = tuple(spec.shape[1:]), spec.dtype
    layer.__dict__["_inferred"] = (key, shapes, out_dtype)
    return shapes, out_dtype


def _compute_output_shape(self, input_shape):
    """Inferred by running ``call`` on dummy inputs of ``input_shape`` (see ``_infer``)."""
    return _infer(self, input_shape)[0]


def _output_dtype(self, tensors, dtype):
    return _infer(self, self.input_shape)[1] if self.built else dtype


def _build_for(self, input_shape) -> None:
    """Build the layer's own weights (``build``), then the tracked layers by running ``call``
    once on dummy inputs (which also gives the output shape)."""
    if self.built:
        return
    if self.dtype is None:
        self.dtype = np.dtype(np.float32)
    for child in tracked_layers(self):
        if child.dtype is None:
            child.dtype = self.dtype
    from .layer import run_build

    run_build(self, input_shape)
    self.input_shape = input_shape
    self.built = True  # before the shape inference: a call of itself would build again
    try:
        self.output_shape = self.compute_output_shape(input_shape)
    except Exception:
        self.built = False
        raise
    source = self.__dict__.get("add_weight")
    if source is not None:
        # Loading from a file: the tracked layers' weights (built by the shape inference, with
        # their own initializers) come from the file too, by path, in the order it holds them.
        for kind in ("params", "buffers"):
            own = self.__dict__.get(f"_own_{kind}", {})
            store = getattr(self, kind)
            for key in [k for k in store if k not in own]:
                source(key, np.shape(store[key]), "zeros", kind == "params")


def _cast(self, dtype) -> None:
    """Cast the own weights, and each tracked layer with its own ``cast`` (not through the
    path-keyed view, which would leave the tracked layers' dtype and caches behind)."""
    for child in tracked_layers(self):
        child.cast(dtype)
    own = {k: self.__dict__.get(f"_own_{k}", {}) for k in ("params", "buffers")}
    self.dtype = np.dtype(dtype)
    for store in own.values():
        for key in store:
            store[key] = store[key].astype(self.dtype)
    self.__dict__["_own_grads"] = {}
    self.grad_targets = {}
    self._scratch = {}
    self.__dict__.pop("_inferred", None)


def _checked_output(layer, out):
    """``out`` if it is a Tensor (or a list / tuple of them); TypeError for a NumPy array,
    which the tape cannot differentiate (its weights would get no gradient)."""
    items = out if isinstance(out, (list, tuple)) else [out]
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(
                f"call() of layer {layer.name!r} ({type(layer).__name__}) returned a {type(item).__name__}, not a "
                "numnet Tensor: the result is disconnected from the inputs and weights, so nothing would get a "
                "gradient. Compute it with numnet.ops (ops.matmul, ops.relu, +, * ...) on the Tensors call() "
                "receives, not with NumPy."
            )
    return out


class _Record:
    """What one forward of a call layer keeps for its backward."""

    __slots__ = ("tape", "inputs", "outputs", "losses", "single")

    def __init__(self, tape, inputs, outputs, losses, single) -> None:
        self.tape, self.inputs, self.outputs, self.losses, self.single = tape, inputs, outputs, losses, single


_NOT_A_VIEW = object()

# The forward passes of call layers now running (innermost last): where add_loss puts a term.
class _PerThread(threading.local):
    """Per thread (inference may run in several): ``recording``, the lists of ``add_loss``
    terms of the call layers whose forward is running (innermost last); ``collectors``, the
    lists a train / test step gathers the terms of its pass into."""

    def __init__(self) -> None:
        self.recording: list[list] = []
        self.collectors: list[list] = []


_state = _PerThread()


def _as_declared(arrays, declared):
    """Inputs whose symbolic tensor is integer or boolean (``Input((5,), dtype="int32")``)
    in that dtype again: the training and predict loops feed every numeric input in the
    model's float dtype (as Embedding, a call() layer casts its ids back)."""
    dtypes = declared if isinstance(declared, list) else [declared]
    return [a.astype(d) if d.kind in "iub" and a.dtype.kind == "f" else a for a, d in zip(arrays, dtypes)]


def _forward(self, inputs, training=False, **kwargs):
    """``call`` on Tensors wrapping ``inputs``, recorded on a private tape kept in
    ``self._tape_record``; returns the output array(s)."""
    many = isinstance(inputs, (list, tuple))
    if not self.built:  # called directly on arrays: build for their shape first
        self.build_for(_shape_of(inputs))
    sources = inputs if many else [inputs]
    declared = self.__dict__.get("_symbolic_dtypes")
    if declared is not None:
        sources = _as_declared([np.asarray(x) for x in sources], declared)
    tensors = [wrap(np.asarray(x)) for x in sources]
    if self.__dict__.get("_thread_views", _NOT_A_VIEW) is None:
        # An inference view (numnet.graph.threads: predict, evaluate, several threads): no
        # backward follows, so no tape, and the process-wide tape list is left alone.
        losses: list = []
        _state.recording.append(losses)
        try:
            out = _checked_output(self, run_call(self, tensors if many else tensors[0], training, kwargs))
        finally:
            _state.recording.pop()
        if losses:
            _note_losses(self, losses)
        return out.value if not isinstance(out, (list, tuple)) else [o.value for o in out]
    tape = _tape.GradientTape()
    ids = tape._ids  # watch the wrapped inputs (fresh Tensors: no structure to walk)
    for tensor in tensors:
        if tensor.value.dtype.kind in "fc":  # integer inputs (ids, indices) carry no gradient
            ids[id(tensor)] = tensor
    cached = self.__dict__.get("_backward_variables")
    if cached is not None and self.trainable:
        # The trainable weights the last backward differentiated, watched from the start:
        # the tape would watch each when an op first reads it, at the cost of checking that
        # it is trainable. (A weight no op reads gets no gradient either way.)
        ids.update(cached[2])
    losses: list = []
    active = _tape._active
    outer = active[:] if active else None
    # This tape alone records: an outer tape sees this layer as one op (its plan's), not its
    # insides. (Entered directly rather than with ``with tape``: this runs at every step.)
    active[:] = [tape]
    recording = _state.recording
    recording.append(losses)
    try:
        out = _checked_output(self, run_call(self, tensors if many else tensors[0], training, kwargs))
    finally:
        recording.pop()
        if outer is None:
            active.clear()
        else:
            active[:] = outer
    single = not isinstance(out, (list, tuple))
    outs = [out] if single else list(out)
    self.__dict__["_tape_record"] = _Record(tape, tensors, outs, losses, single)  # no tracking to update
    if losses:
        _note_losses(self, losses)
    arrays = [o.value for o in outs]
    return arrays[0] if single else arrays


def _backward(self, output_error):
    """The tape's reverse pass from ``output_error``: assigns ``grads`` of every parameter
    (zeros where the output does not depend on it) and returns dL/d(inputs)."""
    record = self.__dict__.get("_tape_record")
    if record is None:
        raise RuntimeError(f"Layer {self.name!r}: call forward(inputs, training=...) before backward.")
    errors = [output_error] if record.single else list(output_error)
    targets, seeds = [], []
    for out, error in zip(record.outputs, errors):
        if error is not None and out.value.dtype.kind in "fc":
            targets.append(out)
            seeds.append(error)
    for term in record.losses:
        targets.append(term)
        seeds.append(np.ones(term.shape, term.dtype))
    params = self.params
    keys = list(params)
    cached = self.__dict__.get("_backward_variables")
    if cached is not None and cached[0] == keys:
        variables = cached[1]
    else:  # the weights' Variables, looked up once while the weight names stay the same
        variables = [variable_for(self, k) for k in keys]
        watched = {id(v): v for v in variables if v.value.dtype.kind in "fc"}  # what the next forward watches
        self.__dict__["_backward_variables"] = (keys, variables, watched)
    need_inputs = self.needs_input_error
    sources = (record.inputs if need_inputs else []) + variables
    # The private tape's reverse pass itself (GradientTape.gradient's structure handling and
    # Tensor wrapping are not needed here): gradient arrays by id, None where unconnected.
    # The slots a model's flat gradient buffer offers (Layer.grad_buffer) may receive the
    # gradients directly, so that no copy follows (FlatParameters.gather skips them).
    offered = self.__dict__.get("grad_targets")
    destinations = {id(v): d for k, v in zip(keys, variables) if (d := offered.get(k)) is not None} \
        if offered else None
    # Every Tensor this tape watched descends from the inputs or the weights when both are
    # sources and no other Variable was read (a weight watched when an op first read it is
    # in ``tape._variables``; the layer's own weights were watched from the start).
    all_live = need_inputs and not record.tape._variables
    found = record.tape._backprop(targets, seeds, sources, destinations, all_live) if targets else {}
    grads = list(map(found.get, map(id, sources)))
    self.__dict__["_tape_record"] = None
    n = len(record.inputs) if need_inputs else 0
    store = self.grads
    for key, variable, g in zip(keys, variables, grads[n:]):
        store[key] = np.zeros_like(variable.value) if g is None else g
    if not need_inputs:
        return None
    input_errors = grads[:n]
    for i, (x, g) in enumerate(zip(record.inputs, input_errors)):
        if g is None:
            input_errors[i] = np.zeros_like(x.value)
    return input_errors if n > 1 or isinstance(self.input_shape, list) else input_errors[0]


def _setattr(self, key, value) -> None:
    """Assign (weights through ``_set_weights``), and forget the cached list of tracked
    layers, with the weight dicts cached beside it, when a layer (or a list) is assigned or a
    tracked attribute rebound."""
    if key in _WEIGHT_KINDS:
        _set_weights(self, key, value)
        return
    object.__setattr__(self, key, value)
    if key in _PER_STEP:
        return
    attributes = self.__dict__
    tracked = attributes.get("_tracked")
    if tracked is None:
        return
    if isinstance(value, (_layer_class(), list, tuple)) or (tracked and any(
            p == key or p.startswith(key + _SEP) for p, _ in tracked)):
        del attributes["_tracked"]
        for kind in _WEIGHT_KINDS:
            attributes.pop(kind, None)


@functools.lru_cache(maxsize=1)
def _layer_class():
    from .layer import Layer

    return Layer


def _dtype_property():
    def get(self):
        return self.__dict__.get("_own_dtype")

    def set(self, value) -> None:
        # The tracked layers follow (check_layer restores a layer's dtype by assigning it).
        self.__dict__["_own_dtype"] = None if value is None else np.dtype(value)
        if value is not None:
            for child in tracked_layers(self):
                if not getattr(child, "_is_model", False):
                    child.dtype = np.dtype(value)

    return property(get, set, doc="The layer's dtype, which its tracked layers share.")


def make_call_layer(cls) -> None:
    """Give ``cls`` (a Layer subclass defining ``call`` and no ``forward``) the forward,
    backward, shape inference, tracked weights and ``add_weight`` of a call layer."""
    from .layer import Layer

    if not getattr(cls, "_call_layer", False) and "forward" in _defined_below_layer(cls):
        return  # a seed-style layer (forward / backward) that also has a call(): its forward runs
    cls._call_layer = True
    if "forward" not in _defined_below_layer(cls):
        cls.forward = _forward
        cls.backward = _backward
    if "compute_output_shape" not in _defined_below_layer(cls):
        cls.compute_output_shape = _compute_output_shape
    if "params" not in cls.__dict__ and not isinstance(getattr(cls, "params", None), (property, _Weights)):
        cls.params = _Weights("params")
        cls.grads = _Weights("grads")
        cls.buffers = _Weights("buffers")
        cls.add_weight = _AddWeight()
        cls.dtype = _dtype_property()
        cls.build_for = _build_for
        cls.cast = _cast
        cls._output_dtype = _output_dtype
        cls.__setattr__ = _setattr
    assert issubclass(cls, Layer)


def _defined_below_layer(cls) -> set:
    """The attribute names defined by ``cls`` and its bases below ``Layer``, except the ones
    ``make_call_layer`` installed."""
    from .layer import Layer

    names = set()
    for klass in cls.__mro__:
        if klass is Layer or not issubclass(klass, Layer):
            continue
        for name, value in klass.__dict__.items():
            if value not in (_forward, _backward, _compute_output_shape):
                names.add(name)
    return names


# --- add_loss ------------------------------------------------------------------------------------
# Whether any layer or model was ever given a callable loss: until then a training step does
# not look for them (a model's leaf walk per step is avoidable cost).
_any_callable_losses = False


def _note_losses(layer, terms) -> None:
    layer.__dict__["_losses_seen"] = list(terms)
    for bag in _state.collectors:
        bag.extend(float(np.sum(t.value)) for t in terms)


def add_loss(layer, value) -> None:
    """``layer.add_loss(value)``: ``value`` a scalar Tensor computed inside ``call`` (its
    gradient flows in this call's backward), or a zero-argument callable returning one
    (evaluated at every training step, its gradient added to the weights')."""
    from ..graph import is_symbolic

    if callable(value) and not isinstance(value, Tensor):
        global _any_callable_losses
        layer.__dict__.setdefault("_callable_losses", []).append(value)
        _any_callable_losses = True
        return
    if is_symbolic(value):
        raise TypeError(
            f"add_loss on layer {layer.name!r} got a symbolic tensor: a graph has no place for an extra loss "
            "term. Add it inside a call() layer, or pass a zero-argument callable: "
            "model.add_loss(lambda: 1e-3 * ops.sum(ops.square(layer.kernel)))."
        )
    if not isinstance(value, Tensor):
        raise TypeError(f"add_loss expects a numnet Tensor or a zero-argument callable, got {type(value).__name__}.")
    if value.size != 1:
        raise ValueError(f"add_loss expects a scalar loss term, got a Tensor of shape {value.shape}.")
    if _state.recording:
        _state.recording[-1].append(value)
    # Else call() is not being run by numnet as a layer (shape inference on dummies, or a
    # direct layer.call(x)): there is no pass for the term to belong to, and it is dropped.


def losses_of(layer) -> list:
    """``layer.losses``: the terms added during the layer's last forward pass (``add_loss``,
    then the activity regularizer's), then its callables' current values (for a model: over
    every leaf layer, then its own), then one term per regularized trainable weight (Tensors
    on the tape when one records, so ``ops.sum(model.losses)`` has their gradient), as Keras."""
    from ..training.penalty import Penalty

    found = []
    layers = [leaf for _, leaf in leaves_of(layer)] if getattr(layer, "_is_model", False) else [layer]
    for item in layers:
        found.extend(item.__dict__.get("_losses_seen", []))
        found.extend(item.__dict__.get("_activity_losses", []))
        found.extend(wrap(as_array(fn())) for fn in item.__dict__.get("_callable_losses", []))
    if getattr(layer, "_is_model", False):
        found.extend(wrap(as_array(fn())) for fn in layer.__dict__.get("_callable_losses", []))
    penalty = Penalty.of([(item.name, item) for item in layers])
    if penalty is not None:
        found.extend(penalty.terms())
    return found


# --- layers and models called on Tensors: one op on the tape --------------------------------------
def wants_tape(inputs) -> bool:
    """Whether a call on ``inputs`` (not symbolic) must go on the tape: an input is a Tensor,
    or a tape is recording."""
    if _tape._active:
        return True
    if isinstance(inputs, Tensor):
        return True
    if isinstance(inputs, (list, tuple)):
        return any(isinstance(x, Tensor) for x in inputs)
    if isinstance(inputs, dict):
        return any(isinstance(x, Tensor) for x in inputs.values())
    return False


def _shape_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [tuple(np.shape(as_array(x))[1:]) for x in inputs]
    return tuple(np.shape(as_array(inputs))[1:])


def call_on_tensors(layer, inputs, training, kwargs):
    """``layer(inputs)`` with Tensors (or under a tape): a call layer runs ``call`` on the
    caller's tape; any other layer, or a model, is one recorded op (its forward, and its
    backward in the op's backward closure). Returns Tensors."""
    if getattr(layer, "_is_model", False):
        return _call_model(layer, inputs, training, kwargs)
    if not layer.built:
        if layer.dtype is None:
            first = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
            kind = np.dtype(as_array(first).dtype)
            layer.dtype = kind if kind.kind == "f" else np.dtype(np.float32)
        layer.build_for(_shape_of(inputs))
    if is_call_layer(layer) and type(layer).forward is _forward:
        if _state.recording:
            return _checked_output(layer, run_call(layer, inputs, training, kwargs))
        losses: list = []
        _state.recording.append(losses)
        try:
            out = _checked_output(layer, run_call(layer, inputs, training, kwargs))
        finally:
            _state.recording.pop()
        if losses:
            _note_losses(layer, losses)
        return out
    return _layer_op(layer, inputs, training, kwargs)


def _layer_op(layer, inputs, training, kwargs):
    from ..graph import call_state
    from .layer import takes_training_flag

    many = isinstance(inputs, (list, tuple))
    items = list(inputs) if many else [inputs]
    dtype = layer.dtype
    arrays = [_as_float(as_array(x), dtype) for x in items]
    before = call_state.begin(layer)
    arg = arrays if many else arrays[0]
    if takes_training_flag(type(layer)):
        out = layer.forward(arg, training=bool(training), **kwargs)
    else:
        out = layer.forward(arg, **kwargs)
    state = call_state.take(layer, before)  # this call's cache, apart from the layer's other calls
    single = not isinstance(out, (list, tuple))
    outs = [wrap(out)] if single else [wrap(o) for o in out]
    regularized = getattr(layer, "activity_regularizer", None) is not None
    if not _tape._active:
        if regularized:
            _activity_terms(layer, outs)
        return outs[0] if single else outs
    keys = list(layer.params)
    variables = [variable_for(layer, k) for k in keys]
    n_in = len(items)

    def backward(g, needed):
        replaced = call_state.put(layer, state)
        try:
            layer.needs_input_error = any(needed[:n_in])
            dx = layer.backward(g if single else list(g))
            param_grads = [layer.grads[k].copy() if n else None for k, n in zip(keys, needed[n_in:])]
        finally:
            call_state.restore(layer, replaced)
            layer.needs_input_error = True
        if not any(needed[:n_in]) or dx is None:
            dx = [None] * n_in
        elif not many:
            dx = [dx]
        return (*[None if d is None else np.asarray(d) for d in dx], *param_grads)

    _tape.record(backward, (*items, *variables), outs[0] if single else outs, name=layer.name, pass_needed=True)
    if regularized:  # after the layer's op: the tape knows its outputs, so the term's gradient reaches it
        _activity_terms(layer, outs)
    return outs[0] if single else outs


def _activity_terms(layer, outs) -> None:
    """``activity_regularizer(output) / batch_size`` of a built-in layer called on Tensors:
    on the tape (after the op that made ``outs``, so its gradient flows back through the
    layer), added to the enclosing call layer's losses when there is one, and kept for
    ``layer.losses``."""
    from .. import ops

    regularizer = layer.activity_regularizer
    terms = []
    for out in outs:
        if out.dtype.kind != "f":
            continue
        term = regularizer.tensor_value(out)
        if out.ndim > 0 and out.shape[0]:
            term = ops.multiply(term, 1.0 / out.shape[0])
        terms.append(term)
    layer.__dict__["_activity_losses"] = terms
    if _state.recording:
        _state.recording[-1].extend(terms)


def _as_float(array, dtype):
    if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
        return array.astype(dtype)
    return array


def _call_model(model, inputs, training, kwargs):
    """A model on Tensors: its plan's forward, and in the op's backward the plan's backward
    (every built-in layer keeps its hand-written backward)."""
    from ..graph.plan import GradientPass
    from ..training.data import as_inputs

    if kwargs:
        raise TypeError(f"Model {model.name!r} takes no call arguments but training=; got {sorted(kwargs)}.")
    if isinstance(inputs, dict):
        items = dict(inputs)
        arrays = {k: as_array(v) for k, v in items.items()}
        if model._plan is not None:
            items = [items[n] for n in model.input_names]
        else:
            items = list(items.values())
    else:
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        arrays = [as_array(x) for x in items]
        arrays = arrays if isinstance(inputs, (list, tuple)) else arrays[0]
    xs = [a.astype(model.dtype, copy=False) for a in as_inputs(model, arrays, check_values=False)]
    # capture: every step keeps its cache in this run, so that calling the model again before
    # tape.gradient (a GAN's discriminator on real, then on generated data) cannot overwrite it.
    recording = bool(_tape._active)
    outputs, run = model._plan.forward(xs, training=bool(training), capture=recording, keep=recording)
    outs = [wrap(o) for o in outputs]
    single = len(outs) == 1
    if not _tape._active:
        values = outs
    else:
        leaves = [leaf for _, leaf in model.leaf_layers() if leaf.trainable]
        entries = [(leaf, k) for leaf in leaves for k in leaf.params]
        variables = [variable_for(leaf, k) for leaf, k in entries]
        n_in = len(items)

        def backward(g, needed):
            errors = [g] if single else list(g)
            plan = model._plan
            plan.set_fused_outputs([False] * len(errors))  # the tape gives dL/d(output), not d(pre-activation)
            gradient_pass = GradientPass()
            try:
                dx = plan.backward(run, errors, gradient_pass, need_input_errors=any(needed[:n_in]))
            finally:
                plan.set_fused_outputs(getattr(model, "_fused_flags", [False] * len(errors)))
            param_grads = [leaf.grads[k].copy() if n and leaf._grad_pass is gradient_pass else None
                           for (leaf, k), n in zip(entries, needed[n_in:])]
            dx = [None] * n_in if dx is None else dx
            return (*dx, *param_grads)

        _tape.record(backward, (*items, *variables), outs[0] if single else outs, name=model.name,
                     pass_needed=True)
        values = outs
    return model.pack_outputs(values)
