"""Importing RecSim (google-research/recsim, PyPI `recsim` 0.2.4, the optional `recsim` extra)
once, on demand: the only place irecgan imports it (`import_recsim`), so that the package, the
report and the CLIs work without the extra, and `--env=recsim` without it is one `UserError`
naming the pip command (`INSTALL`)."""
import contextlib
import io
import sys
import types

from irecgan.errors import UserError

INSTALL = 'pip install -e ".[tf2,recsim]"'

_RECSIM = {}


def _stub(name, why):
    """Register an empty module `name` in `sys.modules` (see `import_recsim`)."""
    module = types.ModuleType(name)
    module.__doc__ = "irecgan stub: %s" % why
    sys.modules[name] = module


def import_recsim():
    """RecSim's modules as a dict ("ie": interest_evolution, "choice_model"), imported once.

    THE ONE PLACE WITH IMPORT STUBS. `interest_evolution` imports two things irecgan never uses:
    * `gin.tf`, which on TensorFlow >= 2.16 fails with "module 'tensorflow' has no attribute
      'estimator'" (gin-config's TF hooks subclass `tf.estimator.SessionRunHook`); it is needed
      only for `import gin.tf` to succeed (the `@gin.configurable` decorator is in `gin`);
    * `recsim.simulator.runner_lib` (via `recsim/simulator/__init__.py`), the experiment runner,
      which imports dopamine-rl.
    Each gets an empty module in `sys.modules` only when its real import fails for that reason
    (gin.tf: AttributeError naming `estimator`; runner_lib: ImportError of `dopamine`), then the
    import is retried. gym's import prints a deprecation notice to stderr, silenced here.
    Raises `UserError` naming the pip command when RecSim (or gym, gin-config) is missing.
    """
    if _RECSIM:
        return _RECSIM
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            import gym  # noqa: F401  (prints its notice here, once)
        try:
            import gin.tf  # noqa: F401
        except AttributeError as err:
            if "estimator" not in str(err):
                raise
            _stub("gin.tf", "gin-config's TF hooks need tf.estimator (%s)" % err)
        try:
            import recsim.simulator.runner_lib  # noqa: F401
        except ImportError as err:
            if "dopamine" not in str(err):
                raise
            sys.modules.pop("recsim.simulator", None)
            _stub("recsim.simulator.runner_lib", "needs dopamine-rl (%s)" % err)
        from recsim import choice_model
        from recsim.environments import interest_evolution
    except ImportError as err:
        raise UserError("--env=recsim needs RecSim, which is not installed (%s): %s"
                        % (" ".join(str(err).split()), INSTALL))
    _RECSIM["ie"] = interest_evolution
    _RECSIM["choice_model"] = choice_model
    return _RECSIM


def available():
    """`(True, "")` when RecSim imports, else `(False, the reason)` (for tests and scripts)."""
    try:
        import_recsim()
    except UserError as err:
        return False, str(err)
    return True, ""

