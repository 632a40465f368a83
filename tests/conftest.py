"""Shared pytest fixtures and hooks."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
if SRC not in sys.path:  # the tests also run from a checkout without `pip install -e .`
    sys.path.insert(0, SRC)

# no silent skips in CI: IRECGAN_STRICT_SKIPS=1 turns skips into failures (tests/strict_skips.py)
from strict_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401
# the suite on all cores: which tests share a worker (tests/xdist_groups.py)
from xdist_groups import (assign_groups, pytest_configure, pytest_runtest_setup,  # noqa
                          pytest_xdist_make_scheduler)
from irecgan.tfcompat import TF_VERSION  # noqa: E402

# Resuming across the two stacks needs both: collected in the TF 1.15 suite, the README's second
# test command, which runs after the first one has made the TF 2.x venv (test_cross_stack.py).
collect_ignore = [] if TF_VERSION.startswith("1.") else ["test_cross_stack.py"]


def pytest_collection_modifyitems(config, items):
    """Deselect (not skip) the tests marked `stack(major)` for the other stack: long tests whose
    subject does not depend on TensorFlow's version run in one suite only (CI's two suites
    together stay under 30 minutes on 2 cores). Then checks and orders the groups of files that
    pytest-xdist's workers run whole (tests/xdist_groups.py)."""
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("stack")
        (drop if marker is not None and marker.args[0] != TF_VERSION[0] else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    assign_groups(config, items)


def run_script(args, folder, name, env=None):
    """Runs `bash ROOT/args[0] args[1:]` with SMOKE=1 from the repository root, its output in
    folder/name.log; returns the output, asserting exit status 0."""
    import subprocess
    env = dict(os.environ if env is None else env, SMOKE="1", PY=sys.executable,
               PYTHONPATH=SRC)
    log = os.path.join(str(folder), name + ".log")
    with open(log, "w") as handle:
        proc = subprocess.run(["bash", os.path.join(ROOT, args[0])] + list(args[1:]), cwd=ROOT,
                              env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=900)
    with open(log) as handle:
        text = handle.read()
    assert proc.returncode == 0, text[-3000:]
    return text


# The Docker image of each stack: the paper-era TF 1.15 one and the current TF 2.x one.
DOCKERFILES = {"1": os.path.join(ROOT, "Dockerfile"),
               "2": os.path.join(ROOT, "docker", "Dockerfile.tf2")}


def image_command(dockerfile):
    """The exec-form CMD of `dockerfile` as an argv list (its last CMD, as Docker takes)."""
    import json
    with open(dockerfile) as handle:
        cmds = [line.strip()[len("CMD"):].strip() for line in handle
                if line.strip().upper().startswith("CMD ")]
    assert cmds, dockerfile + " has no CMD"
    return json.loads(cmds[-1])


def dockerignored(rel, patterns):
    """Whether `rel` (a path relative to the build context, '/'-separated) is left out of the
    context by .dockerignore `patterns`: Docker's matching, segment by segment ('*' never
    crosses a '/', '**' matches any number of segments)."""
    import fnmatch

    def match(pattern, parts):
        if not pattern:
            return not parts
        if pattern[0] == "**":
            return any(match(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
        return bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and \
            match(pattern[1:], parts[1:])
    parts = rel.strip("/").split("/")
    return any(match(p.strip("/").split("/"), parts) for p in patterns)


def copy_as_image(target):
    """ROOT copied as the images' `COPY . .` copies it: without what .dockerignore names."""
    import shutil
    with open(os.path.join(ROOT, ".dockerignore")) as handle:
        patterns = [line.strip() for line in handle
                    if line.strip() and not line.startswith("#")]

    def ignore(folder, names):
        rel = os.path.relpath(folder, ROOT).replace(os.sep, "/")
        rel = "" if rel == "." else rel + "/"
        return [name for name in names if dockerignored(rel + name, patterns)]
    shutil.copytree(ROOT, target, symlinks=True, ignore=ignore)
    return target


@pytest.fixture(scope="session")
def sim_smoke_local(tmp_path_factory):
    """The image's default command (`SMOKE=1 ./run_sim.sh`, the CMD of this stack's Dockerfile)
    replayed once for every test that needs its runs: in a copy of the checkout made as the image
    copies it, with this interpreter as the image's `python3` (installed as the image installs:
    for the TF 1.15 stack, scripts/venv_tf1.sh) and the copy's code (the image's `pip install
    --no-deps -e .`). Returns (runs, out, output): the script made runs + "_smoke" and out +
    "_smoke" (run_sim.sh's defaults, runs/sim and results/sim, in the copy)."""
    import subprocess
    from irecgan.tfcompat import TF_VERSION
    folder = tmp_path_factory.mktemp("sim_smoke")
    image = copy_as_image(str(folder / "irecgan"))
    argv = image_command(DOCKERFILES[TF_VERSION[0]])
    env = dict((k, v) for k, v in os.environ.items() if k not in ("PY", "VIRTUAL_ENV"))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.path.join(image, "src")
    log = str(folder / "image_cmd.log")
    with open(log, "w") as handle:
        proc = subprocess.run(argv, cwd=image, env=env, stdout=handle, stderr=subprocess.STDOUT,
                              timeout=900)
    with open(log) as handle:
        text = handle.read()
    assert proc.returncode == 0, text[-3000:]
    return (os.path.join(image, "runs", "sim"), os.path.join(image, "results", "sim"), text)


def tf2_python():
    """The TF 2.x interpreter of the README's first test command (`.venv`, or
    $IRECGAN_TF2_PYTHON), for the TF 1.15 suite's cross-stack tests; skips when it is missing."""
    path = os.environ.get("IRECGAN_TF2_PYTHON") or os.path.join(ROOT, ".venv", "bin", "python")
    if not os.path.exists(path):
        pytest.skip("the TF 2.x venv %s is missing: run the README's first test command first "
                    "(or set IRECGAN_TF2_PYTHON)" % path)
    return path
