"""Which tests share a pytest-xdist worker (tests/xdist_groups.py): whole files, and the files
of a FILE_GROUPS entry together; the table checked at collection; `-n 0` runs serially on both
stacks' pytest-xdist."""
import os
import re
import subprocess
import sys
import textwrap

import xdist_groups
from xdist_groups import components, group_of, missing_from_table

HERE = os.path.dirname(os.path.abspath(__file__))


def test_components_join_files_through_the_names_their_tests_share():
    entries = [("test_a.py", set()), ("test_b.py", {"smoke"}), ("test_b.py", set()),
               ("test_c.py", set()), ("test_d.py", {"slurm"}), ("test_e.py", {"smoke"}),
               ("test_d.py", {"smoke"}), ("test_f.py", {"port"})]
    assert components(entries) == [({"test_b.py", "test_d.py", "test_e.py"},
                                    {"smoke", "slurm"}), ({"test_f.py"}, {"port"})]
    assert components([("test_a.py", set())]) == [] and components([]) == []
    table = {"test_b.py": "g", "test_d.py": "g"}
    assert missing_from_table(entries, table) == [(["test_b.py", "test_d.py", "test_e.py"],
                                                   ["slurm", "smoke"])]
    table["test_e.py"] = "g"
    assert missing_from_table(entries, table) == []  # test_f.py alone: a whole file anyway
    table["test_e.py"] = "h"
    assert len(missing_from_table(entries, table)) == 1


def test_group_of_a_test_is_its_files_table_group_or_its_file():
    assert group_of("tests/test_docker.py::test_x[tf1]") == "smoke_replay"
    assert group_of("tests/test_launch.py::test_y") == "smoke_replay"
    assert group_of("tests/test_models.py::test_z") == "tests/test_models.py"
    assert set(xdist_groups.FILE_GROUPS) == {"smoke_replay"}
    for name in xdist_groups.FILE_GROUPS["smoke_replay"]:
        assert os.path.exists(os.path.join(HERE, name)), name


CONFTEST = textwrap.dedent("""
    import sys
    sys.path.insert(0, %r)
    import pytest
    import xdist_groups
    from xdist_groups import (assign_groups, pytest_configure, pytest_runtest_setup,
                              pytest_xdist_make_scheduler)

    xdist_groups.FILE_GROUPS = {"shared": ("test_shared_a.py", "test_shared_b.py",
                                           "test_shared_c.py")}
    xdist_groups.GROUP_OF_FILE = dict((f, "shared") for f in xdist_groups.FILE_GROUPS["shared"])


    def pytest_collection_modifyitems(config, items):
        assign_groups(config, items)


    @pytest.fixture(scope="session")
    def sim_smoke_local():
        return 1
""")

FILES = {
    # six tests: pytest-xdist's plain load would share them out between the two workers
    "test_many.py": "\n".join("def test_m%d():\n    pass\n" % i for i in range(6)),
    "test_other.py": "\n".join("def test_o%d():\n    pass\n" % i for i in range(6)),
    "test_shared_a.py": "def test_sa(sim_smoke_local):\n    pass\n\n\n"
                        "def test_sa_plain():\n    pass\n",
    "test_shared_b.py": "import pytest\n\n\n@pytest.mark.xdist_group('slurm')\n"
                        "def test_sb():\n    pass\n\n\ndef test_sb_plain(sim_smoke_local):\n"
                        "    pass\n",
    "test_shared_c.py": "import pytest\n\n\n@pytest.mark.xdist_group('slurm')\n"
                        "def test_sc():\n    pass\n",
}


def run(folder, *args):
    env = dict((k, v) for k, v in os.environ.items()
               if k not in ("IRECGAN_STRICT_SKIPS", "PYTEST_ADDOPTS"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"]
                          + list(args) + ["."], cwd=str(folder), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    return proc.returncode, proc.stdout


def test_files_and_shared_groups_run_whole_on_one_worker_and_n0_runs_serially(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST % HERE)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    code, output = run(tmp_path, "-n", "2", "--dist", "loadfile")
    assert code == 0, output
    worker = {}  # test name -> worker, from "[gwN] [ P%] PASSED FILE::NAME"
    for found in re.finditer(r"^\[(gw\d)\] \[ *\d+%\] PASSED (\S+?)::(\w+)", output, re.M):
        worker[found.group(3)] = found.group(1)
    assert len(worker) == 17, output
    assert len(set(worker[n] for n in worker if n.startswith("test_m"))) == 1, output
    assert len(set(worker[n] for n in worker if n.startswith("test_o"))) == 1, output
    shared = [worker[n] for n in ("test_sa", "test_sa_plain", "test_sb", "test_sb_plain",
                                  "test_sc")]
    assert len(set(shared)) == 1, output
    assert "17 passed" in output

    code, output = run(tmp_path, "-n", "0", "--dist", "loadfile")
    assert code == 0 and "17 passed" in output and "[gw" not in output, output

    # a file that shares a name with the group's files but is not in the table: its tests and
    # the group's error at setup, saying so
    (tmp_path / "test_shared_d.py").write_text("def test_sd(sim_smoke_local):\n    pass\n")
    for args in (["-n", "2", "--dist", "loadfile"], ["-n", "0"]):
        code, output = run(tmp_path, *args)
        assert code == 1 and "12 passed, 6 error" in output, output
        assert re.search(r"^ERROR test_shared_d.py::test_sd\b", output, re.M), output
        assert "share ['sim_smoke_local', 'slurm']: pytest-xdist must run these files" in output
