"""The SageMaker API's request and response shapes, as the API rules need them.

``sagemaker-requests.json`` is generated from the service model botocore ships (see
``generate``); it is read on first use only, so checking a definition without job steps,
and importing the package, cost nothing. botocore itself is never imported here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SHAPES_FILE = Path(__file__).with_name("sagemaker-requests.json")


@cache
def service_model() -> dict:
    """The shipped shapes document (``requests``, ``responses``, ``shapes``...)."""
    return json.loads(SHAPES_FILE.read_text(encoding="utf-8"))
