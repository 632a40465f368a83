"""The strict-skip hooks (tests/strict_skips.py): in strict mode a skip fails unless it is an
optional extra declared absent; outside strict mode skips stay skips."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

SAMPLE = textwrap.dedent("""
    import pytest
    from strict_skips import requires_extra


    def test_plain_skip():
        pytest.skip("a dependency is missing")


    def test_extra_skip():
        requires_extra("no_such_extra_xyz")


    @pytest.mark.xfail(reason="known", strict=True)
    def test_expected_failure():
        assert False


    def test_passes():
        assert True
""")


@pytest.fixture
def sample(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.path.insert(0, %r)\n"
        "from strict_skips import pytest_make_collect_report, pytest_runtest_makereport\n"
        % HERE)
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    return tmp_path


def run(directory, *args, **env):
    full = dict(os.environ)
    for key in ("IRECGAN_STRICT_SKIPS", "IRECGAN_ABSENT_EXTRAS"):
        full.pop(key, None)
    full.update(env)
    out = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"]
                         + list(args) + [str(directory)], cwd=str(directory), env=full,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=300)
    return out.returncode, out.stdout


def outcome_of(output, name):
    """The outcome word of `name` in pytest -v's progress lines ("FILE::NAME OUTCOME ...", or
    "[gwN] [ P%] OUTCOME FILE::NAME" from a pytest-xdist worker)."""
    worker = re.search(r"^\[gw\d+\] \[ *\d+%\] (\w+) \S+::" + name + r"\b", output, re.M)
    if worker:
        return worker.group(1)
    for line in output.splitlines():
        if ("::%s " % name) in line:
            return line.split("::%s " % name, 1)[1].split()[0]
    raise AssertionError("%s not reported:\n%s" % (name, output))


def test_outside_strict_mode_skips_stay_skips(sample):
    code, output = run(sample)
    assert code == 0, output
    assert outcome_of(output, "test_plain_skip") == "SKIPPED"
    assert outcome_of(output, "test_extra_skip") == "SKIPPED"


def test_strict_mode_fails_skips_unless_the_extra_is_declared_absent(sample):
    code, output = run(sample, IRECGAN_STRICT_SKIPS="1")
    assert code == 1, output
    assert outcome_of(output, "test_plain_skip") == "FAILED"
    assert outcome_of(output, "test_extra_skip") == "FAILED"
    assert outcome_of(output, "test_expected_failure") == "XFAIL"
    assert outcome_of(output, "test_passes") == "PASSED"

    code, output = run(sample, IRECGAN_STRICT_SKIPS="1",
                       IRECGAN_ABSENT_EXTRAS="other, no_such_extra_xyz")
    assert code == 1, output  # the plain skip still fails
    assert outcome_of(output, "test_plain_skip") == "FAILED"
    assert outcome_of(output, "test_extra_skip") == "SKIPPED"


def test_strict_mode_fails_a_skipped_module(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.path.insert(0, %r)\n"
        "from strict_skips import pytest_make_collect_report, pytest_runtest_makereport\n"
        % HERE)
    (tmp_path / "test_mod.py").write_text(
        "import pytest\npytest.importorskip('no_such_module_xyz')\n\n\ndef test_x():\n    pass\n")
    code, output = run(tmp_path)
    assert code in (0, 5) and "1 skipped" in output, output  # 5: no test ran
    code, output = run(tmp_path, IRECGAN_STRICT_SKIPS="1")
    assert code != 0 and "IRECGAN_STRICT_SKIPS" in output, output


def test_strict_mode_fails_skips_on_pytest_xdist_workers_too(sample, tmp_path):
    # the suite runs on workers (pytest.ini: -n auto): a worker makes the report, the hook turns
    # it into a failure there, and the controller counts what the worker sent
    code, output = run(sample, "-n", "2", IRECGAN_STRICT_SKIPS="1")
    assert code == 1 and "[gw1]" in output, output
    assert outcome_of(output, "test_plain_skip") == "FAILED"
    assert outcome_of(output, "test_extra_skip") == "FAILED"
    assert outcome_of(output, "test_expected_failure") == "XFAIL"
    assert outcome_of(output, "test_passes") == "PASSED"
    assert "IRECGAN_STRICT_SKIPS=1: a skip fails here" in output
    code, output = run(sample, "-n", "2", IRECGAN_STRICT_SKIPS="1",
                       IRECGAN_ABSENT_EXTRAS="no_such_extra_xyz")
    assert code == 1 and outcome_of(output, "test_extra_skip") == "SKIPPED", output

    module = tmp_path / "module"
    module.mkdir()
    (module / "conftest.py").write_text((sample / "conftest.py").read_text())
    (module / "test_mod.py").write_text(
        "import pytest\npytest.importorskip('no_such_module_xyz')\n\n\ndef test_x():\n    pass\n")
    code, output = run(module, "-n", "2", IRECGAN_STRICT_SKIPS="1")
    assert code != 0 and "IRECGAN_STRICT_SKIPS" in output, output
