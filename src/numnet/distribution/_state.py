"""Where the active distribution lives: ``current`` is None (one process, the default) or
a ``DataParallel``. Kept in a module of its own, without imports, so that the training
step's hook is one attribute test and importing numnet never imports mpi4py."""

current = None
