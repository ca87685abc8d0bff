"""``python -m mlops_guard`` is the ``mlops-guard`` command."""

from mlops_guard.cli import main

raise SystemExit(main())
