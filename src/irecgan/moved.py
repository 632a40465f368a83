"""Import paths of release 0.1 that moved into subpackages, kept working for one release.

`import irecgan.runner` (or `from irecgan import runner`, `from irecgan.runner import Runner`)
gives the module at its new place, `irecgan.rundir.runner`, with a DeprecationWarning naming it:
notebooks written against the flat layout keep running while they are updated. docs/API.md
lists the moves. The finder is appended to `sys.meta_path` by `irecgan/__init__.py`, so it is
asked only for names no real module has; nothing is imported until an old name is.
"""
import importlib
import importlib.abc
import importlib.util
import warnings

MOVED = {
    "irecgan.adversarial": "irecgan.training.adversarial",
    "irecgan.benchmark": "irecgan.evaluation.scoring",
    "irecgan.checkpoint": "irecgan.rundir.checkpoint",
    "irecgan.dataset": "irecgan.data.dataset",
    "irecgan.faults": "irecgan.rundir.faults",
    "irecgan.generation": "irecgan.training.generation",
    "irecgan.metrics": "irecgan.evaluation.metrics",
    "irecgan.offline": "irecgan.training.offline",
    "irecgan.online_eval": "irecgan.evaluation.agent_policy",
    "irecgan.pretrain": "irecgan.training.pretrain",
    "irecgan.runlock": "irecgan.rundir.runlock",
    "irecgan.runner": "irecgan.rundir.runner",
    "irecgan.statefile": "irecgan.rundir.statefile",
    "irecgan.stopping": "irecgan.rundir.stopping",
    "irecgan.true_world": "irecgan.training.true_world",
    "irecgan.user_fit": "irecgan.evaluation.user_fit",
}


class OldPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old names of MOVED and loads them as the module at the new name."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn("%s moved to %s (the old path works until the next release)"
                      % (spec.name, new), DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module):
        pass  # the module at the new name is already executed


def install(meta_path):
    """Append one OldPathFinder to `meta_path` (sys.meta_path) unless one is there."""
    if not any(isinstance(finder, OldPathFinder) for finder in meta_path):
        meta_path.append(OldPathFinder())
