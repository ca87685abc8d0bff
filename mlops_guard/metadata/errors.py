"""The one error type the metadata layer raises for bad files, options or sources.

It is an :class:`mlops_guard.errors.InputError`, so the CLI shows it as a single line
(``file: /json/pointer: problem``) and exits 2 instead of printing a traceback.
"""

from __future__ import annotations

from mlops_guard.errors import InputError


class MetadataInputError(InputError):
    """A metadata export (or a source of one) that we cannot read as given."""
