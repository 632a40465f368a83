"""Fault injection for the crash tests; inert unless the environment asks for it.

    IRECGAN_FAULT_AT="EVENT:N[:ACTION][,EVENT:N[:ACTION]...]"

makes the process act at the N-th occurrence of EVENT (counted from the start of the process):
ACTION `kill` (the default) sends it SIGKILL, as `kill -9` or a power cut would; `stop` sends it
SIGSTOP (a test resumes it with SIGCONT), to hold a run in a chosen state; `term` and `int` send
it SIGTERM and SIGINT, as a scheduler or Ctrl-C would (training then stops at its next safe
point, see stopping.py). Just before acting the
process writes one line to stderr: `fault injection: kill at EVENT:N (in f < g < ...)`, naming
the innermost irecgan functions on the stack. Events:

  checkpoint.start      a checkpoint is about to be written (nothing of it on disk yet)
  checkpoint.variables  a checkpoint's variables are written (in its temporary folder), its
                        state.npz and state.json not yet
  checkpoint.marker     state.npz and state.json written, the COMPLETE marker not yet
  checkpoint.rename     the checkpoint is complete in its temporary folder, not yet renamed
  metrics.line          half of a metrics.jsonl record is written (with `kill` the rest never is)
  results               results.json is written to its temporary name, not yet renamed
  export.rename         an export (irecgan.export) is complete in its temporary folder, not
                        yet renamed to its --out
  run                   a TensorFlow session call is about to start
  run@FUNC              a session call made while a function named FUNC is on the stack (e.g.
                        run@generate, run@train_disc, run@pretrain, run@final)

The session-call events patch `tf.Session.run` (see `watch_session_runs`), only when armed.
Nothing here is meant for users; the tests (tests/test_crash.py) are its only client.
"""
import os
import signal
import sys

ENV = "IRECGAN_FAULT_AT"
ACTIONS = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP, "term": signal.SIGTERM,
           "int": signal.SIGINT}

_armed = {}      # event -> (n, action)
_counts = {}     # event -> occurrences so far
_patched = []    # the original Session.run once patched


def parse(spec):
    """`"a:1,b@f:2:stop"` -> {"a": (1, "kill"), "b@f": (2, "stop")}; ValueError when malformed."""
    out = {}
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        fields = part.split(":")
        if len(fields) not in (2, 3) or not fields[0]:
            raise ValueError("%s: expected EVENT:N[:ACTION], got %r" % (ENV, part))
        action = fields[2] if len(fields) == 3 else "kill"
        if action not in ACTIONS:
            raise ValueError("%s: unknown action %r (%s)" % (ENV, action,
                                                              ", ".join(sorted(ACTIONS))))
        n = int(fields[1])
        if n < 1:
            raise ValueError("%s: N must be at least 1, got %r" % (ENV, part))
        out[fields[0]] = (n, action)
    return out


def arm(spec):
    """Arm the faults of `spec` (the syntax of IRECGAN_FAULT_AT) and reset the counters."""
    _armed.clear()
    _armed.update(parse(spec))
    _counts.clear()
    if any(event == "run" or event.startswith("run@") for event in _armed):
        watch_session_runs()


def armed():
    return bool(_armed)


def _stack_names(frame, limit=6):
    names = []
    while frame is not None and len(names) < limit:
        if "irecgan" in frame.f_code.co_filename and frame.f_code.co_name != "<module>":
            names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def _act(event, n, action, frame):
    names = _stack_names(frame)
    sys.stderr.write("fault injection: %s at %s:%d (in %s)\n"
                     % (action, event, n, " < ".join(names) or "?"))
    sys.stderr.flush()
    os.kill(os.getpid(), ACTIONS[action])


def point(event, partial=None):
    """Count one occurrence of `event`; act when it is the armed one. `partial()`, when given,
    runs just before a kill (e.g. writes half of a record)."""
    if not _armed:
        return
    _check(event, sys._getframe(1), partial)


def _check(event, frame, partial=None):
    if event not in _armed:
        return
    count = _counts.get(event, 0) + 1
    _counts[event] = count
    n, action = _armed[event]
    if count == n:
        if partial is not None and action == "kill":
            partial()
        _act(event, n, action, frame)


def _session_run_event(frame):
    _check("run", frame)
    functions = [e[4:] for e in _armed if e.startswith("run@")]
    if not functions:
        return
    names = set()
    f = frame
    while f is not None:
        names.add(f.f_code.co_name)
        f = f.f_back
    for function in functions:
        if function in names:
            _check("run@" + function, frame)


def watch_session_runs():
    """Count `tf.Session.run` calls as `run` / `run@FUNC` events (idempotent)."""
    if _patched:
        return
    from irecgan.tfcompat import tf
    original = tf.Session.run

    def run(self, *args, **kwargs):
        if _armed:
            _session_run_event(sys._getframe(1))
        return original(self, *args, **kwargs)

    _patched.append(original)
    tf.Session.run = run


if os.environ.get(ENV):
    arm(os.environ[ENV])
