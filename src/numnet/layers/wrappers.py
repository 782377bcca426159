"""Wrappers: ``Bidirectional`` (a recurrent layer run both ways) and ``TimeDistributed``
(a layer applied to every time step).

A wrapper owns its inner layers' weights: its ``params`` hold the same arrays under
prefixed names (``forward_kernel``, ``backward_kernel``, ...; TimeDistributed: the inner
names), in the inner layers' order, so ``get_weights`` / ``set_weights`` and optimizers
see one layer. Because a model may move ``params`` into its own flat buffer, every call
hands the wrapper's current arrays down to the inner layers first, and every backward
copies the inner gradients up.

A wrapper called several times in a graph keeps each call's cache correct because the
graph captures the attributes a call assigns on a layer and, recursively, on the layers it
holds (``numnet.graph.call_state``): the inner layers' caches included.
"""

from __future__ import annotations

import numpy as np

from . import _penalties
from .layer import Layer, call_forward
from .recurrent import _Recurrent

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _rebuild(layer: Layer, **changes) -> Layer:
    config = {**layer.get_config(), **changes}
    return type(layer).from_config(config)


class _Wrapper(Layer):
    """Keeps ``self.params`` and the inner layers' params pointing at the same arrays."""

    def _inner(self) -> list[tuple[str, Layer]]:
        raise NotImplementedError

    def _build_inner(self, prefix: str, layer: Layer, input_shape) -> None:
        """Build ``layer``; when a file supplies the weights (numnet's loader shadows this
        wrapper's ``add_weight``), the inner layer's weights come through the wrapper's
        ``add_weight`` under their prefixed names."""
        outer = self

        def add_weight(name, shape, initializer="zeros", trainable=True, regularizer=None, constraint=None):
            if "add_weight" in vars(outer):
                value = outer.add_weight(prefix + name, shape, initializer, trainable)
                (layer.params if trainable else layer.buffers)[name] = value
                _penalties.attach(layer, name, regularizer, constraint)
                return value
            return Layer.add_weight(layer, name, shape, initializer, trainable, regularizer, constraint)

        layer.dtype = self.dtype or np.float32
        layer.add_weight = add_weight
        try:
            layer.build_for(input_shape)
        finally:
            del layer.__dict__["add_weight"]

    def _collect(self) -> None:
        self.params = {prefix + k: v for prefix, layer in self._inner() for k, v in layer.params.items()}
        self.buffers = {prefix + k: v for prefix, layer in self._inner() for k, v in layer.buffers.items()}
        # The inner layers' regularizers and constraints, under the wrapper's names of their weights.
        self.regularizers = {prefix + k: v for prefix, layer in self._inner() for k, v in layer.regularizers.items()}
        self.constraints = {prefix + k: v for prefix, layer in self._inner() for k, v in layer.constraints.items()}

    def _push(self) -> None:
        for prefix, layer in self._inner():
            for k in layer.params:
                layer.params[k] = self.params[prefix + k]
            for k in layer.buffers:
                layer.buffers[k] = self.buffers[prefix + k]

    def _pull_grads(self) -> None:
        self.grads = {prefix + k: v for prefix, layer in self._inner() for k, v in layer.grads.items()}

    def cast(self, dtype) -> None:
        self._push()
        for _, layer in self._inner():
            layer.cast(dtype)
        self.dtype = np.dtype(dtype)
        self.grads, self.grad_targets, self._scratch = {}, {}, {}
        self._collect()


class Bidirectional(_Wrapper):
    """Runs ``layer`` forward in time and a copy of it backward (``go_backwards`` flipped),
    and merges their outputs: ``merge_mode="concat"`` (features side by side, forward
    first), ``"sum"``, ``"mul"``, ``"ave"``, or ``None`` (a list ``[forward, backward]``).

    With ``return_sequences`` the backward layer's outputs are flipped back, so step ``t``
    of both halves is input step ``t``. ``return_state`` appends the forward layer's
    states, then the backward layer's. A mask is given to both halves. Weights: the
    forward layer's, then the backward layer's (Keras's order). ``backward_layer`` may be
    given (a recurrent layer with ``go_backwards`` opposite to ``layer``'s); otherwise the
    copy's ``seed``, when ``layer`` has an integer one, is derived from it (so the two
    directions do not start from the same weights).
    ``initial_state`` is a list of the forward states followed by the backward states.
    """

    def __init__(self, layer, merge_mode="concat", backward_layer=None, name: str | None = None, **kwargs) -> None:
        if isinstance(layer, dict):  # from a config
            layer = _layer_from_config(layer)
        if isinstance(backward_layer, dict):
            backward_layer = _layer_from_config(backward_layer)
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"Bidirectional wraps a SimpleRNN, LSTM or GRU layer, got {type(layer).__name__}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional merge_mode must be one of {_MERGE_MODES}, got {merge_mode!r}.")
        if backward_layer is not None:
            if not isinstance(backward_layer, _Recurrent) or backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Bidirectional backward_layer must be a recurrent layer whose go_backwards is the "
                                 "opposite of layer's.")
            if (backward_layer.return_sequences, backward_layer.return_state) != (layer.return_sequences, layer.return_state):
                raise ValueError("Bidirectional: layer and backward_layer must agree on return_sequences and return_state.")
        super().__init__(name=name, **kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = _rebuild(layer, name=f"forward_{layer.name}")
        # A seeded layer's copy gets a seed of its own, so the two directions start apart.
        seed = layer.seed
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = int(np.random.SeedSequence([int(seed), 1]).generate_state(1)[0])
        self.backward_layer = backward_layer if backward_layer is not None else _rebuild(
            layer, name=f"backward_{layer.name}", go_backwards=not layer.go_backwards, seed=seed)
        self._given_backward = backward_layer is not None
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._n_states = layer._STATES
        self._fw_out = None

    def _inner(self):
        return [("forward_", self.forward_layer), ("backward_", self.backward_layer)]

    def build(self, input_shape) -> None:
        for prefix, layer in self._inner():
            self._build_inner(prefix, layer, tuple(input_shape))
        self._collect()

    def compute_output_shape(self, input_shape):
        out = self.forward_layer.compute_output_shape(tuple(input_shape))
        main = out[0] if self.return_state else out
        if self.merge_mode == "concat":
            merged = main[:-1] + (2 * main[-1],)
        elif self.merge_mode is None:
            merged = [main, main]
        else:
            merged = main
        if not self.return_state:
            return merged
        states = list(out[1:]) * 2
        return ([*merged] if self.merge_mode is None else [merged]) + states

    def compute_mask(self, input_mask):
        out = input_mask if self.return_sequences else None
        main = [out, out] if self.merge_mode is None else [out]
        return main + [None] * (2 * self._n_states) if self.return_state else (main if self.merge_mode is None else out)

    def _flip(self, y):
        return y[:, ::-1] if self.return_sequences else y

    def forward(self, input, training=False, mask=None, initial_state=None):
        if not self.built:
            self.build_for(np.shape(input)[1:])
        self._push()
        fw_state = bw_state = None
        if initial_state is not None:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2 * self._n_states:
                raise ValueError(f"Bidirectional {self.name!r} expects initial_state as a list of "
                                 f"{2 * self._n_states} arrays (forward states, then backward states).")
            fw_state, bw_state = list(initial_state[: self._n_states]), list(initial_state[self._n_states :])
        self._given_initial_state = initial_state is not None
        fw = self.forward_layer.forward(input, training=training, mask=mask, initial_state=fw_state)
        bw = self.backward_layer.forward(input, training=training, mask=mask, initial_state=bw_state)
        fw_y, fw_states = (fw[0], fw[1:]) if self.return_state else (fw, [])
        bw_y, bw_states = (bw[0], bw[1:]) if self.return_state else (bw, [])
        bw_y = self._flip(bw_y)
        self._fw_out, self._bw_out = fw_y, bw_y
        if self.merge_mode == "concat":
            merged = [np.concatenate([fw_y, bw_y], axis=-1)]
        elif self.merge_mode == "sum":
            merged = [fw_y + bw_y]
        elif self.merge_mode == "mul":
            merged = [fw_y * bw_y]
        elif self.merge_mode == "ave":
            merged = [(fw_y + bw_y) / 2]
        else:
            merged = [fw_y, bw_y]
        if self.return_state:
            self.output = merged + list(fw_states) + list(bw_states)
        else:
            self.output = merged if self.merge_mode is None else merged[0]
        return self.output

    def backward(self, output_error):
        if self._fw_out is None:
            raise RuntimeError(f"Bidirectional {self.name!r}: call forward(x) before backward(output_error).")
        errors = list(output_error) if isinstance(output_error, (list, tuple)) else [output_error]
        n_main = 2 if self.merge_mode is None else 1
        expected = n_main + (2 * self._n_states if self.return_state else 0)
        if len(errors) != expected:
            raise ValueError(f"Bidirectional {self.name!r}: backward expects {expected} error(s), got {len(errors)}.")
        main, states = errors[:n_main], errors[n_main:]
        fw_y, bw_y = self._fw_out, self._bw_out
        g = main[0]
        if self.merge_mode == "concat":
            u = fw_y.shape[-1]
            d_fw, d_bw = g[..., :u], g[..., u:]
        elif self.merge_mode == "sum":
            d_fw = d_bw = g
        elif self.merge_mode == "mul":
            d_fw, d_bw = g * bw_y, g * fw_y
        elif self.merge_mode == "ave":
            d_fw = d_bw = g / 2
        else:
            d_fw, d_bw = main
        zero = np.zeros_like(fw_y)
        d_fw = zero if d_fw is None else np.asarray(d_fw)
        d_bw = zero if d_bw is None else self._flip(np.asarray(d_bw))
        if self.return_state:
            k = self._n_states
            d_fw, d_bw = [d_fw, *states[:k]], [d_bw, *states[k:]]
        for layer in (self.forward_layer, self.backward_layer):
            layer.needs_input_error = self.needs_input_error
        r_fw = self.forward_layer.backward(d_fw)
        r_bw = self.backward_layer.backward(d_bw)
        self._pull_grads()
        if self._given_initial_state:
            dx = None if r_fw[0] is None else r_fw[0] + r_bw[0]
            return [dx, *r_fw[1:], *r_bw[1:]]
        return None if r_fw is None else r_fw + r_bw

    def reset_states(self) -> None:
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self) -> dict:
        config = {**super().get_config(), "merge_mode": self.merge_mode, "layer": _layer_config(self.forward_layer)}
        # The inner layer's own name, without the "forward_" the wrapper gave it.
        config["layer"]["config"]["name"] = self.forward_layer.name[len("forward_"):]
        if self._given_backward:
            config["backward_layer"] = _layer_config(self.backward_layer)
        return config


class TimeDistributed(_Wrapper):
    """Applies ``layer`` to every time step: ``(batch, time, ...) -> (batch, time, ...)``,
    by folding time into the batch (``(batch * time, ...)``), one call of ``layer``.
    Weights are the inner layer's, under its names. A mask passes through unchanged."""

    def __init__(self, layer, name: str | None = None, **kwargs) -> None:
        if isinstance(layer, dict):
            layer = _layer_from_config(layer)
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed wraps a numnet Layer, got {type(layer).__name__}.")
        super().__init__(name=name, **kwargs)
        self.layer = layer
        self._shape = None

    def _inner(self):
        return [("", self.layer)]

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(f"TimeDistributed {self.name!r} expects inputs (batch, time, ...), got "
                             f"(batch, {', '.join(map(str, input_shape))}).")
        self._build_inner("", self.layer, input_shape[1:])
        self._collect()

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(self.layer.compute_output_shape(tuple(input_shape[1:])))

    def compute_mask(self, input_mask):
        return input_mask

    def forward(self, input, training=False, mask=None):
        x = np.asarray(input)
        if x.ndim < 3:
            raise ValueError(f"TimeDistributed {self.name!r} expects inputs (batch, time, ...), got shape {x.shape}.")
        if not self.built:
            self.build_for(x.shape[1:])
        self._push()
        self._shape = x.shape
        y = call_forward(self.layer, x.reshape((-1,) + x.shape[2:]), training=training)
        self.output = y.reshape(x.shape[:2] + y.shape[1:])
        return self.output

    def backward(self, output_error):
        if self._shape is None:
            raise RuntimeError(f"TimeDistributed {self.name!r}: call forward(x) before backward(output_error).")
        g = np.asarray(output_error)
        self.layer.needs_input_error = self.needs_input_error
        dx = self.layer.backward(g.reshape((-1,) + g.shape[2:]))
        self._pull_grads()
        return None if dx is None else dx.reshape(self._shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": _layer_config(self.layer)}


def _layer_config(layer: Layer) -> dict:
    from ..saving import _registered_name

    return {"class_name": _registered_name(layer), "config": layer.get_config()}


def _layer_from_config(config: dict) -> Layer:
    from ..saving import _layer_classes

    try:
        cls = _layer_classes()[config["class_name"]]
    except KeyError as exc:
        raise ValueError(f"Cannot rebuild a wrapped layer from {config!r}: unknown or missing class_name.") from exc
    return cls.from_config(config["config"])
