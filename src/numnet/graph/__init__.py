"""The graph: symbolic tensors, the nodes that calls of layers create, and the execution
plan that runs them.

* ``SymbolicTensor`` (``tensor.py``): what calling a layer on ``Input(...)`` returns, a
  shape (batch dimension ``None``) and a dtype, produced by one ``Node``.
* ``Node`` (``node.py``): one call of a layer: its input tensors and output tensors. A
  layer may be called any number of times; each call is a node.
* ``Plan`` (``plan.py``): the nodes between a model's inputs and outputs in execution
  order, as steps; ``Run`` is one execution of it and owns that execution's caches.
* ``call_state.py``: how a step gives each call of a shared layer its own cache.
* ``rewrites.py``: exact rewrites of the plan (conv + max-pool).
"""

from .node import Node
from .plan import Plan, Run
from .tensor import SymbolicTensor, is_symbolic, shapes_compatible

__all__ = ["Node", "Plan", "Run", "SymbolicTensor", "is_symbolic", "shapes_compatible"]
