"""Import paths of release 0.1 keep working for one release (irecgan.moved): the old name gives
the module at its new place, with a DeprecationWarning naming it."""
import importlib
import subprocess
import sys
import warnings

import pytest

from irecgan import moved


@pytest.mark.parametrize("old,new", sorted(moved.MOVED.items()))
def test_every_old_path_is_the_new_module(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == [
        "%s moved to %s (the old path works until the next release)" % (old, new)]


def test_from_imports_of_old_paths_work_in_a_fresh_interpreter():
    code = ("import warnings\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import irecgan.rundir.runner\n"          # the new path warns nothing
            "assert not [w for w in caught if 'moved to' in str(w.message)], caught\n"
            "from irecgan.runner import Runner\n"
            "from irecgan import user_fit, runlock\n"
            "from irecgan.rundir.runner import Runner as New\n"
            "import irecgan.evaluation.user_fit as U\n"
            "print(Runner is New, user_fit is U, runlock.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True", "irecgan.rundir.runlock"]


def test_unknown_names_are_still_import_errors():
    with pytest.raises(ImportError):
        importlib.import_module("irecgan.no_such_module")
    finder = moved.OldPathFinder()
    assert finder.find_spec("irecgan.no_such_module") is None
    meta_path = []
    moved.install(meta_path)
    moved.install(meta_path)
    assert len(meta_path) == 1 and isinstance(meta_path[0], moved.OldPathFinder)
