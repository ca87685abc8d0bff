"""Errors about what the user gave us, shown as one line and exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input or usage: a file, a location in it, and what was expected.

    The CLI prints ``str(error)`` on one line and exits 2; a traceback is shown only
    with ``--debug``.
    """

    def __init__(self, message: str, *, file: str | None = None, where: str | None = None):
        self.message = message
        self.file = file
        self.where = where
        super().__init__(self.format())

    def format(self) -> str:
        prefix = ""
        if self.file:
            prefix = f"{self.file}"
            if self.where:
                prefix += f": {self.where}"
            prefix += ": "
        elif self.where:
            prefix = f"{self.where}: "
        return prefix + self.message
