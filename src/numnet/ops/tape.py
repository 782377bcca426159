"""Recording ops and the reverse pass: ``GradientTape``, ``record`` and ``primitive``.

While a ``GradientTape`` is active, every op whose inputs include a Tensor the tape
watches appends one ``Node`` to the tape: the inputs, the outputs and a ``backward``
closure ``backward(output_grad) -> input grads``. Watched are: what ``tape.watch`` was
given, every trainable ``Variable`` an op reads (``watch_accessed_variables=True``, as in
TensorFlow), and every output of a recorded op. Ops on unwatched values record nothing,
and with no tape active an op only computes (one list check).

``tape.gradient(target, sources)`` walks the nodes once forwards (to keep only the nodes
that depend on a source) and once backwards, summing the gradient of each Tensor over
its uses. Gradients are NumPy arithmetic, not recorded ops: there are no higher-order
gradients (a gradient is a Tensor no tape has seen).

What comes back as ``None`` (TensorFlow's ``UnconnectedGradients.NONE``):
  * a source the target does not depend on through recorded ops (including a target
    computed outside the tape, or from values the tape does not watch);
  * a source, target or path with an integer or boolean dtype (argmax, comparisons,
    ``cast`` to an integer type, one_hot, indices): integers carry no gradient.
``unconnected_gradients="zero"`` gives zeros of the source's shape instead.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .tensor import Tensor, Variable, as_array, wrap

# The tapes that are recording, innermost last. Mutated in place, never rebound: the op
# modules import this list and test its truth before building a backward closure.
_active: list["GradientTape"] = []

_FLOAT_KINDS = frozenset("fc")


class Node:
    """One recorded op: ``outputs = op(inputs)`` and how to send gradients back.

    ``backward`` receives the gradient of the single output (``single``) or a tuple with
    one gradient per output (zeros for outputs that received none), and returns one
    gradient (or None) per input. With ``pass_needed`` it also receives a tuple of bools
    saying which inputs need a gradient, so it can skip the others. With
    ``pass_needed="out"`` an entry may instead be an array to write that input's gradient
    into (a layer's gradient buffer, see ``GradientTape._backprop``'s ``destinations``).
    ``checked``: the reverse pass checks (and casts) each returned gradient against its
    input's shape and dtype; numnet's elementwise ops and matmul return gradients of the
    right shape and dtype as NumPy arrays already and skip that (``checked=False``).
    """

    __slots__ = ("backward", "inputs", "outputs", "name", "single", "pass_needed", "checked")

    def __init__(self, backward, inputs, outputs, name, single, pass_needed=False, checked=True) -> None:
        self.backward = backward
        self.inputs = inputs
        self.outputs = outputs
        self.name = name
        self.single = single
        self.pass_needed = pass_needed
        self.checked = checked


def link(out: Tensor, inputs: tuple, backward, name: str, pass_needed: bool = False, checked: bool = True) -> Tensor:
    """Record the single-output op ``out = name(*inputs)`` on every active tape that
    watches one of ``inputs``; return ``out``. The ops call this only when ``_active``.
    With ``pass_needed``, ``backward(g, needed)`` learns which inputs need a gradient;
    ``checked=False`` promises gradients with each input's shape and dtype (``Node``)."""
    node = None
    for tape in _active:
        if tape._watches_any(inputs):
            if node is None:
                node = Node(backward, inputs, (out,), name, True, pass_needed, checked)
            tape._nodes.append(node)
            if out.value.dtype.kind in _FLOAT_KINDS:  # integers carry no gradient: not watched
                tape._ids[id(out)] = out
    return out


def link_many(outs: tuple, inputs: tuple, backward, name: str, pass_needed: bool = False) -> tuple:
    """``link`` for an op with several outputs; ``backward`` gets a tuple of gradients."""
    node = None
    for tape in _active:
        if tape._watches_any(inputs):
            if node is None:
                node = Node(backward, inputs, tuple(outs), name, False, pass_needed)
            tape._nodes.append(node)
            for o in outs:
                if o.value.dtype.kind in _FLOAT_KINDS:
                    tape._ids[id(o)] = o
    return outs


def is_recording() -> bool:
    """Whether any GradientTape is recording now."""
    return bool(_active)


@contextlib.contextmanager
def pause_recording():
    """No tape records inside this block (shape inference on dummy values uses it)."""
    saved = _active[:]
    _active.clear()
    try:
        yield
    finally:
        _active[:] = saved


# --- public hook: a NumPy function with a hand-written backward as one tape node ------


def record(backward, inputs, outputs, name: str = "primitive", pass_needed: bool = False):
    """Put ``outputs = f(inputs)``, computed outside ``numnet.ops``, on the active tapes.

    ``inputs``: a sequence of Tensors / Variables (differentiable when watched) and any
    other values (constants; their gradients are ignored). ``outputs``: one Tensor or a
    sequence of Tensors, freshly made from the NumPy results (``Tensor(array)``).
    ``backward(output_grads)`` receives the gradient of ``outputs`` in the same structure
    (one array, or a tuple with zeros for outputs that got no gradient) and returns one
    gradient or None per input, each with that input's shape. With ``pass_needed=True``
    it is called as ``backward(output_grads, needed)``, ``needed[i]`` saying whether input
    ``i`` needs a gradient (skip the work for the others; return None for them).
    Returns ``outputs``.
    """
    if not callable(backward):
        raise TypeError(f"record: backward must be callable, got {type(backward).__name__}.")
    inputs = tuple(inputs)
    single = isinstance(outputs, Tensor)
    outs = (outputs,) if single else tuple(outputs) if isinstance(outputs, (list, tuple)) else (outputs,)
    for o in outs:
        if not isinstance(o, Tensor) or isinstance(o, Variable):
            raise TypeError(f"record: outputs must be new Tensors, got {type(o).__name__}.")
    if not _active:
        return outputs
    node = None
    for tape in _active:
        if tape._watches_any(inputs):
            if node is None:
                node = Node(backward, inputs, outs, name, single, pass_needed)
            tape._nodes.append(node)
            for o in outs:
                if o.value.dtype.kind in _FLOAT_KINDS:
                    tape._ids[id(o)] = o
    return outputs


def primitive(fn=None, *, name: str | None = None, pass_needed: bool = False):
    """Decorator: ``fn(*arrays, **kwargs) -> (outputs, backward)`` becomes an op.

    ``fn`` computes with NumPy on the arrays behind its positional arguments and returns
    its result (one array or a tuple of arrays) and ``backward(output_grads) -> input
    grads`` (one per positional argument, None where there is none), as ``record``
    describes. Keyword arguments are passed through as constants. The decorated function
    takes Tensors, Variables or arrays and returns Tensors, recorded as one node::

        @ops.primitive
        def scale_shift(x, w, b):
            y = x * w + b
            def backward(g):
                return g * w, (g * x).sum(0), g.sum(0)
            return y, backward
    """

    def decorate(f):
        op_name = name or f.__name__

        def op(*args, **kwargs):
            arrays = [as_array(a) for a in args]
            result, backward = f(*arrays, **kwargs)
            if isinstance(result, tuple):
                outs = tuple(wrap(r) for r in result)
                record(backward, args, list(outs), op_name, pass_needed)
                return outs
            out = wrap(result)
            return record(backward, args, out, op_name, pass_needed)

        op.__name__ = f.__name__
        op.__qualname__ = getattr(f, "__qualname__", f.__name__)
        op.__doc__ = f.__doc__
        return op

    return decorate(fn) if fn is not None else decorate


# --- structures of sources ------------------------------------------------------------


def _flatten(structure, leaves: list):
    """Append the leaves of a nested list / tuple / dict to ``leaves``; return a template."""
    if isinstance(structure, dict):
        return {k: _flatten(v, leaves) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_flatten(v, leaves) for v in structure)
    leaves.append(structure)
    return None


def _rebuild(template, leaves, structure):
    if isinstance(structure, dict):
        return {k: _rebuild(template[k], leaves, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_rebuild(t, leaves, v) for t, v in zip(template, structure))
    return next(leaves)


class GradientTape:
    """Records ops so that ``gradient`` can compute derivatives, as TensorFlow's tape::

        with numnet.GradientTape() as tape:
            loss = ops.mean(ops.square(x @ w - y))
        dw = tape.gradient(loss, w)

    ``persistent=False``: ``gradient`` may be called once (a second call raises
    RuntimeError) and the recording is freed after it. ``watch_accessed_variables``:
    trainable Variables read by an op are watched without ``watch``.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._nodes: list[Node] = []
        self._ids: dict[int, Tensor] = {}  # watched Tensors by id (holding them keeps ids unique)
        self._variables: dict[int, Variable] = {}
        self._used = False

    # --- recording ------------------------------------------------------------------
    def __enter__(self) -> "GradientTape":
        if self in _active:
            raise RuntimeError("GradientTape: this tape is already recording; enter it once.")
        _active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        if self in _active:
            _active.remove(self)

    def _watches_any(self, inputs) -> bool:
        ids = self._ids
        hit = False
        for x in inputs:
            if id(x) in ids:
                hit = True
            elif self.watch_accessed_variables and isinstance(x, Variable) and x.trainable:
                ids[id(x)] = x
                self._variables[id(x)] = x
                hit = True
        return hit

    def watch(self, tensor) -> None:
        """Watch a Tensor / Variable (or a nested list / tuple / dict of them)."""
        leaves: list = []
        _flatten(tensor, leaves)
        for t in leaves:
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"GradientTape.watch expects Tensors or Variables, got {type(t).__name__}; "
                    f"wrap arrays with numnet.ops.convert_to_tensor first."
                )
            self._ids[id(t)] = t
            if isinstance(t, Variable):
                self._variables[id(t)] = t

    def watched_variables(self) -> list[Variable]:
        """The Variables this tape watches, in the order it first saw them."""
        return list(self._variables.values())

    @contextlib.contextmanager
    def stop_recording(self):
        """Ops inside this block are not recorded on this tape."""
        if self not in _active:
            raise RuntimeError("GradientTape.stop_recording: the tape is not recording.")
        index = _active.index(self)
        _active.remove(self)
        try:
            yield
        finally:
            _active.insert(index, self)

    def reset(self) -> None:
        """Forget everything recorded (the tape keeps recording if active)."""
        self._nodes = []
        self._ids = {}
        self._variables = {}
        self._used = False

    # --- the reverse pass -------------------------------------------------------------
    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d sum(target) / d source for each source, in the structure of ``sources``.

        ``target``: a Tensor (or a list of Tensors, whose sums add up); a non-scalar target
        is differentiated through its sum, or through ``sum(target * output_gradients)``.
        ``sources``: a Tensor / Variable, or a nested list / tuple / dict of them.
        Returns Tensors (no tape records them), None for a source not connected to the
        target or with an integer dtype (``unconnected_gradients="zero"``: zeros).
        """
        if self._used and not self.persistent:
            raise RuntimeError(
                "GradientTape.gradient can only be called once on a non-persistent tape; "
                "create it with GradientTape(persistent=True) to call it several times."
            )
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(
                f"GradientTape.gradient: unconnected_gradients must be 'none' or 'zero', "
                f"got {unconnected_gradients!r}."
            )
        targets: list = []
        _flatten(target, targets)
        seeds: list = [None] * len(targets)
        if output_gradients is not None:
            seeds = []
            _flatten(output_gradients, seeds)
            if len(seeds) != len(targets):
                raise ValueError(
                    f"GradientTape.gradient: {len(targets)} targets but {len(seeds)} output_gradients."
                )
        leaves: list = []
        template = _flatten(sources, leaves)
        self._refuse_second_order(targets)
        for what, items in (("target", targets), ("source", leaves)):
            for t in items:
                if not isinstance(t, Tensor):
                    hint = (" A layer's or model's weights as Variables are layer.trainable_variables "
                            "(trainable_weights are the plain arrays)." if what == "source" and
                            isinstance(t, np.ndarray) else "")
                    raise TypeError(
                        f"GradientTape.gradient: each {what} must be a numnet Tensor or Variable "
                        f"(computed with numnet.ops), got {type(t).__name__}.{hint}"
                    )
        grads = self._backprop(targets, seeds, leaves)
        if not self.persistent:
            self._used = True
            self._nodes, self._ids, self._variables = [], {}, {}
        results = []
        for s in leaves:
            g = grads.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = np.zeros(s.shape, dtype=s.dtype)
            results.append(None if g is None else wrap(g))
        if template is None:
            return results[0]
        return _rebuild(template, iter(results), sources)

    def _refuse_second_order(self, targets) -> None:
        """A gradient asked for while another tape records the target: that tape would need
        this gradient's own derivative (a gradient penalty, a Hessian-vector product), which
        numnet's ops do not record (their backward passes are NumPy). Refused rather than
        silently treated as a constant."""
        for other in _active:
            if other is not self and any(id(t) in other._ids for t in targets if isinstance(t, Tensor)):
                raise NotImplementedError(
                    "GradientTape.gradient was called inside another recording GradientTape that recorded the "
                    "target: numnet computes first-order gradients only, so the outer tape could not "
                    "differentiate this gradient (gradient penalties, Hessians). Compute the gradient after "
                    "leaving the outer tape, or inside `with outer.stop_recording():` if it is not to be "
                    "differentiated."
                )

    def _backprop(self, targets, seeds, sources, destinations=None, all_live=False) -> dict[int, np.ndarray]:
        """Gradient arrays by id for every float Tensor between ``sources`` and ``targets``.

        ``destinations``: ``{id(source): array}`` (consumed), where an op that can write
        in place (``pass_needed="out"``, as matmul) may write a source's gradient: a call
        layer's kernel gradient then lands in the model's flat gradient buffer without a
        copy, and the result holds that array (unless other ops' parts were added to it).
        ``all_live``: the caller knows that every Tensor the tape watched is a source or
        was computed from one (a call layer's private tape, differentiated with respect to
        its inputs and the weights it watched), which spares the forward walk."""
        ids = self._ids
        if all_live:
            live, nodes = ids, self._nodes  # only float Tensors are watched (``link``)
        else:
            # A source counts when the tape watched it (or recorded it as an op's output), as
            # in TensorFlow: an unwatched Tensor gets None even where a recorded op read it.
            live = set()
            for s in sources:
                key = id(s)
                if key in ids and s.value.dtype.kind in _FLOAT_KINDS:
                    live.add(key)
            nodes = []
            for node in self._nodes:  # forwards: keep the nodes downstream of a source
                for x in node.inputs:
                    if id(x) in live:
                        nodes.append(node)
                        for o in node.outputs:
                            if o.value.dtype.kind in _FLOAT_KINDS:
                                live.add(id(o))
                        break
        grads: dict[int, np.ndarray] = {}
        for t, seed in zip(targets, seeds):
            if id(t) not in live:
                continue
            if seed is None:
                g = np.ones(t.shape, dtype=t.dtype)
            elif type(seed) is np.ndarray and seed.shape == t.value.shape and seed.dtype == t.value.dtype:
                g = seed
            else:
                g = _checked(as_array(seed), t, "output_gradients")
            grads[id(t)] = grads[id(t)] + g if id(t) in grads else g
        for node in reversed(nodes):
            outs = node.outputs
            if node.single:
                g_out = grads.get(id(outs[0]))
                if g_out is None:
                    continue
            else:
                g_out = tuple(grads.get(id(o)) for o in outs)
                if all(g is None for g in g_out):
                    continue
                g_out = tuple(np.zeros(o.shape, o.dtype) if g is None else g for o, g in zip(outs, g_out))
            inputs = node.inputs
            if node.pass_needed:
                if destinations and node.pass_needed == "out":
                    # A destination goes to the first op (in reverse order) that reads the
                    # source; a second reader gets a fresh array, so that the sum of the two
                    # is a new array and the first one's part is not overwritten.
                    needed = []
                    for x in inputs:
                        out = destinations.pop(id(x), None)
                        needed.append(id(x) in live if out is None else out)
                    needed = tuple(needed)
                elif len(inputs) == 2:
                    needed = (id(inputs[0]) in live, id(inputs[1]) in live)
                else:
                    needed = tuple([id(x) in live for x in inputs])
                g_in = node.backward(g_out, needed)
            else:
                g_in = node.backward(g_out)
            if len(g_in) != len(inputs):
                raise ValueError(
                    f"{node.name}: backward returned {len(g_in)} gradients for {len(inputs)} inputs."
                )
            checked = node.checked
            for x, g in zip(inputs, g_in):
                if g is None:
                    continue
                key = id(x)
                if key not in live:
                    continue
                if checked or type(g) is not np.ndarray:
                    g = _checked(g, x, node.name)
                previous = grads.get(key)
                grads[key] = g if previous is None else previous + g  # never in place: g may be shared
        return grads


def _checked(g, x: Tensor, op: str) -> np.ndarray:
    """``g`` as an array with the shape and dtype of ``x`` (ValueError on a wrong shape)."""
    if type(g) is not np.ndarray:
        g = np.asarray(g.value if isinstance(g, Tensor) else g)
    value = x.value  # one read: a layer's Variable looks its array up on every access
    if g.shape != value.shape:
        raise ValueError(f"{op}: gradient has shape {g.shape}, expected the input's shape {value.shape}.")
    if g.dtype != value.dtype:
        g = g.astype(value.dtype)
    return g
