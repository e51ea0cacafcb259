"""Exceptions that carry a Chinese message meant for the user.

The CLI prints ``str(exc)`` on one line and exits with the exception's code;
no traceback reaches a user for any of these.
"""


class XlsxgenError(Exception):
    """Base class: a problem the user can fix; ``exit_code`` is what the CLI returns."""

    exit_code = 2


class SpecError(XlsxgenError):
    """A format definition in templates/ is invalid."""


class UsageError(XlsxgenError):
    """Bad arguments or options (unknown format, implausible year, ...)."""


class UnreadableError(XlsxgenError):
    """A file cannot be read at all (not a workbook, zip bomb, encrypted, ...)."""
