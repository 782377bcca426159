"""A model's architecture as plain data: ``get_config`` / ``from_config``, ``to_json`` /
``model_from_json`` and ``clone_model``.

There is one serialiser: the architecture record ``numnet.saving`` writes into model files
(every layer once, by its registered class name and ``get_config()``; for a functional model
every call as a node that reads ``[node, output]`` of earlier nodes; nested models as records
of their own). ``model.get_config()`` is that record without weights and without the random
generators' states, so it is JSON; ``Model.from_config`` replays it through the same code
that loads a file, except that every layer initialises its weights afresh.

    config = model.get_config()            # {"kind": "functional", "layers": [...], "nodes": [...], ...}
    twin = numnet.Model.from_config(config)  # same architecture and names, new weights
    numnet.models.model_from_json(model.to_json())

A subclassed model (``class M(numnet.Model)`` with ``call``) is its constructor arguments,
as in Keras: ``get_config()`` gives ``{"name", "trainable"}`` for the subclass to extend, and
``from_config`` calls the class with them.
"""

from __future__ import annotations

import json

from .. import saving
from ..layers.core import InputLayer
from ..layers.layer import Layer
from ..graph import SymbolicTensor
from .subclassed import defines_call, is_subclassed

# What error messages of a config call the place they come from (a file uses its path).
_WHERE = "model config"


def model_config(model) -> dict:
    """``model.get_config()``: the architecture record of a Sequential or functional model;
    ``{"name", "trainable"}`` for a subclassed one (its ``get_config`` adds its arguments)."""
    from .sequential import Sequential

    if is_subclassed(model):
        return Layer.get_config(model)
    if isinstance(model, Sequential) and not model.built:  # the stack alone: built when data comes
        saved: set = set()
        return {"kind": "sequential", "name": model.name, "dtype": model.dtype.name,
                "trainable": bool(model.trainable),
                "layers": [saving._layer_record(layer, {}, False, saved) for layer in model._stack]}
    return saving._model_record(model, {}, set(), with_weights=False)


def model_from_config(cls, config, custom_objects=None):
    """``cls.from_config(config)`` for ``Model`` and its subclasses (``Sequential``)."""
    from .sequential import Sequential

    if defines_call(cls):  # a subclassed model: config = constructor arguments
        return Layer.from_config.__func__(cls, config)
    if not isinstance(config, dict):
        raise TypeError(f"{cls.__name__}.from_config expects the dict model.get_config() returns, "
                        f"got {type(config).__name__}.")
    kind = config.get("kind")
    if kind not in ("functional", "sequential"):
        raise ValueError(f"{cls.__name__}.from_config expects the dict model.get_config() returns (with 'kind' "
                         f"'functional' or 'sequential'), got one with keys {sorted(config)[:8]}.")
    if issubclass(cls, Sequential) and kind != "sequential":
        raise ValueError(f"Sequential.from_config got the config of a {kind} model; use numnet.Model.from_config.")
    return _rebuild(config, custom_objects)


def _classes(custom_objects) -> dict:
    classes = saving._layer_classes()
    if custom_objects:
        if not isinstance(custom_objects, dict):
            raise TypeError(f"custom_objects must be a dict of class name -> layer class, got "
                            f"{type(custom_objects).__name__}.")
        for key, value in custom_objects.items():
            if not (isinstance(value, type) and issubclass(value, Layer)):
                raise TypeError(f"custom_objects[{key!r}] must be a numnet Layer subclass, got {value!r:.80}.")
        classes = {**classes, **custom_objects}
    return classes


def _rebuild(config, custom_objects=None, make_layer=None, call_layer=None):
    """The model of a config record, through the loader of ``numnet.saving``; what it refuses
    is a ValueError naming the place in the config."""
    try:
        return saving._rebuild(None, config, _WHERE, None, _classes(custom_objects), [], make_layer, call_layer)
    except saving.ModelFileError as exc:
        raise ValueError(str(exc)) from None


# --- JSON ------------------------------------------------------------------------------------
def class_name(model) -> str:
    """What ``to_json`` calls the model's class: ``Sequential``, ``Functional`` or the name a
    subclassed model's class is registered under."""
    from .sequential import Sequential

    if isinstance(model, Sequential):
        return "Sequential"
    if is_subclassed(model):
        return saving._registered_name(model)
    return "Functional"


def to_json(model, **kwargs) -> str:
    """``{"class_name": ..., "config": model.get_config(), "numnet_version": ...}`` as JSON
    text; ``kwargs`` go to ``json.dumps`` (``indent=2``)."""
    record = {"class_name": class_name(model), "config": model.get_config(), "numnet_version": saving._version()}
    return json.dumps(saving._check_jsonable(record, f"model {model.name!r}"), **kwargs)


def model_from_json(json_string, custom_objects=None):
    """The model ``model.to_json()`` describes, with new weights. Classes come only from
    numnet, ``@numnet.register_layer`` and ``custom_objects`` (name -> class); nothing is
    imported or evaluated."""
    from .model import Model
    from .sequential import Sequential

    if not isinstance(json_string, (str, bytes, bytearray)):
        raise TypeError(f"model_from_json expects JSON text, got {type(json_string).__name__}.")
    try:
        record = json.loads(json_string)
    except ValueError as exc:
        raise ValueError(f"model_from_json: the text is not valid JSON ({exc}).") from None
    if not (isinstance(record, dict) and isinstance(record.get("class_name"), str) and "config" in record):
        raise ValueError("model_from_json expects what model.to_json() writes: an object with 'class_name' and "
                         "'config'.")
    name = record["class_name"]
    known = {"Functional": Model, "Model": Model, "Sequential": Sequential}
    cls = known.get(name) or _classes(custom_objects).get(name)
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ValueError(f"model_from_json: {name[:80]!r} is not a model class numnet knows (Functional, Sequential "
                         "or a Model subclass registered with @numnet.register_layer or given in custom_objects).")
    if cls is Model:
        return model_from_config(Model, record["config"], custom_objects)
    return cls.from_config(record["config"])


# --- clone_model -----------------------------------------------------------------------------
def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive: bool = False):
    """A new model of the same architecture with new weights (initialised afresh, as when the
    original was built), as Keras's ``clone_model``.

    * ``input_tensors``: ``Input`` tensors to build the clone on (one per model input, a list,
      or a dict keyed by input name); new ``Input``\\ s of the same shapes by default.
    * ``clone_function(layer) -> layer``: makes each layer's counterpart (default: the layer
      rebuilt from its ``get_config()``). Returning the layer itself shares it (and its
      weights) with the original. Input layers are never passed to it.
    * ``call_function(layer, inputs, **kwargs) -> outputs``: makes each call of a functional
      model's layers on the clone's tensors (default: ``layer(inputs, **kwargs)``; ``kwargs``
      holds ``training`` where the call fixed it). It may add layers before or after a call.
    * ``recursive``: nested Sequential / functional models are cloned with ``clone_model``
      and the same ``clone_function`` instead of being handed to it whole.

    A shared layer stays one layer called several times; nested models become new models.
    A subclassed model is ``type(model).from_config(model.get_config())``; it takes neither
    ``input_tensors`` nor ``clone_function``.
    """
    from .model import Model
    from .sequential import Sequential

    if not isinstance(model, Model):
        raise TypeError(f"clone_model expects a numnet Model, got {model!r:.80}.")
    for what, function in (("clone_function", clone_function), ("call_function", call_function)):
        if function is not None and not callable(function):
            raise TypeError(f"clone_model: {what} must be callable, got {function!r:.80}.")
    if call_function is not None and (isinstance(model, Sequential) or is_subclassed(model)):
        raise ValueError(f"clone_model: call_function applies to functional models; model {model.name!r} is "
                         f"{'a Sequential' if isinstance(model, Sequential) else 'subclassed'} (rebuild it with "
                         "the functional API to insert layers).")
    if is_subclassed(model):
        if input_tensors is not None or clone_function is not None:
            raise ValueError(f"clone_model: model {model.name!r} is subclassed ({type(model).__name__}); it is "
                             "cloned from its get_config() alone, without input_tensors or clone_function.")
        return type(model).from_config(model.get_config())

    def clone_layer(layer, record, index, where):
        if clone_function is None and not (recursive and getattr(layer, "_is_model", False)):
            return saving._make_layer(None, record, index, where, None, saving._layer_classes(), [])[0]
        if recursive and getattr(layer, "_is_model", False) and not is_subclassed(layer):
            return clone_model(layer, clone_function=clone_function, recursive=True)
        new = clone_function(layer)
        if not isinstance(new, Layer):
            raise TypeError(f"clone_model: clone_function returned {new!r:.80} for layer {layer.name!r}; it must "
                            "return a numnet layer.")
        return new

    config = model_config(model)
    if isinstance(model, Sequential) and not model.built:
        stack = [clone_layer(layer, record, i, _WHERE) for i, (layer, record) in
                 enumerate(zip(model._stack, config["layers"]))]
        given = _given_inputs(input_tensors, ["input"]) if input_tensors is not None else []
        return Sequential([*given, *stack], dtype=model.dtype, name=model.name, trainable=model.trainable)

    input_layers = [t.node.layer for t in model.inputs]
    originals = {layer.name: layer for layer in [*input_layers, *model.layers]}
    given = None
    if input_tensors is not None:
        given = dict(zip([l.name for l in input_layers], _given_inputs(input_tensors, model.input_names)))

    def make_layer(archive, record, index, where, dtype, classes, sources):
        original = originals[record["config"]["name"]]
        if isinstance(original, InputLayer):
            new = given[original.name].node.layer if given else InputLayer.from_config(record["config"])
        else:
            new = clone_layer(original, record, index, where)
        return new, record["class_name"]

    call_layer = None
    if call_function is not None:
        def call_layer(layer, inputs, training):
            return call_function(layer, inputs, **({} if training is None else {"training": training}))
    return _rebuild(config, make_layer=make_layer, call_layer=call_layer)


def _given_inputs(input_tensors, names: list) -> list:
    """``input_tensors`` as a list in the order of the model's inputs ``names``, each checked
    to come from ``Input(...)``."""
    if isinstance(input_tensors, dict):
        missing = [n for n in names if n not in input_tensors]
        if missing or len(input_tensors) != len(names):
            raise ValueError(f"clone_model: input_tensors as a dict needs the keys {names}, got "
                             f"{list(input_tensors)}.")
        tensors = [input_tensors[n] for n in names]
    elif isinstance(input_tensors, (list, tuple)):
        tensors = list(input_tensors)
    else:
        tensors = [input_tensors]
    if len(tensors) != len(names):
        raise ValueError(f"clone_model: the model has {len(names)} input(s); input_tensors holds {len(tensors)}.")
    for tensor in tensors:
        if not (isinstance(tensor, SymbolicTensor) and tensor.node is not None
                and isinstance(tensor.node.layer, InputLayer)):
            raise TypeError(f"clone_model: input_tensors must come from numnet.Input(...), got {tensor!r:.80}.")
    return tensors
