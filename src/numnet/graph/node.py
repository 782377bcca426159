"""``Node``: one call of a layer on symbolic tensors."""

from __future__ import annotations


class Node:
    """A call ``layer(inputs)``: which tensors went in, which came out.

    ``inputs`` is the list of input tensors (``as_list``: the layer was given a list, as a
    merge layer is); ``outputs`` the list of output tensors (``returns_list``: the call
    returned a list). ``training`` is the call's fixed mode (``layer(x, training=False)``
    always runs in inference, as Keras does), or None to follow the model's mode.
    ``kwargs`` are further keyword arguments the call fixes (a mask, ``initial_state``...).
    """

    __slots__ = ("layer", "inputs", "as_list", "outputs", "returns_list", "training", "kwargs")

    def __init__(self, layer, inputs, as_list: bool, outputs, returns_list: bool, training=None, kwargs=None):
        self.layer = layer
        self.inputs = list(inputs)
        self.as_list = as_list
        self.outputs = list(outputs)
        self.returns_list = returns_list
        self.training = training
        self.kwargs = dict(kwargs or {})

    @property
    def parents(self) -> list["Node"]:
        """The nodes whose outputs this call reads, in input order."""
        return [t.node for t in self.inputs]

    @property
    def input_structure(self):
        return self.inputs if self.as_list else self.inputs[0]

    @property
    def output_structure(self):
        return self.outputs if self.returns_list else self.outputs[0]

    @property
    def index(self) -> int:
        """Which call of its layer this is (0 for the first)."""
        return self.layer._inbound_nodes.index(self)

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}#{self.index}>"
