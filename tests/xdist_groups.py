"""The suite on all cores with pytest-xdist (hooks, imported by conftest.py; docs/TESTING.md).

pytest.ini's addopts run the suite as `-n auto --dist loadfile`: one worker process per core,
each fed whole groups of tests, one group at a time:

* every test of a file is in its file's group, so a file runs on one worker, in its own order
  (module fixtures are built once, as in a serial run);
* tests in several files that share something run on one worker, one after the other: a
  session fixture whose products they change (SHARED_FIXTURES: the replayed smoke
  reproduction, whose runs tests rerun and extend) or a resource of the machine (a real
  single-node Slurm and its fixed ports). Mark them `@pytest.mark.xdist_group("NAME")` (or
  use such a fixture) and list their files in FILE_GROUPS under one name: their files then
  form one group. Collection checks the table (serially too): the tests of files that share a
  name but are not in one FILE_GROUPS entry error at setup, saying so.
* groups in FILE_GROUPS are sent out first (the long ones); the rest keep the collection order.

pytest-xdist's own `--dist loadgroup` (its `xdist_group` marks) is not used: with pytest 9.2 its
groups are silently ignored (pytest-xdist issue 1386), and it cannot keep a file whole.
`-n 0` runs everything serially in the pytest process (pytest-xdist 2.5, the TF 1.15 stack's,
needs this module's help for that); `-p no:xdist` needs `-o addopts=...` without `-n`.
"""
import pytest

# Session fixtures (conftest.py) whose products the tests that use them change.
SHARED_FIXTURES = ("sim_smoke_local",)

# Files run as one group on one worker: their tests share SHARED_FIXTURES or an xdist_group.
FILE_GROUPS = {
    "smoke_replay": ("test_decomposition.py", "test_docker.py", "test_launch.py",
                     "test_scripts.py"),
}
GROUP_OF_FILE = dict((name, group) for group, names in FILE_GROUPS.items() for name in names)


def file_name(nodeid):
    return nodeid.split("::")[0].replace("\\", "/").split("/")[-1]


def group_of(nodeid):
    """The scheduling group of a test (its nodeid): its file's FILE_GROUPS name, or its file."""
    path = nodeid.split("::")[0]
    return GROUP_OF_FILE.get(file_name(nodeid), path)


def components(entries):
    """entries: (file, names) per test, `names` the things it shares beyond its file. Returns the
    sets of files that must run as one group (files joined by a shared name), each with its
    names, only those with a name: [(files, names)], in order of first appearance."""
    parent = {}

    def find(node):
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for path, names in entries:
        find(("file", path))
        for name in sorted(names):
            parent[find(("name", name))] = find(("file", path))
    out = {}
    for node in parent:  # insertion order: first appearance
        kind, value = node
        files, names = out.setdefault(find(node), (set(), set()))
        (files if kind == "file" else names).add(value)
    return [(files, names) for files, names in out.values() if names]


def missing_from_table(entries, group_of_file=None):
    """The named components of `entries` whose files FILE_GROUPS does not put in one group:
    [(sorted files, sorted names)]."""
    table = GROUP_OF_FILE if group_of_file is None else group_of_file
    bad = []
    for files, names in components(entries):
        groups = set(table.get(f) for f in files)
        if len(files) > 1 and (len(groups) > 1 or None in groups):
            bad.append((sorted(files), sorted(names)))
    return bad


def shared_names(item):
    names = set(SHARED_FIXTURES).intersection(getattr(item, "fixturenames", ()))
    for mark in item.iter_markers("xdist_group"):
        names.add(str(mark.args[0] if mark.args else mark.kwargs.get("name", "default")))
    return names


def assign_groups(config, items):
    """Checks FILE_GROUPS against the collected tests (in any run: the tests of files missing
    from it error at setup, see pytest_runtest_setup); in a pytest-xdist worker, puts the tests of
    FILE_GROUPS first. conftest.py's pytest_collection_modifyitems calls it."""
    entries = [(file_name(item.nodeid), shared_names(item)) for item in items]
    for files, names in missing_from_table(entries):
        why = ("tests/xdist_groups.py: the tests of %s share %s: pytest-xdist must run these "
               "files on one worker: put them in one FILE_GROUPS entry" % (files, names))
        for item in items:
            if file_name(item.nodeid) in files:
                item.xdist_groups_missing = why
    if hasattr(config, "workerinput"):
        first = [item for item in items if file_name(item.nodeid) in GROUP_OF_FILE]
        items[:] = first + [item for item in items if file_name(item.nodeid) not in GROUP_OF_FILE]


def pytest_runtest_setup(item):
    why = getattr(item, "xdist_groups_missing", None)
    if why:
        pytest.fail(why, pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if not hasattr(config.option, "numprocesses"):
        return  # no pytest-xdist (-p no:xdist)
    if config.option.numprocesses == 0:
        config.option.dist = "no"  # what pytest-xdist >= 3 does itself for -n 0
    # xdist >= 3 sends groups by their number of tests unless told to keep the order
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with the files of a FILE_GROUPS entry as one file."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FileGroupScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            return group_of(nodeid)
    return FileGroupScheduling(config, log)
