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


class UsageError(InputError):
    """A command line that cannot be parsed (argparse's complaint, as one line, exit 2)."""


EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
"""Exit codes: clean, findings (and nothing else), usage/input/tool error."""

EXIT_INTERRUPTED = 130
"""Exit code of a run stopped with Ctrl-C (128 + SIGINT, as shells report it)."""


class MissingExtra(InputError):
    """A feature needs an optional dependency that is not installed."""


def require_extra(module: str, extra: str, feature: str):
    """Import ``module`` for ``feature``, or raise one line naming the extra to install.

    Heavy dependencies stay optional; a user who asks for a feature without its extra
    gets the install command, never a traceback.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing = getattr(error, "name", None) or module
        raise MissingExtra(
            f"{feature} needs the '{extra}' extra ({missing} is not installed): "
            f"pip install 'mlops-guard[{extra}]'"
        ) from None


TOOL_ERROR_HINT = "(run with --debug for the traceback)"
"""Ends the line of a tool error (an exception no code chose to raise for the user), so it
is told apart from an input error: the first is a bug to report, the second is for the
user to fix."""


EXTRAS = {
    "boto3": "aws",
    "botocore": "aws",
    "mlflow": "mlflow",
    "pandas": "report",
    "pyarrow": "report",
    "sagemaker": "sdk",
    "sklearn": "sdk",
    "numpy": "sdk",
    "hcl2": "terraform",
}
"""The extra that installs each optional top-level module (see pyproject.toml)."""


FILE_NOTE = "file: "
"""Prefix of the exception note (``error.add_note(FILE_NOTE + path)``, see
:func:`name_file`) that names the file being read when a crash happened, for the CLI's
one-line tool error."""


def name_file(error: BaseException, file: str) -> None:
    """Say which file ``error`` happened on, once (the innermost reader knows best)."""
    notes = getattr(error, "__notes__", ())
    if not any(isinstance(note, str) and note.startswith(FILE_NOTE) for note in notes):
        error.add_note(FILE_NOTE + file)


def invalid_json(
    error: ValueError | RecursionError,
    what: str = "invalid JSON",
    *,
    file: str | None = None,
    where: str | None = None,
    within: str | None = None,
    error_type: type[InputError] = InputError,
) -> InputError:
    """The one-line input error for text that ``json.loads`` refused, to raise ``from None``.

    ``what`` opens the message (``"baseline is not valid JSON"``) and the decoder's reason
    follows it. Where the text broke is ``line L, column C``: the ``where`` of the error for
    JSON that is a file of its own; for JSON held in a string of another document
    (``within`` names that string, ``"the body"``, and ``where`` points at it) the message
    says it instead. A ``ValueError`` that is not a decode error (an integer of 5,000
    digits) or a ``RecursionError`` (nesting deeper than ``json`` recurses) has no position:
    its first line is the reason.
    """
    import json

    if isinstance(error, json.JSONDecodeError):
        position = f"line {error.lineno}, column {error.colno}"
        if within is None:
            return error_type(f"{what}: {error.msg}", file=file, where=where or position)
        return error_type(f"{what}: {error.msg} ({position} of {within})", file=file, where=where)
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return error_type(f"{what}: {reason}", file=file, where=where)
