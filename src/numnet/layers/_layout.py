"""``data_format="channels_first"`` for the convolution, pooling and 2-D reshaping layers,
as a transpose at the layer's boundary.

Every such layer computes channels last inside: ``(N, H, W, C)`` images, ``(N, T, C)``
sequences. A layer built with ``data_format="channels_first"`` takes and returns
``(N, C, H, W)`` (``(N, C, T)``): ``channels_aware`` wraps its ``build``,
``compute_output_shape``, ``forward`` and ``backward`` (and the ``_preactivation`` halves
of a layer with an activation) so that they move the channel axis on the way in and back
on the way out. The price is one copy of the input and one of the output per call (and
the same in backward); a channels-last layer pays one attribute test.

``layer.input_shape`` / ``layer.output_shape`` are in the layer's own layout (as in
Keras); ``channels(layer)`` gives the channel count it was built for.
"""

from __future__ import annotations

import functools

import numpy as np

FORMATS = ("channels_last", "channels_first")


def data_format(value, owner: str) -> str:
    """``None`` (Keras's default, channels last), ``"channels_last"`` or ``"channels_first"``."""
    if value is None:
        return "channels_last"
    if not isinstance(value, str) or value.lower() not in FORMATS:
        raise ValueError(f"{owner} data_format must be 'channels_last' or 'channels_first', got {value!r:.80}.")
    return value.lower()


def shape_to_last(shape):
    """``(C, *spatial)`` -> ``(*spatial, C)`` (shapes without the batch axis)."""
    shape = tuple(shape)
    return shape[1:] + shape[:1]


def shape_to_first(shape):
    shape = tuple(shape)
    return shape[-1:] + shape[:-1]


def to_last(x):
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)``, contiguous."""
    x = np.asarray(x)
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def to_first(x):
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def channels(layer):
    """The channel count ``layer`` was built for (None before it is built)."""
    shape = layer.input_shape if layer.built else None
    if shape is None or isinstance(shape, list):
        return None
    return shape[0] if getattr(layer, "data_format", "channels_last") == "channels_first" else shape[-1]


def channels_aware(rank: int, activated: bool = False):
    """Class decorator: wrap the layer's methods so ``data_format="channels_first"`` works
    (see the module docstring). ``rank`` is the number of spatial axes (1 or 2): arrays of
    ``rank + 2`` dimensions are transposed, others (a global pool's ``(N, C)``) pass as
    they are.

    ``activated``: an ``ActivatedLayer`` (a convolution with ``activation=``). Then the
    ``_preactivation`` halves are the wrapped ones, and a channels-first ``forward`` /
    ``backward`` run through them (``y = activation(forward_preactivation(x))``), so the
    activation sees the channels-first ``z`` (a softmax runs over its last axis, the width,
    as in Keras) and the model's fused paths (softmax with cross-entropy, relu after a
    pool) see the layer's own layout."""
    ndim = rank + 2

    def move(x, fn):
        return fn(x) if np.ndim(x) == ndim else x

    def move_shape(shape, fn):
        return fn(shape) if shape is not None and len(shape) == ndim - 1 else shape

    def decorate(cls):
        def wrap(name, kind):
            inner = getattr(cls, name)

            if kind == "build":
                @functools.wraps(inner)
                def method(self, input_shape, *args, **kwargs):
                    if self.data_format == "channels_first":
                        input_shape = move_shape(input_shape, shape_to_last)
                    return inner(self, input_shape, *args, **kwargs)
            elif kind == "shape":
                @functools.wraps(inner)
                def method(self, input_shape, *args, **kwargs):
                    if self.data_format != "channels_first":  # one attribute test for channels last
                        return inner(self, input_shape, *args, **kwargs)
                    out = inner(self, move_shape(input_shape, shape_to_last), *args, **kwargs)
                    return move_shape(out, shape_to_first)
            elif kind == "activated_forward":
                @functools.wraps(inner)
                def method(self, x, training=False, **kwargs):
                    if self.data_format != "channels_first":  # one attribute test for channels last
                        return inner(self, x, training=training, **kwargs)
                    self.output = self._activate(self.forward_preactivation(x, training=training))
                    return self.output
            elif kind == "activated_backward":
                @functools.wraps(inner)
                def method(self, output_error):
                    if self.data_format != "channels_first":  # one attribute test for channels last
                        return inner(self, output_error)
                    if self.activation is not None:
                        output_error = self.activation.backward(output_error)
                    return self.backward_preactivation(output_error)
            else:  # forward / backward: arrays in, arrays out
                forward = kind == "forward"

                @functools.wraps(inner)
                def method(self, x, *args, **kwargs):
                    if self.data_format != "channels_first":  # one attribute test for channels last
                        return inner(self, x, *args, **kwargs)
                    if forward and not self.built:
                        self.build_for(tuple(np.shape(x)[1:]))
                    return move(inner(self, move(x, to_last), *args, **kwargs), to_first)

            setattr(cls, name, method)

        wrap("build", "build")
        wrap("compute_output_shape", "shape")
        if activated:
            wrap("forward_preactivation", "forward")
            wrap("backward_preactivation", "backward")
            wrap("forward", "activated_forward")
            wrap("backward", "activated_backward")
        else:
            wrap("forward", "forward")
            wrap("backward", "backward")
        return cls

    return decorate
