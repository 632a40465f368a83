"""CI runs exactly the README's test command, from pinned versions, with strict skips."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def test_ci_runs_the_readme_test_command_with_constraints_and_strict_skips():
    ci = [line for line in read(".ci", "run").splitlines()
          if line.strip() and not line.startswith("#")]
    command = ci[-1].strip()
    assert "pip install -c requirements/constraints-ci.txt " in command
    assert command.endswith(".venv/bin/python -m pytest")
    readme = [line.strip() for line in read("README.md").splitlines()]
    assert command in readme  # the README shows the same single line
    exports = [line for line in ci if line.startswith("export ")]
    assert any(re.search(r"\bIRECGAN_STRICT_SKIPS=1\b", line) for line in exports)


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
