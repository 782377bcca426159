"""``python -m numnet``: the same as the ``numnet`` command."""

import sys

from .cli import main

sys.exit(main())
