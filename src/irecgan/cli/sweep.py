"""irecgan-sweep: several irecgan-train runs in one process, one after the other.

    python -m irecgan.cli.sweep --run="--flagfile=configs/smoke.cfg --method=pg ... --run_dir=A"
                                --run="--flagfile=... --method=irecgan_true ... --run_dir=B"
    python -m irecgan.cli.sweep --runs_file=FILE   (one run's flags a line; blank lines and
                                                    lines starting with # are skipped)

Each --run is one irecgan-train command's flags (split as a shell splits words, without
expansion), --run_dir among them (on the line, not in a flag file: its log is RUN_DIR.log).
TensorFlow is imported once, in the first run's log (where a process of its own prints its
import lines). Each run parses its flags on a FlagValues of its own (cli/train_run.py) and builds
its models in a graph and session of its own, so its files are the bytes one irecgan-train
process per run writes: op-level seeds count per graph (tfcompat.next_op_seed), every
RandomState is made from the run's seed, and what the process caches (machine.describe, the
package's code digest) does not change between runs. What each run prints (stdout and stderr,
TensorFlow's own lines too) goes to RUN_DIR.log, replaced, as `irecgan-train ... > RUN_DIR.log
2>&1` does; the sweep prints one line per run:

    done RUN_DIR
    skip RUN_DIR: in use by process N        another process holds it (rundir/runlock.py)
    FAILED RUN_DIR, see RUN_DIR.log          the next run goes on
    stopped RUN_DIR by a signal, exit 143, see RUN_DIR.log

SIGTERM / SIGINT stop the run in progress at its next safe point with a checkpoint, as
irecgan-train does (rundir/stopping.py); no further run starts and the sweep exits 128 + the
signal number (143, 130), as irecgan-train does. A signal between two runs stops the sweep before
the next one. Exit status: 0 when every run is done or skipped, 1 when a run failed (after the
others ran), 2 for a bad command line of the sweep itself.
"""
import gc
import functools
import io
import operator
import os
import shlex
import signal
import sys
import threading
import traceback

from absl import flags

from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError
from irecgan.rundir import runlock, stopping

FLAGS = flags.FLAGS

flags.DEFINE_multi_string("run", [], "One irecgan-train run: its flags as one string (repeat "
                          "for more runs; they run in the order given).")
flags.DEFINE_string("runs_file", "", "A file of runs, one run's irecgan-train flags a line "
                    "(after the --run runs).")

FAILED = 1
# flag set (operator.or_, not `|`: vermin takes `a.B | a.C` for a Python 3.10 union type)
WRITE_EMPTY = functools.reduce(operator.or_, (os.O_WRONLY, os.O_CREAT, os.O_TRUNC))


def run_lines(runs, runs_file):
    """The runs' flag strings: `runs`, then the lines of `runs_file` ('' for none) that are
    neither blank nor comments."""
    lines = list(runs)
    if runs_file:
        try:
            with io.open(runs_file, encoding="utf-8") as handle:
                lines += [line.strip() for line in handle
                          if line.strip() and not line.strip().startswith("#")]
        except (IOError, OSError) as err:
            raise UserError("--runs_file=%s: %s" % (runs_file, err.strerror or err))
    if not lines:
        raise UserError("no run given: --run=\"FLAGS\" or --runs_file=FILE")
    return lines


def split_words(line):
    try:
        return shlex.split(line)
    except ValueError as err:
        raise UserError("cannot split %r into words: %s" % (line, err))


def parse_run(words):
    """The parsed irecgan-train flags of one run (UserError for a bad flag, as irecgan-train's
    one line)."""
    from irecgan.cli import train_run  # TensorFlow: imported in the first run's log, as there
    values = train_run.flag_values()
    try:
        rest = values(["irecgan-train"] + list(words))
    except flags.Error as err:
        raise UserError(" ".join(str(err).split()))
    if len(rest) > 1:
        raise UserError("unexpected arguments: %s" % " ".join(rest[1:]))
    return values


def run_dir_of(words):
    """The last --run_dir among `words`, or None."""
    found = None
    for i, word in enumerate(words):
        if word.startswith("--run_dir="):
            found = word.split("=", 1)[1]
        elif word == "--run_dir" and i + 1 < len(words):
            found = words[i + 1]
    return found or None


class into_file(object):
    """Context manager: file descriptors 1 and 2 (and with them sys.stdout, sys.stderr and
    TensorFlow's C++ lines) write to `path`, created or emptied; the previous ones are back
    afterwards."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        folder = os.path.dirname(self.path)
        if folder and not os.path.isdir(folder):
            os.makedirs(folder, exist_ok=True)
        target = os.open(self.path, WRITE_EMPTY, 0o666)
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = (os.dup(1), os.dup(2))
        os.dup2(target, 1)
        os.dup2(target, 2)
        os.close(target)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        return False


def exit_status(words, run_dir):
    """Parse and train the run of `words` as irecgan-train's process would and return its exit
    status: 0, 2 for a UserError (its one line), 1 for a crash (its traceback), 128 + N when
    signal N stopped it (its one line)."""

    def main(argv):
        values = parse_run(words)
        if values.run_dir != run_dir:
            raise UserError("--run_dir=%s on the run's line, %s after its flag files: give it "
                            "once, on the line" % (run_dir, values.run_dir))
        from irecgan.cli import train_run
        train_run.train(values)
    try:
        guarded(main)([])
        return 0
    except SystemExit as end:
        code = end.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Exception:  # a crash: the traceback an uncaught exception prints, status 1
        traceback.print_exc()
        return FAILED


class Sweep(object):
    """The runs of `lines` (flag strings) in order; `out`: where the one-line reports go."""

    def __init__(self, lines, out=None):
        self.lines = list(lines)
        self.out = out or sys.stdout
        self.signals = []  # SIGTERM / SIGINT received while no run had its own handlers

    def say(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def _note(self, signum, frame):
        self.signals.append(signum)

    def run(self):
        """The exit status of the sweep (see the module's docstring)."""
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in stopping.SIGNALS:
                previous[signum] = signal.signal(signum, self._note)
        try:
            return self._runs()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _runs(self):
        failed = False
        for number, line in enumerate(self.lines, 1):
            if self.signals:
                return self._stopped_between(number, line)
            status = self.one(number, line)
            if status in (128 + signal.SIGTERM, 128 + signal.SIGINT):
                return status
            failed = failed or status != 0
            gc.collect()  # the finished run's graph and session
        if self.signals:
            return 128 + self.signals[0]
        return FAILED if failed else 0

    def _stopped_between(self, number, line):
        signum = self.signals[0]
        try:
            what = run_dir_of(split_words(line)) or "run %d" % number
        except UserError:
            what = "run %d" % number
        self.say("stopped by %s before %s: run the same command to resume"
                 % (stopping.signal_name(signum), what))
        return 128 + signum

    def one(self, number, line):
        """Run line `number`; its exit status (0 for a skipped run)."""
        try:
            run_dir = run_dir_of(split_words(line))
            if run_dir is None:
                raise UserError("no --run_dir on the line (its log is RUN_DIR.log)")
        except UserError as err:
            self.say("FAILED run %d (%s): error: %s" % (number, line, err))
            return 2
        who = runlock.holder(run_dir)  # before RUN_DIR.log is emptied
        if who is not None:
            self.say("skip %s: in use by %s" % (run_dir, who))
            return 0
        with into_file(run_dir + ".log"):
            status = exit_status(split_words(line), run_dir)
        if status == 0:
            self.say("done %s" % run_dir)
        elif status in (128 + signal.SIGTERM, 128 + signal.SIGINT):
            self.say("stopped %s by a signal, exit %d, see %s.log" % (run_dir, status, run_dir))
        else:
            self.say("FAILED %s, see %s.log" % (run_dir, run_dir))
        return status


@guarded
def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s (each run's flags go in one --run=\"...\")"
                        % " ".join(argv[1:]))
    sys.exit(Sweep(run_lines(FLAGS.run, FLAGS.runs_file)).run())


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
