"""CI runs exactly the README's test command, from pinned versions, with strict skips."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def ci_commands():
    """The commands of .ci/run that are not comments, exports, installs of Slurm or reports."""
    lines = [line.strip() for line in read(".ci", "run").splitlines()]
    return [line.split(" || status=1")[0] for line in lines if " || status=1" in line]


def test_ci_runs_the_readme_test_commands_on_both_stacks_with_strict_skips():
    tf2, tf1 = ci_commands()
    assert tf2.startswith("python3 -m venv .venv && ")
    assert "pip install -c requirements/constraints-ci.txt " in tf2
    assert tf2.endswith(".venv/bin/python -m pytest")
    assert tf1.startswith("scripts/venv_tf1.sh .venv-tf1 && ")
    assert tf1.endswith(".venv-tf1/bin/python -m pytest")
    readme = [line.strip() for line in read("README.md").splitlines()]
    assert tf2 in readme and tf1 in readme  # the README shows the same lines, in this order
    assert readme.index(tf2) < readme.index(tf1)
    ci = read(".ci", "run").splitlines()
    exports = [line for line in ci if line.startswith("export ")]
    assert any(re.search(r"\bIRECGAN_STRICT_SKIPS=1\b", line) for line in exports)
    assert "exit $status" in ci  # a failure of either suite fails CI


def test_constraints_pin_every_package_with_an_exact_version():
    pins = {}
    for line in read("requirements", "constraints-ci.txt").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$", line)
        assert match, line
        pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    assert "irecgan" not in pins  # the package itself is installed from the checkout
    for name in ("tensorflow", "numpy", "scipy", "absl-py", "tqdm", "matplotlib", "pytest",
                 "vermin"):
        assert name in pins, name
    assert pins["tensorflow"].startswith("2.")  # the extra CI installs is tf2


def test_tf1_constraints_pin_the_design_cards_stack():
    pins = {}
    for line in read("requirements", "constraints-tf1-py36.txt").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$", line)
            assert match, line
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    assert pins["tensorflow"] == "1.15.5" and pins["numpy"] == "1.18.5"
    assert pins["pip"].startswith("21.")  # the venv's pip 18 cannot see TF 1.15.5's wheel
    assert "irecgan" not in pins
