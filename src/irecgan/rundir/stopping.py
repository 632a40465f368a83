"""SIGTERM and SIGINT in training: stop at the next safe point with a checkpoint (issue 25).

Schedulers (Slurm's time limit, preemption), `kill` and Ctrl-C stop a process with SIGTERM or
SIGINT first and SIGKILL after a grace period. While `handlers()` is active (experiment.run, the
training path of irecgan-train; never at import time), the first such signal only records itself,
and training stops at the next safe point:

* after the checkpoint of the unit in progress (`Runner.save` calls `after_checkpoint`): a
  pretraining epoch or an adversarial unit is finished and checkpointed, then the run stops.
  Units, not batches: the resumed run must be byte-identical to an uninterrupted one, and the
  checkpoints at the end of units are the ones that already guarantee that (tests/test_crash.py);
  a checkpoint inside an epoch would also have to hold the epoch's batch order and running sums,
  and inside an adversarial unit its generated sessions and D's pool order;
* before the first unit (`before_training`), when the signal came while the run was loading its
  data, building its graph or restoring: the checkpoint it restored (or none) is current;
* at once during the final evaluation (`anywhere`): it trains nothing, and a resume runs it again
  from the last checkpoint.

Stopping raises `Stopped` (a BaseException, like KeyboardInterrupt, so no `except Exception`
swallows it); `cli.common.guarded` turns it into its one line on stderr, e.g.

    stopped by SIGTERM after agent epoch 3: checkpoint written; run the same command to resume

and exit status 128 + the signal number (143 for SIGTERM, 130 for SIGINT), as a shell reports a
process killed by that signal. A second SIGINT while stopping exits at once (status 130; the
checkpoints on disk are complete or absent in any case). A repeated SIGTERM is noted and ignored:
Slurm and container runtimes may deliver one stop twice (to the batch shell's process group and
forwarded), and the scheduler follows with SIGKILL anyway.
"""
import os
import signal
import sys
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT)

_state = {"signal": None, "anywhere": None}


class Stopped(BaseException):
    """Training stopped at a safe point on a signal; `status` = 128 + the signal number."""

    def __init__(self, signum, message):
        BaseException.__init__(self, message)
        self.signum = signum
        self.status = 128 + int(signum)


def signal_name(signum):
    try:
        return signal.Signals(signum).name
    except (ValueError, AttributeError):  # pragma: no cover
        return "signal %d" % signum


def requested():
    """The signal number received while the handlers are active, or None."""
    return _state["signal"]


def _stopped(what):
    signum = _state["signal"]
    return Stopped(signum, "stopped by %s %s; run the same command to resume"
                   % (signal_name(signum), what))


def _handler(signum, frame):
    if _state["signal"] is not None:
        if signum == signal.SIGINT:
            sys.stderr.write("second %s while stopping: exiting at once (the checkpoints are "
                             "complete or absent)\n" % signal_name(signum))
            sys.stderr.flush()
            os._exit(128 + signum)
        sys.stderr.write("%s again: already stopping at the next safe point (SIGINT exits at "
                         "once)\n" % signal_name(signum))
        sys.stderr.flush()
        return
    _state["signal"] = signum
    if _state["anywhere"] is not None:
        raise _stopped(_state["anywhere"])


class handlers(object):
    """Context manager: SIGTERM / SIGINT stop training at the next safe point while it is active;
    the previous handlers are back afterwards. Inert outside the main thread (Python delivers
    signals there only)."""

    def __enter__(self):
        self.previous = {}
        _state["signal"] = None
        _state["anywhere"] = None
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in SIGNALS:
            self.previous[signum] = signal.signal(signum, _handler)
        return self

    def __exit__(self, *exc):
        for signum, previous in self.previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        _state["signal"] = None
        _state["anywhere"] = None
        return False


def after_checkpoint(where):
    """A safe point right after the checkpoint `where` was written."""
    if _state["signal"] is not None:
        raise _stopped("after %s: checkpoint written" % where)


def before_training(where):
    """A safe point after the run directory is opened, before any unit: `where` is the
    checkpoint restored (None: a fresh run)."""
    if _state["signal"] is not None:
        raise _stopped("before training: %s" % (
            "nothing trained yet" if where is None
            else "its checkpoint (%s) is current" % where))


class anywhere(object):
    """Context manager: a block that may stop at any moment (it changes nothing a resume needs;
    `what` names it in the line), e.g. the final evaluation."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        _state["anywhere"] = self.what  # first: a signal from here on raises in the handler
        if _state["signal"] is not None:
            _state["anywhere"] = None
            raise _stopped(self.what)
        return self

    def __exit__(self, *exc):
        _state["anywhere"] = None
        return False
