"""``python -m mlops_guard`` is the ``mlops-guard`` command.

:func:`mlops_guard.cli.main` turns whatever escapes a command into one line and exit 2;
only a broken installation (the CLI itself failing to import) is caught here.
"""

import sys

try:
    from mlops_guard.cli import main
except Exception as error:  # a broken installation is still one line and exit 2
    sys.stderr.write(f"mlops-guard: error: cannot start: {type(error).__name__}: {error}\n")
    raise SystemExit(2) from None

raise SystemExit(main())
