"""Helpers shared by the command-line entry points."""
import functools
import sys

from irecgan.errors import UserError


def guarded(main):
    """Wrap an absl `main(argv)`: a `UserError` becomes one line on stderr and exit status 2."""

    @functools.wraps(main)
    def wrapper(argv):
        try:
            return main(argv)
        except UserError as err:
            sys.stderr.write("error: %s\n" % err)
            sys.stderr.flush()
            sys.exit(2)
    return wrapper
