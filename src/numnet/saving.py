"""Saving and loading models: one ``.npz`` file, arrays only, no pickle.

``model.save(path)`` writes a NumPy ``savez`` archive (uncompressed zip) holding

* ``meta``: UTF-8 JSON as a ``uint8`` array: the format version, the architecture (every
  layer's registered class name, ``get_config()`` and inbound layer names; the model's
  inputs, output, kind, dtype, name), the random generators' states, the compile settings
  (loss, metrics, optimizer class, config, iterations) and the names of the arrays below;
* ``w0, w1, ...``: every layer's parameters and buffers;
* ``o0, o1, ...``: the optimizer's per-parameter state (workspace slots, whose names start
  with ``_``, are not saved).

``load_model(path)`` reads the container with ``_npz_reader.NpzReader`` (regular files only;
stored entries inside the file, none overlapping another; arrays read straight into place,
CRC-checked; never unpickling) and the metadata with ``json`` once a bound of its parsing
cost passes; layer classes come only from numnet's own layers and those registered with
``@register_layer``, never from importing a name. Every weight's shape is checked against
the architecture *before* anything is allocated for it. Whatever is wrong with a file
(truncated, corrupted, another version, hostile) raises ``ModelFileError``.

Saving is atomic (``_atomic.atomic_write``): the archive is written to a temporary file in
the target's directory and then renamed over the target, so an interrupted save leaves the
previous file intact; the file gets the umask's permissions or those of the file it
replaces. See docs/reliability.md for the exact guarantees.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re

import numpy as np

from . import _atomic, _npz_reader
from . import custom_objects as _custom_objects
from .custom_objects import register_serializable

FORMAT = "numnet-model"
WEIGHTS_FORMAT = "numnet-weights"
# 2: the graph of nodes (shared layers, nested models, several outputs); 1: one inbound
# list per layer. Both load.
FORMAT_VERSION = 2

# Archive members numnet writes; anything else in a file is rejected.
_MEMBER = re.compile(r"^(meta|[wo][0-9]{1,7})\.npy$")
_ARRAY_DTYPES = ("float32", "float64", "int64")
_WEIGHT_DTYPES = frozenset(np.dtype(n).newbyteorder(o) for n in _ARRAY_DTYPES for o in "<>")
_META_DTYPES = frozenset([np.dtype(np.uint8)])
_MAX_META_BYTES = 64 * 2**20
# The most memory parsing the metadata may take, as bounded by _meta_cost: genuine metadata
# costs about 16x its size by that bound (5-6x in fact), so this admits metadata of about
# 30 MiB (some 50,000 layers); hostile JSON (millions of empty objects) costs up to 35x its
# size and is refused before it is parsed.
_MAX_META_COST = 512 * 2**20


class ModelFileError(ValueError):
    """A model or weights file that numnet cannot read: says what is wrong with it."""


def _describe(exc: BaseException) -> str:
    """``exc`` in words for a ModelFileError: never empty, without numpy's advice to
    unpickle (numnet never does)."""
    text = str(exc).split(" If you trust the file", 1)[0].strip()
    if isinstance(exc, MemoryError):
        return "not enough memory" + (f" ({text})" if text else "")
    return f"{type(exc).__name__}: {text}" if text else f"{type(exc).__name__} (no details)"


def _reason(exc: BaseException) -> str:
    """``exc``'s own message, or ``_describe(exc)`` when it has none."""
    text = str(exc).split(" If you trust the file", 1)[0].strip()
    return text if text and not isinstance(exc, MemoryError) else _describe(exc)


# Python objects json.loads may build per byte of these characters, at most (measured on
# CPython: an empty dict costs 64 bytes and one of a few keys 184, a list 56 plus 8 per
# item, a float 24, a small int 28, a string 49 plus its length).
_JSON_COSTS = {ord("{"): 200, ord("["): 96, ord(","): 48, ord(":"): 64, ord('"'): 32}


def _meta_cost(raw: np.ndarray) -> int:
    """An upper bound, in bytes, of the memory parsing the ASCII JSON ``raw`` (uint8) takes:
    the raw bytes, their decoded text and the parsed strings (3 bytes per byte) plus the
    containers and values each structural character may start. Counted 256 KiB at a time."""
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, raw.size, 2**18):
        counts += np.bincount(raw[start : start + 2**18], minlength=256)
    if counts[128:].any():
        return -1
    return 3 * raw.size + sum(cost * int(counts[char]) for char, cost in _JSON_COSTS.items())


def _check_meta_cost(raw: np.ndarray, where: str) -> None:
    cost = _meta_cost(raw)
    _require(cost >= 0, f"{where}: the metadata is not valid JSON: it holds non-ASCII bytes (numnet writes ASCII JSON).")
    _require(cost <= _MAX_META_COST,
             f"{where}: the metadata ({raw.size} bytes) could take up to {cost} bytes of memory to parse, more "
             f"than the {_MAX_META_COST} allowed; genuine numnet metadata is rarely over a few MB.")


# --- the layer registry ------------------------------------------------------------------
_CUSTOM_LAYERS: dict[str, type] = {}


def _builtin_layers() -> dict[str, type]:
    from . import layers
    from .layers.layer import Layer

    found = {}
    for name in layers.__all__:
        cls = getattr(layers, name)
        if isinstance(cls, type) and issubclass(cls, Layer) and cls is not Layer:
            found[cls.__name__] = cls
    return found


def _layer_classes() -> dict[str, type]:
    return {**_builtin_layers(), **_CUSTOM_LAYERS}


def register_layer(cls=None, *, name: str | None = None):
    """Register a custom layer class so that models using it can be saved and loaded.

    Use as ``@numnet.register_layer``, ``@numnet.register_layer(name="MyBlock")`` or
    ``@numnet.register_layer("MyBlock")``. The class must implement ``get_config()``
    returning its constructor arguments (JSON values) and, if they need converting back,
    ``from_config``. The name defaults to the class name; it is what the file records.
    """
    if isinstance(cls, str) and name is None:
        cls, name = None, cls

    def decorate(layer_cls):
        from .layers.layer import Layer

        if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
            raise TypeError(f"register_layer expects a subclass of numnet.Layer, got {layer_cls!r}.")
        key = name if name is not None else layer_cls.__name__
        if not isinstance(key, str) or not key:
            raise ValueError(f"register_layer: the name must be a non-empty string, got {key!r}.")
        builtin = _builtin_layers().get(key)
        if builtin is not None and builtin is not layer_cls:
            raise ValueError(
                f"register_layer: {key!r} is the name of numnet's own layer; register {layer_cls.__name__} "
                "under another name, e.g. @register_layer(name='My' + ...)."
            )
        existing = _CUSTOM_LAYERS.get(key)
        if existing is not None and existing is not layer_cls and existing.__qualname__ != layer_cls.__qualname__:
            raise ValueError(f"register_layer: the name {key!r} is already taken by {existing!r}.")
        for other, registered in list(_CUSTOM_LAYERS.items()):
            if registered is layer_cls and other != key:
                del _CUSTOM_LAYERS[other]
        _CUSTOM_LAYERS[key] = layer_cls
        return layer_cls

    return decorate if cls is None else decorate(cls)


def _registered_name(layer) -> str:
    cls = type(layer)
    for key, registered in _layer_classes().items():
        if registered is cls:
            return key
    raise ValueError(
        f"Cannot save layer {layer.name!r}: its class {cls.__qualname__} is not registered. Decorate the class "
        "with @numnet.register_layer and give it get_config() returning its constructor arguments."
    )


# --- JSON helpers ------------------------------------------------------------------------
def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 10_000:
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _to_json_bytes(meta: dict) -> bytes:
    return json.dumps(meta, default=_json_default, separators=(",", ":")).encode("utf-8")


def _check_jsonable(value, what: str):
    """``value`` as plain JSON values, or a ValueError naming ``what``."""
    try:
        return json.loads(json.dumps(value, default=_json_default))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Cannot save {what}: it is not JSON-serialisable ({exc}).") from exc


def _rng_state(rng) -> dict | None:
    if rng is None:
        return None

    def plain(value):
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, np.ndarray):
            return {"__array__": value.tolist(), "dtype": value.dtype.name}
        if isinstance(value, np.generic):
            return value.item()
        return value

    return plain(rng.bit_generator.state)


_BIT_GENERATORS = {
    "PCG64": np.random.PCG64,
    "PCG64DXSM": np.random.PCG64DXSM,
    "MT19937": np.random.MT19937,
    "Philox": np.random.Philox,
    "SFC64": np.random.SFC64,
}


def _rng_from_state(state, what: str) -> np.random.Generator:
    def restore(value):
        if isinstance(value, dict):
            if set(value) == {"__array__", "dtype"}:
                if value["dtype"] not in ("uint32", "uint64") or not isinstance(value["__array__"], list):
                    raise ModelFileError(f"{what}: bad array in the random generator state.")
                if len(value["__array__"]) > 1000:
                    raise ModelFileError(f"{what}: the random generator state is too large.")
                return np.asarray(value["__array__"], dtype=value["dtype"])
            return {k: restore(v) for k, v in value.items()}
        return value

    _require(isinstance(state, dict), f"{what}: the random generator state must be an object.")
    name = state.get("bit_generator")
    _require(name in _BIT_GENERATORS, f"{what}: unknown random bit generator {name!r}.")
    bit_generator = _BIT_GENERATORS[name]()
    try:
        bit_generator.state = restore(state)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ModelFileError(f"{what}: invalid random generator state ({_reason(exc)}).") from exc
    return np.random.Generator(bit_generator)


def _require(condition, message: str) -> None:
    if not condition:
        raise ModelFileError(message)


def _field(obj, key, kind, what: str):
    _require(isinstance(obj, dict), f"{what} must be a JSON object, got {type(obj).__name__}.")
    _require(key in obj, f"{what} lacks the field {key!r}.")
    value = obj[key]
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    _require(ok, f"{what}: field {key!r} must be {getattr(kind, '__name__', kind)}, got {value!r:.80}.")
    return value


# --- writing -----------------------------------------------------------------------------
def _write_archive(fileobj, arrays: dict) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` into the open binary file."""
    np.savez(fileobj, **arrays)


def _atomic_write(path, arrays: dict) -> None:
    """Write the archive to a temporary file next to ``path`` and rename it over ``path``
    (see ``_atomic.atomic_write``: umask or the replaced file's mode, orphan clean-up)."""
    _atomic.atomic_write(path, lambda f: _write_archive(f, arrays))


def _layer_weight_entries(layer, arrays: dict) -> list:
    entries = []
    for trainable, store in ((True, layer.params), (False, layer.buffers)):
        for key, value in store.items():
            name = f"w{len(arrays)}"
            arrays[name] = value if value.flags.c_contiguous else value.copy()
            entries.append({"name": key, "trainable": trainable, "array": name})
    return entries


def _model_kind(model) -> str:
    from .models import Model, Sequential

    if isinstance(model, Sequential):
        if not model.built:
            raise RuntimeError(
                "Cannot save a Sequential model whose input shape is unknown: start it with numnet.Input(shape), "
                "call model.build(input_shape), or train it first."
            )
        return "sequential"
    if isinstance(model, Model):
        return "functional"
    raise TypeError(f"save expects a numnet Model, got {model!r}.")


def _layer_record(layer, arrays, with_weights: bool, saved: set) -> dict:
    if getattr(layer, "_is_model", False):
        return {"class_name": "Sequential" if _model_kind(layer) == "sequential" else "Functional",
                "config": {"name": layer.name, "trainable": bool(layer.trainable)},
                "model": _model_record(layer, arrays, saved, with_weights)}
    if id(layer) in saved:
        raise ValueError(
            f"Cannot save layer {layer.name!r}: it is used both inside a nested model and outside it (or in two "
            "nested models). Save the weights (save_weights) instead, or give each place its own layer."
        )
    saved.add(id(layer))
    class_name = _registered_name(layer)
    config = _check_jsonable(layer.get_config(), f"layer {layer.name!r} (get_config() of {class_name})")
    try:
        type(layer).from_config(json.loads(json.dumps(config)))
    except Exception as exc:
        raise ValueError(
            f"Cannot save layer {layer.name!r}: {type(layer).__name__}.from_config(get_config()) fails ({exc}). "
            "Make get_config() return every constructor argument."
        ) from exc
    if not with_weights:  # a config (model.get_config()): the architecture alone
        return {"class_name": class_name, "config": config}
    return {
        "class_name": class_name,
        "config": config,
        "weights": _layer_weight_entries(layer, arrays),
        "rng": _rng_state(getattr(layer, "_rng", None)),
    }


def _model_record(model, arrays, saved: set, with_weights: bool = True) -> dict:
    """The architecture of ``model``: every layer once (a nested model with its own record),
    and, for a functional model, every call (node) in execution order: which layer, which
    tensors it reads (``[node number, output number]``), whether it took a list, its fixed
    training mode. Without ``with_weights`` (``model.get_config()``) it names no arrays and
    no random-generator state: the architecture alone."""
    kind = _model_kind(model)
    input_layers = [t.node.layer for t in model.inputs]
    record = {
        "kind": kind,
        "name": model.name,
        "dtype": model.dtype.name,
        "rng": _rng_state(model.rng),
        "trainable": bool(model.trainable),
        "layers": [_layer_record(layer, arrays, with_weights, saved) for layer in [*input_layers, *model.layers]],
    }
    if not with_weights:
        del record["rng"]
    if kind == "sequential":
        return record
    nodes = [t.node for t in model.inputs] + list(model._plan.nodes)
    position = {id(node): i for i, node in enumerate(nodes)}

    def ref(tensor):
        return [position[id(tensor.node)], tensor.index]

    record["nodes"] = [
        {"layer": node.layer.name, "inputs": [ref(t) for t in node.inputs], "as_list": bool(node.as_list),
         "training": node.training}
        for node in nodes
    ]
    record["inputs"] = [ref(t) for t in model.inputs]
    record["outputs"] = [ref(t) for t in model.outputs]
    record["input_names"] = list(model.input_names)
    record["output_names"] = list(model.output_names)
    record["inputs_kind"] = model._inputs_kind
    record["outputs_kind"] = model._outputs_kind
    return record


def _metric_record(metric) -> dict:
    from . import metrics as metrics_module

    cls = type(metric)
    if getattr(metric, "is_function_metric", False):  # metrics=[fn]: saved by the function's name
        return {"class_name": "function", "name": _custom_objects.name_of(metric.fn, f"the metric {metric.name!r}")}
    known = {c.__name__: c for c in metrics_module._REGISTRY.values()}
    if known.get(cls.__name__) is not cls:  # the user's Metric subclass: its name and get_config()
        config = metric.get_config() if hasattr(metric, "get_config") else {"name": metric.name}
        return {"class_name": "custom", "name": _custom_objects.name_of(cls, f"the metric {metric.name!r}"),
                "config": _check_jsonable(config, f"metric {metric.name!r}")}
    parameters = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    config = {p: getattr(metric, p) for p in parameters if hasattr(metric, p)}
    return {"class_name": cls.__name__, "config": _check_jsonable(config, f"metric {metric.name!r}")}


def _loss_record(loss) -> dict:
    from . import losses
    from .training.custom_loss import FunctionLoss

    if isinstance(loss, FunctionLoss):  # compile(loss=fn): saved by the function's name
        return {"class_name": "function", "name": _custom_objects.name_of(loss.fn, f"the loss {loss.name!r}")}
    if getattr(loss, "is_custom", False):  # a Loss subclass with call(): its name and get_config()
        return {"class_name": "custom", "name": _custom_objects.name_of(type(loss), f"the loss {loss.name!r}"),
                "config": _check_jsonable(loss.get_config(), f"the loss {loss.name!r}")}
    return {"class_name": losses.serialize(loss)["class_name"],
            "config": _check_jsonable(loss.get_config(), f"the loss {loss.name!r}")}


def _built(what: str, make):
    """``make()``, a constructor given values from the file: its ValueError / TypeError (a
    value it refuses) becomes a ModelFileError naming ``what``."""
    try:
        return make()
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{what}: {exc}") from None


def _optimizer_record(optimizer, model, arrays) -> dict:
    from . import optimizers, schedules

    cls = type(optimizer)
    known = {c.__name__: c for c in optimizers._REGISTRY.values()}
    if known.get(cls.__name__) is not cls:
        raise ValueError(
            f"Cannot save the optimizer {cls.__qualname__}: only numnet's optimizers "
            f"({', '.join(sorted(known))}) can be saved. Use save_weights instead."
        )
    config = dict(optimizer.get_config())
    lr = config.get("learning_rate")
    if callable(lr):
        if not isinstance(lr, schedules.LearningRateSchedule):
            raise ValueError(
                "Cannot save an optimizer whose learning_rate is a plain function: use a schedule from "
                "numnet.schedules (ExponentialDecay, StepDecay, CosineDecay, ...), which saves with the model."
            )
        config["learning_rate"] = schedules.serialize(lr)
    config = _check_jsonable(config, f"the optimizer {cls.__name__}")
    state = []
    for key, slots in optimizer.state.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            continue
        saved = {}
        for slot, value in slots.items():
            if slot.startswith("_"):
                continue  # workspace, rebuilt on load
            name = f"o{len(arrays)}"
            arrays[name] = np.array(value)  # a copy: the state may be a view into a flat buffer
            saved[slot] = name
        state.append({"layer": key[0], "param": key[1], "slots": saved})
    return {"class_name": cls.__name__, "config": config, "iterations": int(optimizer.iterations), "state": state}


def save_model(model, path) -> None:
    """Write ``model`` (architecture, weights, optimizer state, compile settings) to ``path``."""
    _model_kind(model)
    arrays: dict[str, np.ndarray] = {}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "numnet_version": _version(),
        "model": _model_or_subclassed_record(model, arrays),
        "compile": None,
    }
    compiled = getattr(model, "_compiled", None)
    if getattr(model, "compiled", False) and compiled is not None:
        meta["compile"] = {
            "losses": [None if o.loss is None else _loss_record(o.loss) for o in compiled.outputs],
            "loss_weights": [o.weight for o in compiled.outputs],
            "metrics": [[_metric_record(m) for m in o.metrics] for o in compiled.outputs],
            "weighted_metrics": [[_metric_record(m) for m in o.weighted_metrics] for o in compiled.outputs],
            "optimizer": _optimizer_record(model.optimizer, model, arrays),
        }
    arrays["meta"] = np.frombuffer(_to_json_bytes(meta), dtype=np.uint8)
    _atomic_write(path, arrays)


def _model_or_subclassed_record(model, arrays) -> dict:
    from .models import subclassed

    if subclassed.is_subclassed(model):
        return subclassed.record(model, arrays)
    return _model_record(model, arrays, set())


def save_weights(model, path) -> None:
    """Write only the weights (parameters and buffers) of every layer, in layer order
    (layers inside nested models by their path, ``"encoder/dense"``)."""
    _model_kind(model)
    arrays: dict[str, np.ndarray] = {}
    records = [
        {"name": path_, "class_name": type(layer).__name__, "weights": _layer_weight_entries(layer, arrays)}
        for path_, layer in model.leaf_layers()
    ]
    meta = {"format": WEIGHTS_FORMAT, "format_version": FORMAT_VERSION, "numnet_version": _version(),
            "layers": records}
    arrays["meta"] = np.frombuffer(_to_json_bytes(meta), dtype=np.uint8)
    _atomic_write(path, arrays)


def _version() -> str:
    from . import __version__

    return __version__


# --- reading -----------------------------------------------------------------------------
class _Archive:
    """The checked contents of a file: ``meta`` (parsed JSON) and arrays read on demand.

    The container is checked by ``_npz_reader.NpzReader`` (regular file, stored entries inside
    the file, none overlapping another, CRC-32 per array) before anything but its directory
    is read; every ``.npy`` header is then checked against its entry's size, so the arrays
    a file can make numnet allocate add up to at most its size, and each is read straight
    from the file into the array that keeps it.
    """

    def __init__(self, path, expected_format: str) -> None:
        self.path = os.fspath(path)
        self.where = f"{self.path}"
        try:
            self.reader = _npz_reader.NpzReader(self.path)
        except _npz_reader.ArchiveError as exc:
            raise ModelFileError(f"{self.where} is not a numnet file: {exc}") from exc
        try:
            self._check_entries(expected_format)
        except BaseException:
            self.reader.close()
            raise

    def close(self) -> None:
        self.reader.close()

    def _check_entries(self, expected_format: str) -> None:
        self.headers, self._entries, self._layouts = {}, {}, {}
        for name, entry in self.reader.entries.items():
            _require(
                _MEMBER.match(name) is not None,
                f"{self.where}: unexpected entry {name[:100]!r} in the archive; numnet files hold only "
                "'meta', 'w<n>' and 'o<n>' arrays.",
            )
            key = name[:-4]
            self._entries[key] = entry
            self.headers[key] = self._read_header(key, entry)
        _require("meta" in self.headers, f"{self.where} is not a numnet file: it has no 'meta' entry.")
        self.meta = self._read_meta()
        _require(isinstance(self.meta, dict), f"{self.where}: the metadata must be a JSON object.")
        fmt = self.meta.get("format")
        if fmt != expected_format:
            hint = ""
            if fmt == WEIGHTS_FORMAT:
                hint = " It holds weights only: build the model and call model.load_weights(path)."
            elif fmt == FORMAT:
                hint = " It is a whole model: use numnet.load_model(path)."
            raise ModelFileError(f"{self.where} is not a {expected_format} file (format {fmt!r:.60}).{hint}")
        version = self.meta.get("format_version")
        _require(isinstance(version, int) and not isinstance(version, bool),
                 f"{self.where}: the format version must be an integer, got {version!r:.60}.")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"{self.where} was written in format version {version} (by numnet "
                f"{str(self.meta.get('numnet_version'))[:20]}); this numnet ({_version()}) reads version "
                f"{FORMAT_VERSION} and older. Upgrade numnet."
            )
        _require(version >= 1, f"{self.where}: invalid format version {version}.")
        self.used: set[str] = set()

    def _read_header(self, key, entry):
        """``(shape, dtype)`` of an entry's ``.npy`` header, checked against the entry's size;
        what reading the array needs is kept in ``_layouts``."""
        try:
            header_size, shape, fortran, dtype = self.reader.npy_header(entry)
        except _npz_reader.ArchiveError as exc:
            raise ModelFileError(f"{self.where}: entry {key!r} is not a valid array: {exc}") from exc
        # Plain ifs, not _require: its message would be formatted for each of many entries.
        if dtype not in (_META_DTYPES if key == "meta" else _WEIGHT_DTYPES):
            allowed = ("uint8",) if key == "meta" else _ARRAY_DTYPES
            raise ModelFileError(f"{self.where}: entry {key!r} has dtype {dtype}; expected one of {allowed}.")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes != entry.size - header_size:
            raise ModelFileError(f"{self.where}: entry {key!r} claims shape {shape} ({nbytes} bytes) but holds "
                                 f"{entry.size - header_size} bytes.")
        if key == "meta":
            _require(len(shape) == 1 and nbytes <= _MAX_META_BYTES,
                     f"{self.where}: the metadata entry has shape {shape}; expected a 1-D byte array of at most "
                     f"{_MAX_META_BYTES} bytes.")
        self._layouts[key] = (header_size, fortran)
        return shape, dtype

    def _read(self, key, out=None) -> np.ndarray:
        """The array of entry ``key``, read from the file into a new array or ``out``
        (CRC-checked)."""
        entry = self._entries[key]
        (header_size, fortran), (shape, dtype) = self._layouts[key], self.headers[key]
        usable = (out is not None and not fortran and out.shape == shape and out.dtype == dtype
                  and out.flags.c_contiguous and out.flags.writeable)
        if not usable:
            out = np.empty(shape[::-1] if fortran else shape, dtype=dtype)
        try:
            self.reader.read_into(entry, header_size, out, self.reader.prefix(entry, header_size))
        except _npz_reader.ArchiveError as exc:
            raise ModelFileError(f"{self.where}: {exc}") from exc
        return out.T if fortran else out

    def _read_meta(self):
        raw = self._read("meta")
        _check_meta_cost(raw, self.where)
        try:
            return json.loads(raw.tobytes())
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ModelFileError(f"{self.where}: the metadata is not valid JSON: {_describe(exc)}") from exc

    def header(self, name, what: str):
        _require(isinstance(name, str) and name in self.headers and name != "meta",
                 f"{self.where}: {what} refers to array {name!r:.60}, which the archive does not hold.")
        _require(name not in self.used, f"{self.where}: array {name!r} is used twice.")
        return self.headers[name]

    def array(self, name, what: str, out: np.ndarray | None = None) -> np.ndarray:
        """The array ``name``, read from the file; into ``out`` (an array of its shape and
        dtype that the caller would otherwise discard) when given, saving an allocation."""
        self.header(name, what)
        self.used.add(name)
        value = self._read(name, out)
        return value if value.flags.c_contiguous else value.copy()  # keeps 0-d arrays 0-d


class _WeightSource:
    """Stands in for ``Layer.add_weight`` while a layer is built from a file: the weight
    comes from the archive after its name and shape are checked against the record, so a
    doctored config can never make numnet allocate more than the file holds."""

    def __init__(self, layer, entries, archive: _Archive, dtype: np.dtype) -> None:
        self.layer, self.archive, self.dtype = layer, archive, dtype
        what = f"layer {layer.name!r}"
        _require(isinstance(entries, list), f"{archive.where}: {what}: 'weights' must be a list.")
        self.entries = []
        for entry in entries:
            name = _field(entry, "name", str, f"{what} weight")
            trainable = _field(entry, "trainable", bool, f"{what} weight {name!r}")
            array = _field(entry, "array", str, f"{what} weight {name!r}")
            self.entries.append((name, trainable, array))
        self.position = 0

    def __call__(self, name, shape, initializer="zeros", trainable=True, regularizer=None, constraint=None):
        from .layers import _penalties

        layer, where = self.layer, self.archive.where
        _require(self.position < len(self.entries),
                 f"{where}: layer {layer.name!r} creates weight {name!r}, which the file does not hold.")
        saved_name, saved_trainable, array_name = self.entries[self.position]
        self.position += 1
        _require(saved_name == name and saved_trainable == bool(trainable),
                 f"{where}: layer {layer.name!r} creates weight {name!r} but the file holds {saved_name!r} there.")
        saved_shape, dtype = self.archive.header(array_name, f"layer {layer.name!r} weight {name!r}")
        expected = tuple(int(s) for s in shape)
        _require(saved_shape == expected,
                 f"{where}: layer {layer.name!r} weight {name!r} should have shape {expected} for this "
                 f"architecture, but the file holds shape {saved_shape}.")
        _require(dtype == self.dtype,
                 f"{where}: layer {layer.name!r} weight {name!r} is {dtype}, the model is {self.dtype}.")
        value = self.archive.array(array_name, f"layer {layer.name!r}")
        (layer.params if trainable else layer.buffers)[name] = value
        _penalties.attach(layer, name, regularizer, constraint)  # the constructor's, or add_weight's own
        return value

    def finish(self) -> None:
        _require(self.position == len(self.entries),
                 f"{self.archive.where}: the file holds {len(self.entries)} weights for layer {self.layer.name!r}, "
                 f"its architecture creates {self.position}.")


def _make_layer(archive: _Archive | None, record, index: int, where: str, dtype: np.dtype, classes, sources):
    """One layer from its record (weights come from the archive when it is built; with no
    archive, from ``Model.from_config``, the layer initialises its weights afresh)."""
    what = f"{where}: layer #{index}"
    _require(isinstance(record, dict), f"{what}: the record must be an object.")
    class_name = _field(record, "class_name", str, what)
    config = _field(record, "config", dict, what)
    name = config.get("name")
    _require(isinstance(name, str) and name, f"{what}: the config has no valid 'name'.")
    if class_name in ("Functional", "Sequential") and "model" in record:
        inner = _field(record, "model", dict, what)
        model = _rebuild(archive, inner, f"{where}/{name[:80]}", dtype, classes, sources)
        _require(model.name == name, f"{what}: the nested model came out named {model.name!r}, not {name!r}.")
        return model, class_name
    cls = classes.get(class_name)
    if cls is None:
        raise ModelFileError(
            f"{what} has class {class_name[:80]!r}, which is neither a numnet layer nor registered. If it "
            "is your own layer, import the module that defines it (decorated with @numnet.register_layer) "
            "before loading."
        )
    try:
        layer = cls.from_config(dict(config))
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{what} ({class_name} {name!r:.80}) cannot be rebuilt from its config: "
                             f"{_reason(exc)}") from exc
    _require(layer.name == name, f"{what}: the layer came out named {layer.name!r}, not {name!r}.")
    if archive is None:
        return layer, class_name
    source = _WeightSource(layer, record.get("weights", []), archive, dtype)
    layer.add_weight = source  # an instance attribute: shadows Layer.add_weight while building
    sources.append(source)
    rng = record.get("rng")
    if rng is not None:
        layer._rng = _rng_from_state(rng, f"{what} ({name!r})")
    return layer, class_name


def _model_header(meta: dict, where: str, need_rng: bool = True):
    from .models.model import check_dtype

    kind = _field(meta, "kind", str, f"{where}: model")
    _require(kind in ("sequential", "functional"), f"{where}: unknown model kind {kind!r:.60}.")
    try:
        dtype = check_dtype(_field(meta, "dtype", str, f"{where}: model"))
    except ValueError as exc:
        raise ModelFileError(f"{where}: {exc}") from exc
    name = _field(meta, "name", str, f"{where}: model")
    # A config (need_rng False) has no generator state: the model draws a new generator.
    rng = _rng_from_state(meta.get("rng"), f"{where}: model") if need_rng or meta.get("rng") is not None else None
    return kind, dtype, name, rng


def _rebuild(archive: _Archive | None, meta: dict, where: str, dtype, classes, sources, make_layer=None,
             call_layer=None):
    """A model from a format-2 record (nested models recursively: their depth is their
    nesting, never the number of layers). ``archive`` None: a config, weights made afresh.
    ``make_layer(archive, record, index, where, dtype, classes, sources)`` makes each layer
    (``_make_layer`` by default; ``numnet.models.clone_model`` passes its own); nodes refer
    to layers by the name in their record. ``call_layer(layer, inputs, training)`` makes each
    call of a functional model (``clone_model``'s ``call_function``; ``layer(inputs)`` by default)."""
    from .layers.core import InputLayer
    from .models import Model, Sequential

    make_layer = make_layer or _make_layer
    kind, own_dtype, name, rng = _model_header(meta, where, need_rng=archive is not None)
    records = _field(meta, "layers", list, f"{where}: model")
    unbuilt = archive is None and kind == "sequential" and not any(
        isinstance(r, dict) and r.get("class_name") == "InputLayer" for r in records[:1])
    _require(records or unbuilt, f"{where}: the model has no layers.")
    layers: dict[str, object] = {}
    ordered = []
    for index, record in enumerate(records):
        layer, class_name = make_layer(archive, record, index, where, own_dtype, classes, sources)
        key = record["config"]["name"]  # _make_layer checked it is a string
        _require(key not in layers, f"{where}: two layers are named {key!r:.80}.")
        layers[key] = layer
        ordered.append((layer, class_name))
    trainable = meta.get("trainable", True)
    _require(isinstance(trainable, bool), f"{where}: 'trainable' must be true or false.")
    if unbuilt:  # the config of a Sequential whose input shape is not known yet
        model = Sequential([l for l, _ in ordered], dtype=own_dtype, name=name, seed=rng)
    elif kind == "sequential":
        _require(isinstance(ordered[0][0], InputLayer), f"{where}: a Sequential model starts with its Input layer.")
        _require(all(not isinstance(l, InputLayer) for l, _ in ordered[1:]),
                 f"{where}: a Sequential model has one Input layer, first.")
        model = Sequential([ordered[0][0].tensor, *[l for l, _ in ordered[1:]]], dtype=own_dtype, name=name, seed=rng)
    else:
        node_records = _field(meta, "nodes", list, f"{where}: model")
        produced: list[list] = []
        calls = {}
        for position, node in enumerate(node_records):
            what = f"{where}: node #{position}"
            _require(isinstance(node, dict), f"{what} must be an object.")
            layer_name = _field(node, "layer", str, what)
            layer = layers.get(layer_name)
            _require(layer is not None, f"{what} calls {layer_name!r:.80}, which is not a layer of the model.")
            refs = _field(node, "inputs", list, what)
            as_list = _field(node, "as_list", bool, what)
            training = node.get("training")
            _require(training is None or isinstance(training, bool), f"{what}: 'training' must be null or a bool.")
            if isinstance(layer, InputLayer):
                _require(not refs and id(layer) not in calls, f"{what}: an Input layer is called once, on nothing.")
                calls[id(layer)] = True
                produced.append([layer.tensor])
                continue
            _require(refs, f"{what} ({layer_name!r}) reads no tensors; only Input layers may.")
            tensors = [_tensor_ref(produced, ref, what) for ref in refs]
            _require(as_list or len(tensors) == 1, f"{what} ({layer_name!r}) takes {len(tensors)} inputs as one.")
            arg = tensors if as_list else tensors[0]
            out = layer(arg, training=training) if call_layer is None else call_layer(layer, arg, training)
            if isinstance(out, dict):
                out = list(out.values())
            produced.append(out if isinstance(out, list) else [out])
        inputs = [_tensor_ref(produced, ref, f"{where}: model inputs") for ref in _field(meta, "inputs", list, where)]
        outputs = [_tensor_ref(produced, ref, f"{where}: model outputs")
                   for ref in _field(meta, "outputs", list, where)]
        _require(inputs and outputs, f"{where}: the model needs inputs and outputs.")
        inputs_kind = meta.get("inputs_kind", "list")
        outputs_kind = meta.get("outputs_kind", "list")
        input_names = _field(meta, "input_names", list, where)
        output_names = _field(meta, "output_names", list, where)
        _require(len(input_names) == len(inputs) and len(output_names) == len(outputs)
                 and all(isinstance(n, str) for n in input_names + output_names),
                 f"{where}: input_names / output_names do not match the inputs / outputs.")
        model = Model(_structure(inputs, input_names, inputs_kind, where),
                      _structure(outputs, output_names, outputs_kind, where), dtype=own_dtype, name=name, seed=rng)
    used = {id(l) for l in model.layers} | {id(t.node.layer) for t in model.inputs}
    _require(used >= {id(l) for l, _ in ordered},  # more only where call_layer added layers
             f"{where}: some layers of the file are not connected to the outputs.")
    model.__dict__["_trainable"] = trainable  # each layer's own flag came with its config
    if archive is not None and own_dtype != dtype and where == archive.where:
        model.cast(dtype)
    return model


def _tensor_ref(produced, ref, what):
    _require(isinstance(ref, list) and len(ref) == 2 and all(isinstance(r, int) and not isinstance(r, bool)
                                                            for r in ref),
             f"{what}: a tensor reference must be [node, output], got {ref!r:.60}.")
    node, index = ref
    _require(0 <= node < len(produced) and 0 <= index < len(produced[node]),
             f"{what} refers to output {index} of node {node}, which is not an earlier call.")
    return produced[node][index]


def _structure(tensors, names, kind, where):
    _require(kind in ("single", "list", "dict"), f"{where}: unknown structure {kind!r:.20}.")
    if kind == "single":
        _require(len(tensors) == 1, f"{where}: a single input or output must be one tensor.")
        return tensors[0]
    if kind == "dict":
        return dict(zip(names, tensors))
    return list(tensors)


def _rebuild_v1(archive: _Archive, meta: dict, classes, sources):
    """A model from a format-1 record: every layer once, with the names of its inbound
    layers (graphs without sharing, one output)."""
    from .layers.core import InputLayer
    from .models import Model, Sequential

    where = archive.where
    kind, dtype, name, rng = _model_header(meta, where)
    input_names = _field(meta, "inputs", list, f"{where}: model")
    output_name = _field(meta, "output", str, f"{where}: model")
    records = _field(meta, "layers", list, f"{where}: model")
    _require(records, f"{where}: the model has no layers.")
    built: dict[str, object] = {}
    tensors: dict[str, object] = {}
    order = []
    for index, record in enumerate(records):
        what = f"{where}: layer #{index}"
        record = dict(record) if isinstance(record, dict) else record
        _require(isinstance(record, dict), f"{what}: the record must be an object.")
        if record.get("class_name") == "Input":
            record["class_name"] = "InputLayer"
        layer, class_name = _make_layer(archive, record, index, where, dtype, classes, sources)
        _require(layer.name not in built, f"{where}: two layers are named {layer.name!r:.80}.")
        inbound = _field(record, "inbound", list, what)
        merges = _field(record, "merges_inputs", bool, what)
        parents = []
        for parent in inbound:
            _require(isinstance(parent, str) and parent in tensors,
                     f"{what} ({layer.name!r}) takes input from {parent!r:.80}, which is not an earlier layer.")
            parents.append(tensors[parent])
        _require(bool(parents) != isinstance(layer, InputLayer),
                 f"{what} ({layer.name!r}): only Input layers may have no inbound layers.")
        if isinstance(layer, InputLayer):
            tensors[layer.name] = layer.tensor
        else:
            _require(merges or len(parents) == 1,
                     f"{where}: layer {layer.name!r} takes {len(parents)} inputs but does not merge them.")
            if kind == "functional":
                tensors[layer.name] = layer(parents if merges else parents[0])
            else:
                tensors[layer.name] = None
        built[layer.name] = layer
        order.append((layer, inbound))
    inputs = []
    for input_name in input_names:
        _require(isinstance(input_name, str) and isinstance(built.get(input_name), InputLayer),
                 f"{where}: model input {input_name!r:.80} is not an Input layer of the file.")
        inputs.append(built[input_name].tensor)
    _require(inputs, f"{where}: the model has no inputs.")
    _require(output_name in built, f"{where}: the model output {output_name!r:.80} is not a layer of the file.")
    if kind == "sequential":
        _require(len(inputs) == 1 and order[0][0] is built[input_names[0]],
                 f"{where}: a Sequential model starts with its one Input layer.")
        for position, (layer, inbound) in enumerate(order[1:], start=1):
            _require(inbound == [order[position - 1][0].name],
                     f"{where}: layer {layer.name!r} of a Sequential model must follow the previous layer.")
        _require(order[-1][0] is built[output_name], f"{where}: a Sequential model ends with its output.")
        model = Sequential([inputs[0], *[layer for layer, _ in order[1:]]], dtype=dtype, name=name, seed=rng)
    else:
        model = Model(inputs if len(inputs) > 1 else inputs[0], tensors[output_name], dtype=dtype, name=name,
                      seed=rng)
    used = {id(l) for l in model.layers} | {id(t.node.layer) for t in model.inputs}
    _require(len(used) == len(order), f"{where}: some layers of the file are not connected to the output.")
    return model


def _rebuild_model(archive: _Archive):
    where = archive.where
    meta = _field(archive.meta, "model", dict, where)
    classes = _layer_classes()
    sources: list[_WeightSource] = []
    try:
        if archive.meta["format_version"] == 1:
            model = _rebuild_v1(archive, meta, classes, sources)
        elif meta.get("kind") == "subclassed":
            from .models import subclassed

            model = subclassed.rebuild(archive, meta, classes)
        else:
            _, dtype, _, _ = _model_header(meta, where)
            model = _rebuild(archive, meta, where, dtype, classes, sources)
    finally:
        for source in sources:
            source.layer.__dict__.pop("add_weight", None)
    for source in sources:
        source.finish()
    return model


def _custom_object(record, kind: str, where: str, found_in):
    """The user's function or class a ``{"class_name": "function" | "custom", "name"}`` record
    names, from ``custom_objects`` or the registry; a clear error when it is in neither."""
    key = _field(record, "name", str, f"{where}: {kind}")
    target = _custom_objects.lookup(key, found_in, kind)
    if target is None:
        raise ModelFileError(
            f"{where}: the {kind} {key[:80]!r} is your own {'function' if record['class_name'] == 'function' else 'class'}, "
            f"which a file holds only by name. Pass it: load_model(path, custom_objects={{{key[:80]!r}: ...}}), "
            "register it with @numnet.saving.register_serializable, or load with compile=False."
        )
    return target


def _restore_compile(archive: _Archive, model, found_in=None) -> None:
    from . import losses, metrics as metrics_module, optimizers, schedules

    where = archive.where
    settings = archive.meta.get("compile")
    if settings is None:
        return
    metric_classes = {c.__name__: c for c in metrics_module._REGISTRY.values()}

    def loss_from(record, what):
        if record is None:
            return None
        _require(isinstance(record, dict), f"{where}: {what} must be an object or null.")
        if record.get("class_name") == "function":
            return _custom_object(record, what, where, found_in)
        if record.get("class_name") == "custom":
            cls = _custom_object(record, what, where, found_in)
            config = _field(record, "config", dict, f"{where}: {what}")
            return _built(f"{where}: {what} {record['name']}", lambda: cls(**config))
        if "class_name" in record:  # {"class_name", "config"}
            return _built(f"{where}: {what}", lambda: losses.deserialize(record))
        return _built(f"{where}: {what}", lambda: losses.Loss(  # the first format: {"name", "from_logits"}
            _field(record, "name", str, f"{where}: {what}"),
            from_logits=_field(record, "from_logits", bool, f"{where}: {what}")))

    def metrics_from(records):
        _require(isinstance(records, list), f"{where}: the metrics must be a list.")
        built = []
        for record in records:
            class_name = _field(record, "class_name", str, f"{where}: metric")
            if class_name == "function":
                built.append(_custom_object(record, "metric", where, found_in))
                continue
            if class_name == "custom":
                cls = _custom_object(record, "metric", where, found_in)
                config = _field(record, "config", dict, f"{where}: metric")
                built.append(_built(f"{where}: metric {record['name']}", lambda: cls(**config)))
                continue
            _require(class_name in metric_classes, f"{where}: unknown metric class {class_name!r:.80}.")
            config = _field(record, "config", dict, f"{where}: metric")
            built.append(_built(f"{where}: metric {class_name}", lambda: metric_classes[class_name](**config)))
        return built

    if "losses" in settings:  # format 2: per output
        loss = [loss_from(r, "loss") for r in _field(settings, "losses", list, f"{where}: compile")]
        loss_weights = _field(settings, "loss_weights", list, f"{where}: compile")
        metrics = [metrics_from(m) for m in _field(settings, "metrics", list, f"{where}: compile")]
        # Files written before weighted metrics existed have none.
        weighted = [metrics_from(m) for m in _field(settings, "weighted_metrics", list, f"{where}: compile")] \
            if "weighted_metrics" in settings else [[] for _ in metrics]
        _require(len(loss) == len(loss_weights) == len(metrics) == len(weighted) == len(model.outputs),
                 f"{where}: the compile settings do not match the model's {len(model.outputs)} outputs.")
    else:
        loss = [loss_from(_field(settings, "loss", dict, f"{where}: compile"), "loss")]
        loss_weights = None
        metrics = [metrics_from(_field(settings, "metrics", list, f"{where}: compile"))]
        weighted = [[]]

    opt_meta = _field(settings, "optimizer", dict, f"{where}: compile")
    opt_classes = {c.__name__: c for c in optimizers._REGISTRY.values()}
    opt_name = _field(opt_meta, "class_name", str, f"{where}: optimizer")
    _require(opt_name in opt_classes, f"{where}: unknown optimizer {opt_name!r:.80}.")
    config = dict(_field(opt_meta, "config", dict, f"{where}: optimizer"))
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = _built(f"{where}: learning-rate schedule",
                                         lambda: schedules.deserialize(config["learning_rate"]))
    optimizer = _built(f"{where}: optimizer {opt_name}", lambda: opt_classes[opt_name](**config))
    iterations = _field(opt_meta, "iterations", int, f"{where}: optimizer")
    _require(0 <= iterations < 2**62, f"{where}: invalid optimizer iteration count {iterations}.")
    optimizer.iterations = iterations
    model.compile(optimizer=optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
                  weighted_metrics=weighted)

    layers = dict(model.leaf_layers())
    for record in _field(opt_meta, "state", list, f"{where}: optimizer"):
        layer_name = _field(record, "layer", str, f"{where}: optimizer state")
        param_name = _field(record, "param", str, f"{where}: optimizer state")
        layer = layers.get(layer_name)
        _require(layer is not None and param_name in layer.params,
                 f"{where}: optimizer state for {layer_name!r:.80}/{param_name!r:.40}, not a parameter of the model.")
        param = layer.params[param_name]
        slots = optimizer._init_state(param)
        for slot, array_name in _field(record, "slots", dict, f"{where}: optimizer state").items():
            what = f"optimizer state {layer_name!r}/{param_name!r} slot {slot!r:.40}"
            _require(not slot.startswith("_"), f"{where}: {what} is a workspace slot, never saved.")
            shape, dtype = archive.header(array_name, what)
            template = slots.get(slot)
            want = (template.shape, template.dtype) if template is not None else (param.shape, param.dtype)
            _require((shape, dtype) == want, f"{where}: {what} has shape {shape} and dtype {dtype}; expected "
                                             f"shape {want[0]} and dtype {want[1]}.")
            slots[slot] = archive.array(array_name, what, out=template)
        _built(f"{where}", lambda: optimizer.check_slots(slots, f"optimizer state {layer_name!r:.80}/{param_name!r:.40}"))
        optimizer.state[(layer_name, param_name)] = slots


def load_model(path, custom_objects=None, compile=True):
    """Rebuild a model saved with ``model.save(path)``: architecture, weights, optimizer state
    and compile settings. Predictions are bit-identical and training continues exactly.

    ``custom_objects``: ``{"name": function_or_class}`` for the losses and metrics of your own
    the model was compiled with (or register them with ``register_serializable``).
    ``compile=False``: the model without its compile settings (and optimizer state).

    Raises ``ModelFileError`` (a ``ValueError``) when the file is not a numnet model or is
    damaged; ``FileNotFoundError`` when there is no file.
    """
    found_in = _custom_objects.check_custom_objects(custom_objects)
    if not isinstance(compile, bool):
        raise TypeError(f"load_model compile must be True or False, got {compile!r:.60}.")
    archive = None
    try:
        archive = _Archive(path, FORMAT)
        model = _rebuild_model(archive)
        if compile:
            _restore_compile(archive, model, found_in)
        else:
            archive.used.update(_optimizer_arrays(archive.meta))
        unused = set(archive.headers) - archive.used - {"meta"}
        _require(not unused, f"{archive.where}: arrays {sorted(unused)[:5]} are not referenced by the metadata.")
        return model
    except (ModelFileError, FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # anything else a damaged file can provoke
        where = archive.where if archive is not None else os.fspath(path)
        raise ModelFileError(f"{where} is damaged or not a numnet model: {_describe(exc)}") from exc
    finally:
        if archive is not None:
            archive.close()


def _optimizer_arrays(meta) -> set:
    """The names of the optimizer-state arrays a file's compile settings refer to (read only
    with ``compile=True``)."""
    settings = meta.get("compile") if isinstance(meta, dict) else None
    optimizer = settings.get("optimizer") if isinstance(settings, dict) else None
    state = optimizer.get("state") if isinstance(optimizer, dict) else None
    names = set()
    for record in state if isinstance(state, list) else ():
        slots = record.get("slots") if isinstance(record, dict) else None
        names.update(v for v in (slots.values() if isinstance(slots, dict) else ()) if isinstance(v, str))
    return names


def load_weights(model, path) -> None:
    """Set the weights of ``model``'s layers (in layer order) from ``save_weights``'s file.

    The file must hold weights for exactly the model's layers, with the same shapes; a
    mismatch raises ``ModelFileError`` naming the layer, and leaves the model unchanged.
    """
    _model_kind(model)
    archive = None
    try:
        archive = _Archive(path, WEIGHTS_FORMAT)
        where = archive.where
        records = _field(archive.meta, "layers", list, where)
        leaves = [layer for _, layer in model.leaf_layers()]
        _require(len(records) == len(leaves),
                 f"{where} holds weights for {len(records)} layers; model {model.name!r} has {len(leaves)}.")
        updates = []
        for layer, record in zip(leaves, records):
            saved_name = _field(record, "name", str, f"{where}: layer")
            source = _WeightSource(layer, _field(record, "weights", list, where), archive, model.dtype)
            stores = [(layer.params, k) for k in layer.params] + [(layer.buffers, k) for k in layer.buffers]
            _require(len(source.entries) == len(stores),
                     f"{where}: layer {saved_name!r} in the file has {len(source.entries)} weights; model layer "
                     f"{layer.name!r} ({type(layer).__name__}) has {len(stores)}.")
            for (store, key), (name, trainable, array_name) in zip(stores, source.entries):
                shape, _ = archive.header(array_name, f"layer {saved_name!r}")
                _require(name == key and shape == store[key].shape,
                         f"{where}: layer {saved_name!r} weight {name!r} has shape {shape}; model layer "
                         f"{layer.name!r} weight {key!r} has shape {store[key].shape}.")
                updates.append((store, key, archive.array(array_name, f"layer {saved_name!r}")))
        for store, key, value in updates:
            store[key][...] = value
    except (ModelFileError, FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:
        where = archive.where if archive is not None else os.fspath(path)
        raise ModelFileError(f"{where} is damaged or not a numnet weights file: {_describe(exc)}") from exc
    finally:
        if archive is not None:
            archive.close()
