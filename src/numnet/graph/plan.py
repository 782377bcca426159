"""The execution plan of a graph: its nodes in order, as steps, and the loop that runs them.

One pass, read top to bottom::

    values[input slots] = the batch
    for step in steps:            values[step.targets] = step.forward(values[step.sources])
    errors[output slots] = dL/d(outputs)
    for step in reversed(steps):  errors[step.sources] += step.backward(errors[step.targets])

Every value of the graph has a slot (an index into ``values`` / ``errors``). A ``Run`` is
one execution: it owns the values and the cache of every step that keeps its cache itself
(shared layers, nested models, rewrites), so a layer may be called many times in a pass.
Gradients of a layer called several times add up (``Step.backward`` accumulates when the
layer already received a gradient in this pass).
"""

from __future__ import annotations

import numpy as np

from . import call_state
from .node import Node
from .tensor import SymbolicTensor
from .threads import inference_view


class Run:
    """One execution of a ``Plan``: ``values`` by slot, ``states`` by step (the cache of
    steps that keep it), ``training`` (the mode it runs in), ``keep`` (a backward pass
    follows: keep the caches; normally the same as ``training``) and ``capture`` (every
    step keeps its cache in the run: this run is one of several calls of a nested model)."""

    __slots__ = ("values", "states", "training", "keep", "capture", "masks")

    def __init__(self, n_slots: int, training: bool, capture: bool, keep: bool | None = None) -> None:
        self.values = [None] * n_slots
        # Keras masks by slot (``(batch, time)`` booleans), or None while no step made one:
        # a model without masks pays nothing for them.
        self.masks = None
        self.states = {}
        self.training = training
        self.keep = training if keep is None else keep
        self.capture = capture


class GradientPass:
    """One backward pass over possibly nested plans: which layers got a gradient in it, so
    that a second call of a layer adds to the first call's gradient instead of replacing it."""

    __slots__ = ()


def _accepts_training(layer) -> bool:
    from ..layers.layer import takes_training_flag

    return takes_training_flag(type(layer))


def _mask_support(layer) -> tuple[bool, str | None]:
    """(whether ``forward`` takes ``mask=``, how the output mask comes: "compute" for a
    layer with its own ``compute_mask``, "same" for a layer that passes its input's mask
    through (``supports_masking``), None for one that drops it, as Keras does)."""
    import inspect

    from ..layers.layer import Layer

    cls = type(layer)
    takes = "mask" in inspect.signature(cls.forward).parameters
    if getattr(cls, "compute_mask", None) is not None and cls.compute_mask is not Layer.compute_mask:
        return takes, "compute"
    return takes, "same" if getattr(layer, "supports_masking", False) else None


class Step:
    """A call of a layer: ``sources`` (slots of its inputs, a list when the layer takes a
    list), ``targets`` (slots of its outputs, a list when it returns one).

    ``preactivation``: None, or keyword arguments for ``forward_preactivation``, which then
    replaces ``forward`` (and ``backward_preactivation`` replaces ``backward``): a rewrite
    applies the layer's activation elsewhere. ``fused_output``: this step's output is a
    model output whose loss gradient comes with respect to the pre-activation (softmax /
    sigmoid + cross-entropy)."""

    __slots__ = ("layer", "node", "sources", "as_list", "targets", "returns_list", "training", "kwargs",
                 "training_flag", "_preactivation", "fed_by_inputs", "fused_output", "takes_mask", "mask_rule",
                 "makes_mask", "single", "plain")

    def __init__(self, node: Node, sources: list[int], targets: list[int], fed_by_inputs: bool) -> None:
        self.layer = node.layer
        self.node = node
        self.sources = sources
        self.as_list = node.as_list
        self.targets = targets
        self.returns_list = node.returns_list
        self.training = node.training
        self.kwargs = node.kwargs
        self.training_flag = _accepts_training(node.layer)
        self._preactivation = None
        self.fed_by_inputs = fed_by_inputs
        self.fused_output = False
        self.takes_mask, self.mask_rule = _mask_support(node.layer)
        # Embedding(mask_zero=True) and Masking make a mask from their input's values.
        self.makes_mask = self.mask_rule == "compute" and (
            getattr(node.layer, "mask_zero", False) or hasattr(node.layer, "mask_value"))
        # One input, one output, a plain layer step: Plan.backward's inlined path applies.
        self.single = type(self) is Step and not self.as_list and not self.returns_list
        self._set_plain()

    def _set_plain(self) -> None:
        # What the forward hot path needs of the step itself, decided once: no mask made,
        # no rewrite, no call keywords, one output (the run's own conditions are checked per call).
        self.plain = not self.makes_mask and self._preactivation is None and not self.kwargs and \
            not self.returns_list

    @property
    def preactivation(self):
        return self._preactivation

    @preactivation.setter
    def preactivation(self, value) -> None:
        self._preactivation = value
        self._set_plain()

    # --- running ---------------------------------------------------------------------------
    def _mode(self, run: Run) -> bool:
        return run.training if self.training is None else bool(self.training)

    def _call(self, layer, arg, training: bool, mask=None):
        if self.preactivation is not None:
            return layer.forward_preactivation(arg, training=training, **self.preactivation)
        kwargs = self.kwargs if mask is None else {**self.kwargs, "mask": mask}
        if self.training_flag:
            return layer.forward(arg, training=training, **kwargs)
        return layer.forward(arg, **kwargs)

    def _masks(self, run: Run, arg):
        """(the mask to give this call, or None; the masks of its outputs, or None)."""
        masks = run.masks
        if masks is None and not self.makes_mask:
            return None, None
        given = None
        if masks is not None:
            given = [masks[s] for s in self.sources] if self.as_list else masks[self.sources[0]]
            if self.as_list and all(m is None for m in given):
                given = None
        rule = self.mask_rule
        if rule == "compute":
            try:
                out = self.layer.compute_mask(given, inputs=arg)
            except TypeError:
                out = self.layer.compute_mask(given)
        elif rule == "same" and not self.as_list:
            out = given
        else:
            out = None
        return (given if self.takes_mask else None), out

    def _store_masks(self, run: Run, out_mask) -> None:
        if out_mask is None or (isinstance(out_mask, list) and all(m is None for m in out_mask)):
            if run.masks is not None:
                for slot in self.targets:
                    run.masks[slot] = None
            return
        if run.masks is None:
            run.masks = [None] * len(run.values)
        outs = out_mask if self.returns_list else [out_mask]
        for slot, mask in zip(self.targets, outs):
            run.masks[slot] = mask

    def forward(self, run: Run, index: int):
        values = run.values
        arg = [values[s] for s in self.sources] if self.as_list else values[self.sources[0]]
        training = run.training if self.training is None else bool(self.training)
        layer = self.layer
        if self.plain and run.keep and not run.capture and run.masks is None and \
                len(layer._inbound_nodes) == 1:  # the hot path: one call of a plain layer in training
            values[self.targets[0]] = layer.forward(arg, training=training) if self.training_flag else layer.forward(arg)
            return
        if run.masks is not None or self.makes_mask:
            self._masked_forward(run, index, arg, training)
            return
        if not run.keep:  # inference: this thread's own view of the layer (see graph/threads.py)
            view = inference_view(layer)
            out = self._call(view, arg, training)
            _release(view)
        elif run.capture or len(layer._inbound_nodes) > 1:
            before = call_state.begin(layer)
            out = self._call(layer, arg, training)
            run.states[index] = call_state.take(layer, before)
        else:
            out = self._call(layer, arg, training)
        self._store(values, out)

    def _masked_forward(self, run: Run, index: int, arg, training: bool) -> None:
        given, out_mask = self._masks(run, arg)
        layer = self.layer
        if not run.keep:
            view = inference_view(layer)
            out = self._call(view, arg, training, given)
            _release(view)
        else:
            before = call_state.begin(layer)
            out = self._call(layer, arg, training, given)
            run.states[index] = call_state.take(layer, before)
        self._store(run.values, out)
        self._store_masks(run, out_mask)

    def _store(self, values, out) -> None:
        if self.returns_list:
            for slot, value in zip(self.targets, out):
                values[slot] = value
        else:
            values[self.targets[0]] = out

    def backward(self, run: Run, index: int, error, gradient_pass, need_input_error: bool):
        """``error``: dL/d(output) (a list for several outputs). Returns dL/d(inputs) as a
        list aligned with ``sources`` (or None when nobody needs it)."""
        layer = self.layer
        layer.needs_input_error = need_input_error
        state = run.states.pop(index, None) if run.states else None
        skip_activation = self._preactivation is not None or self.fused_output
        if state is None and layer._grad_pass is not gradient_pass:  # the common case: one call
            input_error = layer.backward_preactivation(error) if skip_activation else layer.backward(error)
            layer._grad_pass = gradient_pass
            attributes = layer.__dict__
            attributes.pop("input", None)
            attributes.pop("output", None)
        else:
            input_error = self._backward_again(layer, state, error, gradient_pass, skip_activation)
        if not need_input_error or input_error is None:
            return None
        return input_error if self.as_list else [input_error]

    @staticmethod
    def _backward_again(layer, state, error, gradient_pass, skip_activation):
        """Backward of a call that kept its own cache (``state``) and / or of a layer that
        already received a gradient in this pass (the gradients add up)."""
        replaced = None if state is None else call_state.put(layer, state)
        try:
            earlier = None
            if layer._grad_pass is gradient_pass:
                earlier = {k: layer.grads[k].copy() for k in layer.params if k in layer.grads}
            input_error = layer.backward_preactivation(error) if skip_activation else layer.backward(error)
            layer._grad_pass = gradient_pass
            if earlier:
                for key, value in earlier.items():
                    layer.grads[key] += value
        finally:
            if replaced is not None:
                call_state.restore(layer, replaced)
            else:
                _release(layer)
        return input_error


def _release(layer) -> None:
    """Drop a finished call's ``input`` / ``output`` (a seed-style layer's cache), so that
    ``layer.input`` / ``layer.output`` mean the symbolic tensors again."""
    attributes = layer.__dict__
    attributes.pop("input", None)
    attributes.pop("output", None)


class ModelStep(Step):
    """A call of a nested model: its own plan runs inside this step; the inner run is this
    step's state."""

    __slots__ = ()

    def forward(self, run: Run, index: int):
        values = run.values
        arg = [values[s] for s in self.sources]
        model = self.layer
        capture = run.capture or len(model._inbound_nodes) > 1
        masks = None if run.masks is None else [run.masks[s] for s in self.sources]
        outputs, inner = model._plan.forward(arg, self._mode(run), capture=capture, keep=run.keep, masks=masks)
        if run.keep:
            run.states[index] = inner
        for slot, value in zip(self.targets, outputs):
            values[slot] = value
        if inner.masks is not None or run.masks is not None:
            out = [None if inner.masks is None else inner.masks[s] for s in model._plan.output_slots]
            self._store_masks(run, out if self.returns_list else out[0])

    def backward(self, run: Run, index: int, error, gradient_pass, need_input_error: bool):
        inner = run.states.pop(index)
        errors = error if self.returns_list else [error]
        return self.layer._plan.backward(inner, errors, gradient_pass, need_input_error)


class Plan:
    """The nodes from ``inputs`` to ``outputs`` (lists of ``SymbolicTensor``) in execution
    order. Built without recursion, in time linear in the number of nodes."""

    def __init__(self, inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> None:
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        nodes = _nodes_between(self.inputs, self.outputs)
        slots: dict[int, int] = {}
        for tensor in self.inputs:
            slots.setdefault(id(tensor), len(slots))
        self.input_slots = [slots[id(t)] for t in self.inputs]
        input_slot_set = set(self.input_slots)
        steps = []
        for node in nodes:
            if _is_input_node(node):
                continue
            sources = [slots[id(t)] for t in node.inputs]
            targets = []
            for tensor in node.outputs:
                slots.setdefault(id(tensor), len(slots))
                targets.append(slots[id(tensor)])
            fed_by_inputs = all(s in input_slot_set for s in sources)
            step_type = ModelStep if getattr(node.layer, "_is_model", False) else Step
            if step_type is Step and getattr(node.layer, "activity_regularizer", None) is not None:
                from .activity import ActivityStep  # decided here, once: other steps stay as they are

                step_type = ActivityStep
            steps.append(step_type(node, sources, targets, fed_by_inputs))
        self.output_slots = [slots[id(t)] for t in self.outputs]
        self.n_slots = len(slots)
        self.nodes = [node for node in nodes if not _is_input_node(node)]
        from .rewrites import plan_max_pool_rewrites

        self.steps = plan_max_pool_rewrites(steps, self.output_slots)
        self._fuse_outputs()

    def _consumers(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for step in self.steps:
            for source in step.sources:
                counts[source] = counts.get(source, 0) + 1
        return counts

    def _fuse_outputs(self) -> None:
        """Which outputs may take the gradient with respect to their pre-activation: those
        a plain layer step produces and nothing else in the graph reads."""
        consumers = self._consumers()
        self.output_steps = []
        for slot in self.output_slots:
            producer = None
            for step in self.steps:
                if slot in step.targets and type(step) is Step and not step.returns_list and step.preactivation is None:
                    producer = step
            fusable = producer is not None and consumers.get(slot, 0) == 0 and self.output_slots.count(slot) == 1
            self.output_steps.append(producer if fusable else None)

    def output_masks(self, run: Run):
        """The Keras masks of the outputs of ``run`` (one per output), or None."""
        if run.masks is None:
            return None
        masks = [run.masks[s] for s in self.output_slots]
        return None if all(m is None for m in masks) else masks

    def output_activation(self, index: int) -> str | None:
        """The activation output ``index``'s layer applies last, when its gradient may skip
        it (the fused softmax / sigmoid + cross-entropy), else None."""
        step = self.output_steps[index]
        return None if step is None else step.layer.output_activation

    def set_fused_outputs(self, fused: list[bool]) -> None:
        for step, flag in zip(self.output_steps, fused):
            if step is not None:
                step.fused_output = bool(flag)

    @property
    def layers(self) -> list:
        """Every layer the plan calls, once each, in order of first call."""
        seen, layers = set(), []
        for node in self.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        return layers

    # --- running ---------------------------------------------------------------------------
    def forward(self, arrays, training: bool = False, capture: bool = False, keep: bool | None = None,
                masks=None):
        """Run every step on ``arrays`` (one per input); returns (the outputs, the Run).
        ``keep`` (default: ``training``) keeps the caches a ``backward`` of the run needs;
        ``masks`` (one per input, or None) are the inputs' Keras masks."""
        run = Run(self.n_slots, bool(training), capture, keep)
        values = run.values
        for slot, array in zip(self.input_slots, arrays):
            values[slot] = array
        if masks is not None and any(m is not None for m in masks):
            run.masks = [None] * self.n_slots
            for slot, mask in zip(self.input_slots, masks):
                run.masks[slot] = mask
        for index, step in enumerate(self.steps):
            step.forward(run, index)
        return [values[s] for s in self.output_slots], run

    def backward(self, run: Run, output_errors, gradient_pass=None, need_input_errors: bool = False):
        """Backpropagate ``output_errors`` (one per output; None for an output without
        loss) through the steps of ``run``; every layer's ``grads`` get the gradient of
        this pass. Returns dL/d(inputs) when ``need_input_errors``, else None."""
        if gradient_pass is None:
            gradient_pass = GradientPass()
        errors = [None] * self.n_slots
        for slot, error in zip(self.output_slots, output_errors):
            if error is not None:
                errors[slot] = error if errors[slot] is None else errors[slot] + error
        values, steps, states = run.values, self.steps, run.states
        for index in range(len(steps) - 1, -1, -1):
            step = steps[index]
            if step.single and index not in states:
                # The hot path, inlined: one call of a plain layer, one input, one output.
                target = step.targets[0]
                error = errors[target]
                if error is None:
                    continue
                errors[target] = None
                layer = step.layer
                if layer._grad_pass is not gradient_pass:
                    need = need_input_errors or not step.fed_by_inputs
                    layer.needs_input_error = need
                    if step._preactivation is not None or step.fused_output:
                        part = layer.backward_preactivation(error)
                    else:
                        part = layer.backward(error)
                    layer._grad_pass = gradient_pass
                    attributes = layer.__dict__
                    attributes.pop("input", None)
                    attributes.pop("output", None)
                    if need and part is not None:
                        source = step.sources[0]
                        previous = errors[source]
                        errors[source] = part if previous is None else previous + part
                    continue
                errors[target] = error  # a second call of the layer in this pass: the general path
            targets = step.targets
            if step.returns_list:
                error = [errors[t] for t in targets]
                if all(e is None for e in error):
                    states.pop(index, None)
                    continue
                error = [np.zeros_like(values[t]) if e is None else e for t, e in zip(targets, error)]
                for t in targets:
                    errors[t] = None
            else:
                target = targets[0]
                error = errors[target]
                if error is None:
                    states.pop(index, None)
                    continue
                errors[target] = None  # free it as soon as it is used
            input_errors = step.backward(run, index, error, gradient_pass, need_input_errors or not step.fed_by_inputs)
            if input_errors is None:
                continue
            for source, part in zip(step.sources, input_errors):
                if part is not None:
                    # Not in place: a layer may hand the same array to several inputs (Add).
                    previous = errors[source]
                    errors[source] = part if previous is None else previous + part
        if not need_input_errors:
            return None
        return [errors[s] for s in self.input_slots]


def _is_input_node(node: Node) -> bool:
    return getattr(node.layer, "_is_input_layer", False)


def _nodes_between(inputs, outputs) -> list[Node]:
    """The nodes that lead from ``inputs`` to ``outputs``, each after the nodes it reads
    (an iterative depth-first post-order: no recursion limit, linear time)."""
    input_ids = {id(t) for t in inputs}
    order: list[Node] = []
    done: set[int] = set()
    active: set[int] = set()
    for output in outputs:
        if not isinstance(output, SymbolicTensor):
            raise TypeError(f"Model outputs must be symbolic tensors (what calling a layer returns), got {output!r}.")
        stack = [(output.node, False)]
        while stack:
            node, expanded = stack.pop()
            key = id(node)
            if expanded:
                active.discard(key)
                if key not in done:
                    done.add(key)
                    order.append(node)
                continue
            if key in done:
                continue
            if key in active:
                raise ValueError(f"The graph has a cycle through layer {node.layer.name!r}.")
            active.add(key)
            stack.append((node, True))
            if _is_input_node(node):
                continue
            for tensor in reversed(node.inputs):
                if id(tensor) in input_ids:
                    continue
                if tensor.node is None:
                    raise ValueError(f"{tensor!r} was not produced by a layer call.")
                if _is_input_node(tensor.node):
                    raise ValueError(
                        f"The graph reaches Input {tensor.node.layer.name!r}, which is not among the model's inputs "
                        f"{[t.name for t in inputs]}."
                    )
                if id(tensor.node) not in done:
                    stack.append((tensor.node, False))
    reached = set()
    for node in order:
        for tensor in node.inputs:
            reached.add(id(tensor))
    reached.update(id(t) for t in outputs)
    unused = [t.name for t in inputs if id(t) not in reached]
    if unused:
        raise ValueError(f"Model inputs {unused} do not lead to any output.")
    return order
