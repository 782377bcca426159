"""What every process takes from rank 0 when ``fit`` starts: the weights (BatchNorm's moving
statistics included), the optimizer's iterations, learning rate and state, and the random
generators (numnet's library generator, the model's, each layer's), so that every process
shuffles, splits and draws dropout masks exactly as rank 0 does."""

from __future__ import annotations

import json

import numpy as np

from .. import random as _random

# Layers that draw random numbers in forward create their generator lazily, at their first
# training call; these attributes mark them. ``broadcast_model`` creates the generator
# first (as that call would have, from the library generator, in layer order), so that it
# is part of what rank 0 hands on.
_RANDOM_RATES = ("rate", "dropout", "recurrent_dropout")


def _uses_randomness(layer) -> bool:
    for name in _RANDOM_RATES:
        value = getattr(layer, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return True
    return False


def _generators(model) -> list:
    """``(owner, attribute)`` of every generator that decides a draw during training."""
    found = [(_random, "_generator"), (model, "rng")]
    for _, layer in model.leaf_layers():
        if layer.__dict__.get("_rng") is None:
            if callable(getattr(layer, "_generator", None)):  # random augmentation layers
                layer._generator()
            elif _uses_randomness(layer):
                layer._rng = _random.make_generator(getattr(layer, "seed", None))
        if "_rng" in layer.__dict__:
            found.append((layer, "_rng"))
    return found


def _state_json(generator) -> object:
    if not isinstance(generator, np.random.Generator):
        return None
    return generator.bit_generator.state


def _set_state(owner, attribute, state) -> None:
    if state is None:
        if attribute != "_generator":
            setattr(owner, attribute, None)
        return
    generator = getattr(owner, attribute, None)
    kind = state["bit_generator"]
    if not isinstance(generator, np.random.Generator) or type(generator.bit_generator).__name__ != kind:
        generator = np.random.Generator(getattr(np.random, kind)())
        setattr(owner, attribute, generator)
    if isinstance(state.get("state"), dict) and "key" in state["state"]:  # MT19937 keeps an array
        state = {**state, "state": {**state["state"], "key": np.asarray(state["state"]["key"], dtype=np.uint32)}}
    generator.bit_generator.state = state


def _signature(arrays) -> list[int]:
    return [len(arrays)] + [int(a.size) for a in arrays]


def broadcast_model(dist, model) -> None:
    """Rank 0's weights, optimizer state and random state on every process, in place. A
    process whose model differs in structure is a ValueError on every process."""
    weights = [np.ascontiguousarray(w) for w in model.get_weights()]
    optimizer = model.optimizer
    slots = [(key, slot) for key in sorted(optimizer.state, key=repr) for slot in sorted(optimizer.state[key])]
    state_arrays = [optimizer.state[key][slot] for key, slot in slots]
    if not dist.agree(_signature(weights) + [-1] + _signature(state_arrays)):
        raise ValueError(
            f"DataParallel: the processes hold different models or optimizer states ({len(weights)} weight arrays "
            f"on process {dist.rank}); every process must build and compile the same model."
        )
    for w in weights:
        dist.broadcast(w)
    model.set_weights(weights)
    for (key, slot), array in zip(slots, state_arrays):
        if array.flags.c_contiguous and array.flags.writeable:
            dist.broadcast(array)
        else:
            copy = np.ascontiguousarray(array)
            dist.broadcast(copy)
            array[...] = copy
    scalars = np.array([optimizer.iterations], dtype=np.int64)
    dist.broadcast(scalars)
    optimizer.iterations = int(scalars[0])
    if not callable(optimizer.learning_rate):
        rate = np.array([float(optimizer.learning_rate)])
        dist.broadcast(rate)
        optimizer.learning_rate = float(rate[0])
    generators = _generators(model)
    document = json.dumps([_state_json(getattr(owner, attr, None)) for owner, attr in generators],
                          default=lambda value: value.tolist())
    received = json.loads(dist.broadcast_bytes(document.encode() if dist.rank == 0 else None).decode())
    if len(received) != len(generators):
        raise ValueError(f"DataParallel: process 0 has {len(received)} random generators, process {dist.rank} "
                         f"{len(generators)}; every process must build the same model.")
    for (owner, attr), state in zip(generators, received):
        _set_state(owner, attr, state)
