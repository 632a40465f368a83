"""Helpers shared by the command-line entry points."""
import functools
import sys

from absl import app, flags

from irecgan.errors import UserError
from irecgan.rundir.stopping import Stopped


def guarded(main):
    """Wrap an absl `main(argv)`: a `UserError` becomes one line on stderr and exit status 2;
    training stopped by SIGTERM / SIGINT (`stopping.Stopped`) its one line and exit status
    128 + the signal number."""

    @functools.wraps(main)
    def wrapper(argv):
        try:
            return main(argv)
        except UserError as err:
            sys.stderr.write("error: %s\n" % err)
            sys.stderr.flush()
            sys.exit(2)
        except Stopped as stop:
            sys.stderr.write("%s\n" % stop)
            sys.stderr.flush()
            sys.exit(stop.status)
    return wrapper


def run_cli(main, module_name):
    """Run an absl `main` as a console script.

    `--help` lists the flags of `module_name` (absl lists those of the module named by
    sys.argv[0], which for a console script is the wrapper, not this module), and a bad or
    missing flag is one line on stderr with exit status 2 instead of absl's usage dump.
    """
    values = flags.FLAGS
    for flag in values.get_key_flags_for_module(module_name):
        values.register_key_flag_for_module(sys.argv[0], flag)
    app.define_help_flags()  # --help/--helpfull are known to the early parse too
    try:
        values(sys.argv)
    except flags.Error as err:
        sys.stderr.write("error: %s\n" % " ".join(str(err).split()))
        sys.exit(2)
    # app.run parses sys.argv again: forget this parse first, or a multi-value flag keeps the
    # values of both parses (every `--env_params` twice).
    values.unparse_flags()
    app.run(main)
