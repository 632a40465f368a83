"""Static checks of the Docker files (no Docker engine runs on the development machines)."""
import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILES = {"tf1": os.path.join(ROOT, "Dockerfile"),
               "tf2": os.path.join(ROOT, "docker", "Dockerfile.tf2")}


def instructions(path):
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    with open(path) as handle:
        text = handle.read()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def setup_extras():
    """extras_require of setup.py, read without running it."""
    with open(os.path.join(ROOT, "setup.py")) as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "extras_require":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no extras_require")


def requirement_pins(path):
    pins = {}
    with open(path) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            if line:
                name = re.split(r"[<>=!~ ]", line, 1)[0].lower()
                pins[name] = line
    return pins


@pytest.mark.parametrize("flavour", sorted(DOCKERFILES))
def test_copied_files_exist_and_requirements_come_before_the_code(flavour):
    steps = instructions(DOCKERFILES[flavour])
    copies = [(i, args.split()) for i, (word, args) in enumerate(steps) if word == "COPY"]
    assert copies, "no COPY"
    for _, parts in copies:
        for source in parts[:-1]:
            if source != ".":
                assert os.path.exists(os.path.join(ROOT, source)), source
    code_copy = [i for i, parts in copies if parts[0] == "."]
    req_copy = [i for i, parts in copies if parts[0].startswith("requirements/")]
    install = [i for i, (word, args) in enumerate(steps)
               if word == "RUN" and "-r requirements/" in args]
    assert len(code_copy) == 1 and req_copy and install
    # dependency layer first, so it stays cached while the code changes
    assert req_copy[0] < install[0] < code_copy[0]


def test_tf1_image_matches_the_paper_target_and_setup_pins():
    steps = instructions(DOCKERFILES["tf1"])
    base = [args for word, args in steps if word == "FROM"]
    assert base == ["tensorflow/tensorflow:1.15.5-gpu-py3"]  # TF 1.15.5, CUDA 10.0, Python 3.6
    pins = requirement_pins(os.path.join(ROOT, "requirements", "tf1.txt"))
    extras = setup_extras()
    for requirement in extras["tf1"]:
        name = re.split(r"[<>=!~ ]", requirement, 1)[0].lower()
        assert pins[name] == requirement, (name, pins.get(name), requirement)
    assert pins["tensorflow-gpu"] == "tensorflow-gpu==1.15.5"
    assert pins["numpy"] == "numpy==1.18.5"


def test_tf2_image_pins_agree_with_setup():
    steps = instructions(DOCKERFILES["tf2"])
    base = [args for word, args in steps if word == "FROM"]
    assert len(base) == 1 and base[0].startswith("tensorflow/tensorflow:2.")
    assert base[0].endswith("-gpu")
    pins = requirement_pins(os.path.join(ROOT, "requirements", "tf2.txt"))
    for requirement in setup_extras()["tf2"]:
        name = re.split(r"[<>=!~ ]", requirement, 1)[0].lower()
        assert pins[name] == requirement


@pytest.mark.parametrize("flavour", sorted(DOCKERFILES))
def test_default_command_is_the_smoke_reproduction(flavour):
    steps = instructions(DOCKERFILES[flavour])
    cmd = [args for word, args in steps if word == "CMD"]
    assert len(cmd) == 1 and "SMOKE=1 ./run_sim.sh" in cmd[0]
    assert os.access(os.path.join(ROOT, "run_sim.sh"), os.X_OK)


def test_core_requirements_are_in_both_images():
    with open(os.path.join(ROOT, "setup.py")) as handle:
        tree = ast.parse(handle.read())
    core = None
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            core = ast.literal_eval(node.value)
    names = [re.split(r"[<>=!~ ]", r, 1)[0].lower() for r in core]
    for flavour in ("tf1", "tf2"):
        pins = requirement_pins(os.path.join(ROOT, "requirements", flavour + ".txt"))
        assert all(name in pins for name in names), (flavour, names, sorted(pins))


def test_tf1_venv_script_replays_the_images_install_steps():
    # scripts/venv_tf1.sh (CI's TF 1.15 stack) installs what the Dockerfile installs, the same
    # way: requirements/tf1.txt (with the CPU build of the same TensorFlow), then the checkout
    # with --no-deps -e; every version it may pick is pinned by the stack's constraints
    runs = [args for word, args in instructions(DOCKERFILES["tf1"]) if word == "RUN"]
    assert any("-r requirements/tf1.txt" in args for args in runs)
    assert any("--no-deps -e ." in args for args in runs)
    with open(os.path.join(ROOT, "scripts", "venv_tf1.sh")) as handle:
        script = handle.read()
    assert "sed 's/^tensorflow-gpu==/tensorflow==/' requirements/tf1.txt" in script
    assert re.search(r'pip" install -q --no-deps -e \.$', script, re.M)
    assert "constraints=requirements/constraints-tf1-py36.txt" in script
    image = requirement_pins(os.path.join(ROOT, "requirements", "tf1.txt"))
    constraints = requirement_pins(os.path.join(ROOT, "requirements",
                                                "constraints-tf1-py36.txt"))
    assert image.pop("tensorflow-gpu") == "tensorflow-gpu==1.15.5"
    assert constraints["tensorflow"] == "tensorflow==1.15.5"
    for name, pin in image.items():
        assert constraints[name] == pin, name
    for name, pin in constraints.items():
        assert re.match(r"^[A-Za-z0-9_.\-]+==[^\s;]+$", pin), pin


def test_image_default_command_replayed_makes_the_table(sim_smoke_local):
    # conftest.sim_smoke_local ran this stack's image CMD in a copy of the checkout made as the
    # image's COPY makes it (.dockerignore applied)
    import csv
    runs, out, text = sim_smoke_local
    image = os.path.dirname(os.path.dirname(runs))
    assert os.path.exists(os.path.join(image, "run_sim.sh"))
    for left_out in (".git", ".venv", ".venv-tf1"):
        assert not os.path.exists(os.path.join(image, left_out)), left_out
    assert "table in results/sim_smoke/table.md" in text  # run_sim.sh's default, in the copy
    with open(os.path.join(out + "_smoke", "table.csv")) as handle:
        rows = list(csv.DictReader(handle))
    for dataset in ("mdp_random", "mdp_max", "mdp_sharp", "neural"):
        for method in ("lstm", "pg", "irecgan_nod", "irecgan"):
            row = [r for r in rows if (r["dataset"], r["method"]) == (dataset, method)]
            assert len(row) == 1 and row[0]["n_seeds"] == "2", (dataset, method)


def test_dockerignore_patterns_as_the_replay_reads_them():
    from conftest import dockerignored
    patterns = [".git", ".venv", "runs", "results/*_smoke", "**/__pycache__", "*.egg-info"]
    assert dockerignored(".git", patterns) and dockerignored("runs", patterns)
    assert dockerignored("results/sim_smoke", patterns)
    assert dockerignored("src/irecgan/__pycache__", patterns)
    assert not dockerignored("results/sim", patterns) and not dockerignored("src", patterns)
    assert not dockerignored("src/irecgan.egg-info", patterns)  # root-level glob only
