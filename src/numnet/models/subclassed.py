"""Subclassed models: ``class M(numnet.Model)`` with layers made in ``__init__`` and ``call()``.

numnet builds such a model by *tracing*: on the first data (or ``model.build(input_shape)``)
``call`` runs once on ``Input`` tensors; the layers it calls add nodes, the ``numnet.ops``
it applies add ``OpLayer`` nodes, and the result is the model's graph, exactly as if it
had been written with the functional API. From then on it is a functional model: ``fit``,
``evaluate``, ``predict``, ``summary``, shared layers, nested models, the flat parameter
buffer and the built-in layers' hand-written backward all apply, and nothing is traced again.

What tracing means for ``call``:

* ``training`` is a placeholder while tracing: pass it on to layers
  (``self.dropout(x, training=training)``), which then follow the mode of each run. Python
  branching on it (``if training:``) cannot be traced and raises TypeError.
* Python control flow on shapes or on constructor arguments is fine (it is fixed once).
* Layers and ops only: a NumPy function applied to a symbolic tensor raises TypeError.

``compile`` before the build is remembered and applied when the model is built (as
``Sequential`` does). ``save`` writes the registered class name, ``get_config()``, the
input shape(s) and the weights; ``load_model`` calls ``from_config``, builds and sets the
weights (the class must be decorated with ``@numnet.register_layer``).
"""

from __future__ import annotations

import inspect



class _TracingFlag:
    """What ``call`` receives as ``training`` while it is traced: layers given it follow
    the mode of each run; its truth value is undefined."""

    _numnet_trace = True

    def __bool__(self):
        raise TypeError(
            "A subclassed model's call() is traced once into a graph, so it cannot branch on `training` in "
            "Python (`if training:`). Pass it on to the layers instead (self.dropout(x, training=training)): "
            "each run then uses its own mode."
        )

    def __repr__(self) -> str:
        return "<training: decided per run>"


TRACING = _TracingFlag()


def is_tracing_flag(value) -> bool:
    return value is TRACING


def defines_call(cls) -> bool:
    """Whether ``cls`` (a Model subclass) defines ``call`` itself or in a base below Model."""
    from .model import Model

    for klass in cls.__mro__:
        if klass is Model:
            return False
        if "call" in klass.__dict__:
            return True
    return False


def is_subclassed(model) -> bool:
    from .sequential import Sequential

    return not isinstance(model, Sequential) and defines_call(type(model))


def _call_takes_training(cls) -> bool:
    parameters = inspect.signature(cls.call).parameters
    return "training" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def build(model, input_shape) -> None:
    """Trace ``model.call`` on ``Input`` tensors of ``input_shape`` (a shape, or a list of
    shapes for several inputs) and make the result the model's graph."""
    from ..layers import Input

    if model._plan is not None:
        return
    several = isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple))
    shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
    inputs = [Input(shape, dtype=model.dtype) for shape in shapes]
    arg = inputs if several else inputs[0]
    if _call_takes_training(type(model)):
        outputs = model.call(arg, training=TRACING)
    else:
        outputs = model.call(arg)
    _check_outputs(model, outputs)
    model._init_graph(arg, outputs)
    model._traced_input_shape = [list(s) for s in shapes] if several else list(shapes[0])
    deferred = model.__dict__.pop("_deferred_compile", None)
    if deferred is not None:
        model.compile(**deferred)


def _check_outputs(model, outputs) -> None:
    from ..graph import SymbolicTensor, is_symbolic

    if not is_symbolic(outputs):
        kind = type(outputs).__name__
        raise TypeError(
            f"call() of model {model.name!r} ({type(model).__name__}) returned a {kind} when traced on Input "
            "tensors; it must return what layers and numnet.ops return (a tensor, or a list / dict of them)."
            + (" A NumPy function cannot be applied to a traced tensor; use numnet.ops." if not
               isinstance(outputs, SymbolicTensor) else "")
        )


def defer_compile(model, arguments: dict) -> None:
    """``compile`` before the build: check the names now, compile when built."""
    from ..training.compile import precheck

    precheck(arguments["optimizer"], arguments["loss"], arguments["metrics"])
    model.__dict__["_deferred_compile"] = arguments
    model.compiled = True


# --- saving -----------------------------------------------------------------------------------------
def record(model, arrays: dict) -> dict:
    """The ``meta["model"]`` record of a subclassed model: class, config, input shape, weights."""
    from .. import saving

    if model._plan is None:
        raise RuntimeError(f"Cannot save model {model.name!r} before it is built: fit it, call it on data, or "
                           "call model.build(input_shape) first.")
    class_name = saving._registered_name(model)
    config = saving._check_jsonable(model.get_config(), f"model {model.name!r} (get_config() of {class_name})")
    return {
        "kind": "subclassed",
        "class_name": class_name,
        "config": config,
        "name": model.name,
        "dtype": model.dtype.name,
        "trainable": bool(model.trainable),
        "input_shape": model._traced_input_shape,
        "rng": saving._rng_state(model.rng),
        "layers": [{"name": path, "weights": saving._layer_weight_entries(leaf, arrays),
                    "rng": saving._rng_state(getattr(leaf, "_rng", None))} for path, leaf in model.leaf_layers()],
    }


def rebuild(archive, meta: dict, classes: dict):
    """A subclassed model from its record: ``from_config``, ``build``, then the weights."""
    from .. import saving
    from .model import Model, check_dtype

    where = archive.where
    class_name = saving._field(meta, "class_name", str, f"{where}: model")
    cls = classes.get(class_name)
    saving._require(cls is not None and isinstance(cls, type) and issubclass(cls, Model) and defines_call(cls),
                    f"{where}: model class {class_name[:80]!r} is not a registered subclassed model. Import the module "
                    "that defines it (decorated with @numnet.register_layer) before loading.")
    config = saving._field(meta, "config", dict, f"{where}: model")
    try:
        model = cls.from_config(dict(config))
    except Exception as exc:
        raise saving.ModelFileError(f"{where}: {class_name} cannot be rebuilt from its config: {exc}") from exc
    try:
        model.dtype = check_dtype(saving._field(meta, "dtype", str, f"{where}: model"))
    except ValueError as exc:
        raise saving.ModelFileError(f"{where}: {exc}") from exc
    shape = saving._field(meta, "input_shape", list, f"{where}: model")
    saving._require(all(isinstance(s, int) and 0 < s < 2**31 or isinstance(s, list) for s in shape),
                    f"{where}: invalid input shape {shape!r:.80}.")
    build(model, shape)
    model.rng = saving._rng_from_state(meta.get("rng"), f"{where}: model")
    records = saving._field(meta, "layers", list, where)
    leaves = model.leaf_layers()
    saving._require(len(records) == len(leaves),
                    f"{where} holds weights for {len(records)} layers; the rebuilt {class_name} has {len(leaves)}.")
    updates = []
    for (path, leaf), rec in zip(leaves, records):
        if rec.get("rng") is not None:  # a dropout layer's generator: training continues identically
            leaf._rng = saving._rng_from_state(rec["rng"], f"{where}: layer {path!r}")
        entries = saving._field(rec, "weights", list, where)
        stores = [(leaf.params, k) for k in leaf.params] + [(leaf.buffers, k) for k in leaf.buffers]
        saving._require(len(entries) == len(stores),
                        f"{where}: layer {path!r} has {len(stores)} weights; the file holds {len(entries)}.")
        for (store, key), entry in zip(stores, entries):
            name = saving._field(entry, "name", str, f"{where}: layer {path!r}")
            array_name = saving._field(entry, "array", str, f"{where}: layer {path!r}")
            saved_shape, _ = archive.header(array_name, f"layer {path!r} weight {name!r}")
            saving._require(name == key and saved_shape == store[key].shape,
                            f"{where}: layer {path!r} weight {key!r} {store[key].shape} does not match the file's "
                            f"{name!r} {saved_shape}.")
            updates.append((store, key, archive.array(array_name, f"layer {path!r}")))
    for store, key, value in updates:
        store[key][...] = value
    _restore_names(model, leaves, records)
    trainable = meta.get("trainable", True)
    if trainable is False:
        model.trainable = False
    return model


def _restore_names(model, leaves, records) -> None:
    """Give the rebuilt layers their saved names (the optimizer state is keyed by them; a
    fresh process numbers default names differently)."""
    from .model import _output_names
    from .. import saving

    saved = [rec.get("name") for rec in records]
    for (path, leaf), name in zip(leaves, saved):
        if "/" not in path and isinstance(name, str) and name and "/" not in name:
            leaf.name = name
    names = [layer.name for layer in model.layers]
    saving._require(len(set(names)) == len(names), f"the saved layer names {saved!r:.120} are not unique.")
    if model._outputs_kind != "dict":
        model.output_names = _output_names(model.outputs)
    model._flat = None
