import sys

from mlops_guard.reference.cli import main

sys.exit(main(sys.argv[1:]))
