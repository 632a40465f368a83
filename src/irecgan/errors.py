"""Errors caused by the user's input (files, flags), as opposed to bugs.

Command-line entry points catch `UserError` and print its message on one line, with no
traceback, then exit with status 2 (see `irecgan.cli.common.guarded`).

A full disk is one of them (`DiskFullError`, made by `writing`): the run cannot go on, and the
user can fix it and resume.
"""
import contextlib
import errno
import os
import re


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


# errno codes that mean "no room for this write", and their names
NO_SPACE = dict((code, name) for code, name in errno.errorcode.items()
                if name in ("ENOSPC", "EDQUOT"))
RESUME_HINT = "free space and run the same command to resume"
# TensorFlow names the file it was writing in its error text: "PATH; No space left on device"
# (the Saver's ResourceExhaustedError, TF 1.15 and 2.x; the 2.x events writer's RuntimeError)
_TF_NO_SPACE = dict((os.strerror(code), code) for code in NO_SPACE)
_TF_PATH = re.compile(r"(\S+); (%s)" % "|".join(re.escape(text) for text in _TF_NO_SPACE))
_TEMP_SUFFIX = re.compile(r"\.tempstate\d+$")  # the Saver writes PATH.tempstateN, then renames


class DiskFullError(UserError):
    """No space left on the device (or quota) while writing `path`; one line saying what to do."""

    def __init__(self, path, code=errno.ENOSPC):
        self.path = path
        self.code = code
        super(DiskFullError, self).__init__("%s: %s (%s); %s" % (
            path, os.strerror(code), NO_SPACE.get(code, errno.errorcode.get(code, code)),
            RESUME_HINT))


def disk_full(err, path):
    """The `DiskFullError` that `err` amounts to, or None when it is not about a full disk.

    `err`: an `OSError`/`IOError` with errno ENOSPC or EDQUOT (named as `path`, the file being
    written), a `DiskFullError` already (returned as it is), or an error of TensorFlow whose text
    says "PATH; No space left on device" (named as PATH, without the Saver's `.tempstateN`)."""
    if isinstance(err, DiskFullError):
        return err
    if isinstance(err, EnvironmentError):
        return DiskFullError(path, err.errno) if err.errno in NO_SPACE else None
    if not isinstance(err, Exception):
        return None
    match = _TF_PATH.search(str(err))
    if match is None:
        return None
    return DiskFullError(_TEMP_SUFFIX.sub("", match.group(1)), _TF_NO_SPACE[match.group(2)])


@contextlib.contextmanager
def writing(path, cleanup=None):
    """Run a block of writes to `path`; a full disk in it becomes a `DiskFullError` (one line,
    exit status 2 in the command-line programs). `cleanup()` runs first, to give back what the
    failed write took (a temporary file or folder). Other errors pass unchanged."""
    try:
        yield
    except Exception as err:
        full = disk_full(err, path)
        if full is None:
            raise
        if cleanup is not None:
            cleanup()
        raise full
