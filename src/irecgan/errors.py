"""Errors caused by the user's input (files, flags), as opposed to bugs.

Command-line entry points catch `UserError` and print its message on one line, with no
traceback, then exit with status 2 (see `irecgan.cli.common.guarded`).
"""


class UserError(Exception):
    """A problem with the user's input. `str(err)` is one line, ready to print."""


class LogFormatError(UserError):
    """A malformed line in a data file: names the file, line number, field and value."""

    def __init__(self, path, lineno, field, value, reason):
        self.path = path
        self.lineno = lineno
        self.field = field
        self.value = value
        self.reason = reason
        super(LogFormatError, self).__init__(
            "%s:%d: field '%s': %s (got %s)" % (path, lineno, field, reason, _short(value)))


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"
