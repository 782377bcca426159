"""The constructor side of regularizers and constraints: Keras's ``kernel_regularizer=``,
``bias_constraint=``, ``activity_regularizer=`` ... on a layer, and ``add_weight(regularizer=,
constraint=)``.

A layer class declares which arguments it takes in ``weight_groups``: a dict from the
argument prefix to the weight names it covers (Dense: ``{"kernel": ("kernel",), "bias":
("bias",)}``; LSTM adds ``"recurrent": ("recurrent_kernel",)``; MultiHeadAttention's
``"kernel"`` covers its four kernels). ``layer.regularizers`` / ``layer.constraints`` then
map each weight name to its object, filled by ``add_weight`` (so a call layer's own
``add_weight(regularizer=...)`` lands in the same place).

What a training step does with them is in ``numnet.training.penalty``.
"""

from __future__ import annotations

from .. import constraints as _constraints
from .. import regularizers as _regularizers

_KINDS = ("regularizer", "constraint")


class _State:
    """``any_used``: whether any layer in this process was given a regularizer or a
    constraint; until then a step or an evaluation does not even look for them."""

    any_used = False


state = _State()


def parse(layer, activity_regularizer, options: dict) -> None:
    """Validate the regularizer / constraint arguments of ``layer``'s constructor and keep them."""
    groups = type(layer).weight_groups
    owner = type(layer).__name__
    layer.activity_regularizer = _get(_regularizers, activity_regularizer, "activity_regularizer", owner)
    kept = {}
    for key, value in options.items():
        prefix, _, kind = key.rpartition("_")
        if kind not in _KINDS or prefix not in groups:
            accepted = sorted(f"{p}_{k}" for p in groups for k in _KINDS)
            raise TypeError(f"{owner}() got an unexpected keyword argument {key!r}"
                            + (f" (its weight arguments are {accepted})." if accepted else "."))
        module = _regularizers if kind == "regularizer" else _constraints
        kept[key] = _get(module, value, key, owner)
    layer._weight_options = {k: v for k, v in kept.items() if v is not None}
    if layer._weight_options or layer.activity_regularizer is not None:
        state.any_used = True
    layer.regularizers = {}
    layer.constraints = {}


def _get(module, value, key: str, owner: str):
    try:
        return module.get(value)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{owner} {key}: {exc}") from None


def for_weight(layer, name: str):
    """``(regularizer, constraint)`` the constructor gave weight ``name`` (None where none)."""
    options = layer.__dict__.get("_weight_options")
    if not options:
        return None, None
    found = [None, None]
    for prefix, names in type(layer).weight_groups.items():
        if name in names:
            for i, kind in enumerate(_KINDS):
                value = options.get(f"{prefix}_{kind}")
                if value is not None:
                    found[i] = value
    return found[0], found[1]


def resolve(layer, name: str, regularizer, constraint) -> tuple:
    """``add_weight``'s ``regularizer`` / ``constraint`` as objects (checked before the weight is made)."""
    return (_get(_regularizers, regularizer, f"add_weight({name!r}) regularizer", type(layer).__name__),
            _get(_constraints, constraint, f"add_weight({name!r}) constraint", type(layer).__name__))


def attach(layer, name: str, regularizer, constraint) -> None:
    """Record weight ``name``'s regularizer and constraint: ``add_weight``'s own arguments,
    else the constructor's."""
    regularizer, constraint = resolve(layer, name, regularizer, constraint)
    given_regularizer, given_constraint = for_weight(layer, name)
    regularizer = regularizer if regularizer is not None else given_regularizer
    constraint = constraint if constraint is not None else given_constraint
    if "regularizers" not in layer.__dict__:  # a layer whose __init__ did not run Layer's (or a call layer)
        layer.__dict__["regularizers"], layer.__dict__["constraints"] = {}, {}
    store_r, store_c = layer.__dict__["regularizers"], layer.__dict__["constraints"]
    store_r.pop(name, None)
    store_c.pop(name, None)
    if regularizer is not None:
        store_r[name] = regularizer
        state.any_used = True
    if constraint is not None:
        store_c[name] = constraint
        state.any_used = True


def config_entries(layer) -> dict:
    """The constructor arguments to save (only those given: a plain layer's config is unchanged)."""
    entries = {}
    if getattr(layer, "activity_regularizer", None) is not None:
        entries["activity_regularizer"] = _regularizers.serialize(layer.activity_regularizer)
    for key, value in (layer.__dict__.get("_weight_options") or {}).items():
        module = _regularizers if key.endswith("_regularizer") else _constraints
        entries[key] = _serialize(module, value, key, layer)
    return entries


def _serialize(module, value, key, layer):
    base = _regularizers.Regularizer if module is _regularizers else _constraints.Constraint
    if not isinstance(value, base):
        raise TypeError(f"Layer {layer.name!r}: {key}={value!r} cannot be saved; subclass "
                        f"numnet.{module.__name__.rsplit('.', 1)[-1]}.{base.__name__} and give it get_config.")
    return module.serialize(value)


def from_config_entries(config: dict, owner: str) -> dict:
    """``config`` with its ``*_regularizer`` / ``*_constraint`` dicts turned back into objects."""
    config = dict(config)
    for key in list(config):
        if key.endswith("_regularizer") or key.endswith("_constraint"):
            module = _regularizers if key.endswith("_regularizer") else _constraints
            try:
                config[key] = module.deserialize(config[key])
            except ValueError as exc:
                raise ValueError(f"{owner} {key}: {exc}") from exc
    return config
