"""SIGTERM / SIGINT in training (issue 25, irecgan.rundir.stopping): the handlers exist only while
experiment.run trains, the previous ones are back afterwards, and a signal becomes `Stopped` at a
safe point. The forked runs of tests/test_crash.py check the exit statuses, the one line and the
byte-identical resume; tests/test_launch.py the Slurm requeue."""
import os
import signal

import pytest

from irecgan import experiment
from irecgan.config import resolve
from irecgan.rundir import faults, stopping
from tiny_logs import write_mdp_log


def previous_handler(signum, frame):  # pragma: no cover - never called
    raise AssertionError("the previous handler was called")


@pytest.fixture
def custom_handlers():
    old = dict((s, signal.signal(s, previous_handler)) for s in stopping.SIGNALS)
    yield
    for signum, handler in old.items():
        signal.signal(signum, handler)


def test_a_signal_is_recorded_and_stops_at_the_next_safe_point(custom_handlers):
    with stopping.handlers():
        for signum in stopping.SIGNALS:
            assert signal.getsignal(signum) is stopping._handler
        stopping.after_checkpoint("agent epoch 1")  # no signal: nothing happens
        stopping.before_training(None)
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopping.requested() == signal.SIGTERM
        with pytest.raises(stopping.Stopped) as stop:
            stopping.after_checkpoint("agent epoch 2")
        assert stop.value.status == 143 and str(stop.value) == (
            "stopped by SIGTERM after agent epoch 2: checkpoint written; run the same command "
            "to resume")
        with pytest.raises(stopping.Stopped) as stop:
            with stopping.anywhere("during the final evaluation"):
                raise AssertionError("not reached: the signal came before the block")
        assert str(stop.value).startswith("stopped by SIGTERM during the final evaluation;")
    for signum in stopping.SIGNALS:
        assert signal.getsignal(signum) is previous_handler
    assert stopping.requested() is None


def test_sigint_inside_an_anywhere_block_stops_there(custom_handlers):
    with stopping.handlers():
        with pytest.raises(stopping.Stopped) as stop:
            with stopping.anywhere("during the final evaluation"):
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):  # the handler runs between two bytecodes
                    pass
                raise AssertionError("the handler did not stop the block")
        assert stop.value.status == 130


def test_experiment_run_installs_the_handlers_only_while_it_trains(custom_handlers, tmp_path):
    log, _ = write_mdp_log(tmp_path, n_sessions=60)
    config = resolve(dict(data=log, method="lstm", n_items=50, embed_dim=4, hidden=8,
                          layers=1, batch_size=16, agent_epochs=2, threads=1))
    seen = []

    def note(msg):
        seen.append(signal.getsignal(signal.SIGTERM))

    faults.arm("run@pretrain:2:term")
    try:
        with pytest.raises(stopping.Stopped) as stop:
            experiment.run(str(tmp_path / "run"), config, show_progress=False, log=note)
    finally:
        faults.arm("")
    assert str(stop.value) == ("stopped by SIGTERM after agent epoch 1: checkpoint written; "
                               "run the same command to resume")
    assert seen and all(handler is stopping._handler for handler in seen)
    for signum in stopping.SIGNALS:
        assert signal.getsignal(signum) is previous_handler
    experiment.run(str(tmp_path / "run"), config, show_progress=False, log=note)
    for signum in stopping.SIGNALS:
        assert signal.getsignal(signum) is previous_handler
