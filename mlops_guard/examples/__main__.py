"""``python -m mlops_guard.examples [--write]``: check or refresh the bundled examples."""

import sys

from mlops_guard.examples import main

sys.exit(main(sys.argv[1:]))
