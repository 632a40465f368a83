"""The package's shape, checked statically on src/irecgan (no module is imported, no TensorFlow):

- no module over MAX_LINES lines (one job per module);
- no private name (leading underscore) used across modules: `from irecgan.x import _y`, or
  `x._y` on an imported irecgan module (a name another module needs is part of its interface);
- imports go down the layers of LAYERS, never up;
- data/, sim/, cikm/, report/ and numeric.py never reach TensorFlow through the package's
  imports (test_compat.py checks that only tfcompat imports TensorFlow itself, so reaching
  `irecgan.tfcompat` is reaching TensorFlow). Third-party packages are not followed: RecSim
  brings TensorFlow when sim/recsim_env builds a world, not when the module is imported.

Each checker is a function of module sources (a dict: dotted name -> text), with a self-test on
a hand-made package showing that it can fail. Every import counts, also one inside a function.
"""
import ast
import functools
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
PACKAGE = "irecgan"
MAX_LINES = 400

# Low to high: a module imports from its own layer or below. The names are the top-level modules
# and subpackages of irecgan ("" is irecgan/__init__.py itself).
#   base: no other part of the package (tfcompat reads irecgan's REPRODUCIBLE_CPU_ENV);
#   data: formats and batches (errors only);
#   sim, cikm: the simulators (sim/online reads data.types) and the CIKM converter (data.logfile);
#   models, report: the TF graph (data.vocab, tfcompat), and the numpy-only tables and plots
#     (report/policies reads data.dataset and sim's parameter files). Report sits this low
#     because evaluation/scoring.py (irecgan-benchmark's policy scoring) writes its tables with
#     it: it must not depend on anything that trains;
#   rundir: a run's directory, checkpoints, state, locks (tfcompat, data.types, npzio);
#   evaluation: what a trained model is measured by (P@k, the agent as a simulator policy, U's
#     fit, irecgan-benchmark's policy scoring);
#   training: the phases (training/offline computes evaluation.metrics, training/true_world lets
#     the agent act through evaluation.agent_policy);
#   config, experiment, export: a run's configuration and wiring (export restores a run's
#     graph through experiment);
#   cli: the commands, the only place of absl flags.
LAYERS = (
    ("base", ("", "errors", "tfcompat", "npzio", "numeric", "moved")),
    ("data", ("data",)),
    ("sim/cikm", ("sim", "cikm")),
    ("models/report", ("models", "report")),
    ("rundir", ("rundir",)),
    ("evaluation", ("evaluation",)),
    ("training", ("training",)),
    ("experiment", ("config", "experiment", "export")),
    ("cli", ("cli",)),
)
NO_TENSORFLOW = ("data", "sim", "cikm", "report", "numeric")


# -- reading the package ---------------------------------------------------------------------
def package_sources(src=SRC):
    """{dotted module name: source text} of every .py under src/irecgan (a package's
    __init__.py under the package's name)."""
    out = {}
    for folder, _, files in os.walk(os.path.join(src, PACKAGE)):
        for name in files:
            if not name.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(folder, name), src)[:-3]
            dotted = rel.replace(os.sep, ".")
            if dotted.endswith(".__init__"):
                dotted = dotted[:-len(".__init__")]
            with open(os.path.join(folder, name)) as f:
                out[dotted] = f.read()
    return out


def is_package_module(name, sources):
    """A module or (namespace) package of the package: a key of `sources` or a prefix of one."""
    return name in sources or any(key.startswith(name + ".") for key in sources)


def is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@functools.lru_cache(maxsize=None)
def parse(text):
    return ast.parse(text)


def imports(module, sources):
    """(line, imported module, name or None) of every import in `module` of the package or of
    TensorFlow: `from m import n` names module m.n when that is a module, else m with name n."""
    out = []
    for node in ast.walk(parse(sources[module])):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package (a package is its own)
                package = module.split(".")
                if not any(key.startswith(module + ".") for key in sources):
                    package = package[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                full = base + "." + alias.name
                if is_package_module(full, sources):
                    out.append((node.lineno, full, None))
                else:
                    out.append((node.lineno, base, alias.name))
    return [entry for entry in out if entry[1].split(".")[0] in (PACKAGE, "tensorflow")]


# -- the checks ------------------------------------------------------------------------------
def long_modules(sources, max_lines=MAX_LINES):
    """'module: N lines' of every module over max_lines lines."""
    return ["%s: %d lines" % (name, len(text.splitlines()))
            for name, text in sorted(sources.items()) if len(text.splitlines()) > max_lines]


def private_uses(sources):
    """'module:line: what' of every private name of one package module used in another."""
    found = []
    for module in sorted(sources):
        tree = parse(sources[module])
        aliases = {}  # local name -> the package module it is bound to
        for line, target, name in imports(module, sources):
            if name is not None and is_private(name):
                found.append("%s:%d: from %s import %s" % (module, line, target, name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    full = node.module + "." + alias.name
                    if is_package_module(full, sources):
                        aliases[alias.asname or alias.name] = full
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and is_private(node.attr):
                owner = dotted_name(node.value)
                if owner is None or owner.split(".")[0] not in aliases:
                    continue
                head = owner.split(".")
                target = ".".join([aliases[head[0]]] + head[1:])
                if target.split(".")[0] == PACKAGE and is_package_module(target, sources):
                    found.append("%s:%d: %s.%s" % (module, node.lineno, target, node.attr))
    return found


def dotted_name(node):
    """'a.b.c' for a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted_name(node.value)
        return None if head is None else head + "." + node.attr
    return None


def layer_of(module, layers=LAYERS):
    """(index, layer name) of a package module, None when no layer lists it."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for index, (name, members) in enumerate(layers):
        if top in members:
            return index, name
    return None


def upward_imports(sources, layers=LAYERS):
    """'module:line: module (layer) imports target (layer)' for every import of a higher layer,
    and 'module: in no layer' for a module LAYERS does not place."""
    found = []
    for module in sorted(sources):
        own = layer_of(module, layers)
        if own is None:
            found.append("%s: in no layer (add it to LAYERS)" % module)
            continue
        for line, target, _ in imports(module, sources):
            if target.split(".")[0] != PACKAGE:
                continue
            theirs = layer_of(target, layers)
            if theirs is None or theirs[0] > own[0]:
                found.append("%s:%d: %s (%s) imports %s (%s)"
                             % (module, line, module, own[1], target,
                                theirs[1] if theirs else "no layer"))
    return found


def tensorflow_paths(sources, roots=NO_TENSORFLOW):
    """'a -> b -> ... -> TF' for every module under `roots` (top-level names) that reaches
    TensorFlow through the package's imports (in the package, irecgan.tfcompat imports it).
    Importing a.b.c imports a.b (its __init__) too."""
    def edges(module):
        out = set()
        for _, target, _ in imports(module, sources):
            if target.split(".")[0] == "tensorflow":
                out.add("TensorFlow")
                continue
            parts = target.split(".")
            out.update(".".join(parts[:i]) for i in range(2, len(parts) + 1)
                       if ".".join(parts[:i]) in sources)
        return sorted(out)

    found = []
    for module in sorted(sources):
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in roots:
            continue
        parent, queue = {module: None}, [module]
        while queue and "TensorFlow" not in parent:
            current = queue.pop(0)
            for nxt in edges(current) if current in sources else []:
                if nxt not in parent:
                    parent[nxt] = current
                    queue.append(nxt)
        if "TensorFlow" in parent:
            path, node = [], "TensorFlow"
            while node is not None:
                path.append(node)
                node = parent[node]
            found.append(" -> ".join(reversed(path)))
    return found


# -- the package -----------------------------------------------------------------------------
@pytest.mark.parametrize("check", [long_modules, private_uses, upward_imports, tensorflow_paths],
                         ids=lambda check: check.__name__)
def test_the_package_has_none(check):
    """Fails with one line per offence: a long module, a private name's use, an upward import
    (module:line and both layers), a path to TensorFlow."""
    found = check(package_sources())
    assert not found, "\n".join(found)


# -- the checkers can fail -------------------------------------------------------------------
TOY = {
    "irecgan": "",
    "irecgan.errors": "class UserError(Exception):\n    pass\n",
    "irecgan.tfcompat": "import tensorflow.compat.v1 as tf\n",
    "irecgan.data": "",
    "irecgan.data.vocab": "from irecgan.errors import UserError\n_PAD = 0\n",
    "irecgan.models": "",
    "irecgan.models.graph": "from irecgan.tfcompat import tf\n",
    "irecgan.sim.mdp": "import numpy as np\n",
}


def test_long_modules_counts_lines():
    sources = {"irecgan.a": "x = 1\n" * 3, "irecgan.b": "x = 1\n" * 4}
    assert long_modules(sources, max_lines=3) == ["irecgan.b: 4 lines"]


def test_private_uses_finds_both_forms_and_only_package_modules():
    sources = dict(TOY)
    sources["irecgan.sim.mdp"] = (
        "import numpy as np\n"
        "from irecgan.data.vocab import _PAD\n"
        "from irecgan.data import vocab\n"
        "import irecgan.data.vocab as v\n"
        "import irecgan.data.vocab\n"
        "x = vocab._PAD + v._PAD + irecgan.data.vocab._PAD + np._x\n"
        "y = vocab.__name__\n")
    assert private_uses(sources) == [
        "irecgan.sim.mdp:2: from irecgan.data.vocab import _PAD",
        "irecgan.sim.mdp:6: irecgan.data.vocab._PAD",
        "irecgan.sim.mdp:6: irecgan.data.vocab._PAD",
        "irecgan.sim.mdp:6: irecgan.data.vocab._PAD"]
    assert private_uses(TOY) == []


def test_upward_imports_names_the_edge_and_unplaced_modules():
    sources = dict(TOY)
    sources["irecgan.data.vocab"] += "def f():\n    from irecgan.models import graph\n"
    sources["irecgan.newthing"] = "from irecgan import errors\n"
    sources["irecgan.data.batching"] = "from . import vocab\nfrom ..models import graph\n"
    assert upward_imports(sources) == [
        "irecgan.data.batching:2: irecgan.data.batching (data) imports irecgan.models.graph "
        "(models/report)",
        "irecgan.data.vocab:4: irecgan.data.vocab (data) imports irecgan.models.graph "
        "(models/report)",
        "irecgan.newthing: in no layer (add it to LAYERS)"]
    assert upward_imports(TOY) == []


def test_tensorflow_paths_follows_the_package_imports():
    sources = dict(TOY)
    sources["irecgan.data.vocab"] = "from irecgan.models import graph\n"
    sources["irecgan.sim.mdp"] = "import tensorflow as tf\n"
    assert tensorflow_paths(sources) == [
        "irecgan.data.vocab -> irecgan.models.graph -> irecgan.tfcompat -> TensorFlow",
        "irecgan.sim.mdp -> TensorFlow"]
    assert tensorflow_paths(TOY) == []
