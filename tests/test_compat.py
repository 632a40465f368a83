"""The compatibility contract of SPEC 1, checked statically on `src/`:

(a) every TensorFlow attribute chain and keyword argument exists in TF 1.15's `tf.compat.v1`
    (tests/tf115/, extracted from the TF 1.15.0 wheel: a copy of ../shared/tf115 so that any clone
    can run this), and TF is imported only in the one sanctioned way;
(b) Python 3.6 syntax (vermin);
(c) the numpy 1.18 API floor (nothing added later, nothing numpy 1.24+/2.x removed), and no use
    of the global numpy random generator.

Each checker is a function of source text, and each has a self-test proving that it can fail.
"""
import ast
import functools
import json
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "src")
TF115_DIR = os.path.join(HERE, "tf115")
SHARED_TF115_DIR = os.path.join(ROOT, "..", "shared", "tf115")
TFCOMPAT = "irecgan.tfcompat"  # the one module that imports TensorFlow


# ------------------------------------------------------------------------------------------------
# Source files and name resolution (shared by the TF and numpy checks)

def source_files():
    """(path relative to the repository, dotted module name, is_package) of every .py in src/."""
    out = []
    for dirpath, dirnames, filenames in os.walk(SRC):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and d != "__pycache__" and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            parts = os.path.relpath(path, SRC)[:-3].split(os.sep)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            out.append((os.path.relpath(path, ROOT), ".".join(parts), is_package))
    return out


@functools.lru_cache(maxsize=None)
def parsed_sources():
    """[(relpath, module, tree)] for src/, parsed once per test session."""
    out = []
    for rel, module, is_package in source_files():
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            text = f.read()
        tree = ast.parse(text, filename=rel)
        out.append((rel, module, is_package, tree))
    return out


def attr_chain(node):
    """['a', 'b', 'c'] for the expression `a.b.c` (a Name followed by attributes), else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def str_constant(node):
    """The value of a string literal node (ast.Constant on 3.8+, ast.Str before), else None."""
    value = getattr(node, "value", getattr(node, "s", None))
    if type(node).__name__ in ("Constant", "Str") and isinstance(value, str):
        return value
    return None


def absolute_module(module, is_package, node):
    """The absolute module an `ImportFrom` node imports from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[:len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


class Names(object):
    """What each name of a module is bound to, as a dotted origin ('numpy.random', ...).

    Imports at any depth, plus simple aliases `x = <bound chain>` (e.g. `nn = tf.nn`).
    `imports` lists (lineno, dotted origin, text of the import) for the import-form checks.
    """

    def __init__(self, tree, module, is_package):
        self.bound = {}
        self.imports = []
        self.star_imports = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.bound[a.asname] = a.name
                    else:
                        self.bound[a.name.split(".")[0]] = a.name.split(".")[0]
                    text = "import %s%s" % (a.name, " as " + a.asname if a.asname else "")
                    self.imports.append((node.lineno, a.name, text, "import"))
            elif isinstance(node, ast.ImportFrom):
                base = absolute_module(module, is_package, node)
                for a in node.names:
                    text = "from %s import %s%s" % (
                        "." * node.level + (node.module or ""), a.name,
                        " as " + a.asname if a.asname else "")
                    if a.name == "*":
                        self.star_imports.append((node.lineno, base, text))
                        continue
                    self.bound[a.asname or a.name] = base + "." + a.name
                    self.imports.append((node.lineno, base + "." + a.name, text, "from"))
        assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                   and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)]
        for _ in range(3):  # aliases of aliases
            for node in assigns:
                origin = self.resolve(node.value)
                if origin is not None:
                    self.bound[node.targets[0].id] = origin

    def resolve(self, node):
        """The dotted origin of a Name / attribute-chain expression, or None."""
        parts = attr_chain(node)
        if not parts or parts[0] not in self.bound:
            return None
        return ".".join([self.bound[parts[0]]] + parts[1:])


def top_level_chains(tree):
    """Attribute nodes that are not the `.value` of another attribute (whole chains only)."""
    inner = set()
    attrs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            attrs.append(node)
            if isinstance(node.value, ast.Attribute):
                inner.add(id(node.value))
    return [a for a in attrs if id(a) not in inner]


def under(dotted, prefix):
    return dotted == prefix or dotted.startswith(prefix + ".")


# ------------------------------------------------------------------------------------------------
# (a) TensorFlow 1.15 compat.v1

class Tf115Api(object):
    """The public tf.compat.v1 API of TF 1.15: symbol names ('tf.nn.dynamic_rnn') and, for
    functions and classes (constructor), their parameter names ('*args'/'**kw' marked)."""

    def __init__(self, directory):
        with open(os.path.join(directory, "compat_v1_symbols.txt"), encoding="utf-8") as f:
            self.symbols = set(line.strip() for line in f if line.strip())
        with open(os.path.join(directory, "compat_v1_signatures.json"), encoding="utf-8") as f:
            self.signatures = json.load(f)

    def kind(self, name):
        return (self.signatures.get(name) or {}).get("kind")

    def params(self, name):
        return (self.signatures.get(name) or {}).get("params")


@functools.lru_cache(maxsize=None)
def tf115():
    return Tf115Api(TF115_DIR)


# Prefixes that exist in 1.15 but break the contract on TF 2.x (SPEC 1: no Keras anywhere; under
# Keras 3, tf.compat.v1.layers and tf.compat.v1.nn.rnn_cell raise).
FORBIDDEN_TF = (
    ("tf.keras", "Keras is not allowed (SPEC 1)"),
    ("tf.layers", "Keras-backed, raises under Keras 3 (SPEC 1): use irecgan.tfcompat.Dense"),
    ("tf.nn.rnn_cell", "Keras-backed, raises under Keras 3 (SPEC 1): use "
                       "irecgan.tfcompat.LSTMCell / MultiLSTMCell"),
    ("tf.estimator", "Estimator is gone from TF 2.16+"),
    ("tf.compat.v1", "tf already is tf.compat.v1"),
    ("tf.compat.v2", "a TF2 namespace"),
)
TF_ROOTS = ("tensorflow.compat.v1", TFCOMPAT + ".tf")


def as_tf_name(dotted):
    """'tf.x.y' for an origin under tensorflow.compat.v1 or irecgan.tfcompat.tf, else None."""
    for root in TF_ROOTS:
        if under(dotted, root):
            return "tf" + dotted[len(root):]
    return None


def check_tf_name(name, api):
    """The reason `name` ('tf.a.b') is not allowed, or None."""
    for prefix, reason in FORBIDDEN_TF:
        if under(name, prefix):
            return reason
    parts = name.split(".")
    if len(parts) == 1:
        return None  # `tf` itself
    known = None
    for i in range(len(parts), 1, -1):
        if ".".join(parts[:i]) in api.symbols:
            known = ".".join(parts[:i])
            break
    if known is None or (known != name and api.kind(known) == "module"):
        return "not in TF 1.15 tf.compat.v1"
    return None  # the symbol itself, or an attribute of a class/function/constant


def check_tf_call(name, call, api):
    """Reasons the keyword arguments (and positional count) of `call` to `name` are wrong."""
    params = api.params(name)
    if params is None:
        return []
    plain = [p for p in params if not p.startswith("*")]
    out = []
    if not any(p.startswith("**") for p in params):
        for kw in call.keywords:
            if kw.arg is not None and kw.arg not in plain:
                out.append("no keyword %r in TF 1.15 (%s)" % (kw.arg, ", ".join(params)))
    starred = any(type(a).__name__ == "Starred" for a in call.args)
    if not starred and len(plain) == len(params) and len(call.args) > len(plain):
        out.append("%d positional arguments, TF 1.15 takes at most %d (%s)"
                   % (len(call.args), len(plain), ", ".join(params)))
    return out


def tf_violations(tree, rel, module, is_package, api):
    """(['file:line: chain: reason', ...], number of TF chains checked) for one module."""
    names = Names(tree, module, is_package)
    bad = []

    # Import forms: `import tensorflow.compat.v1 as tf` in irecgan/tfcompat.py only; elsewhere
    # `from irecgan.tfcompat import tf`. Anything else (plain `tensorflow`, TF2 namespaces, `from
    # tensorflow...`, re-exports of tf through other modules) is a violation.
    for lineno, origin, text, form in names.imports:
        if under(origin, "tensorflow"):
            if not (module == TFCOMPAT and text == "import tensorflow.compat.v1 as tf"):
                bad.append("%s:%d: %s: import TF only as `from irecgan.tfcompat import tf` "
                           "(tfcompat itself: `import tensorflow.compat.v1 as tf`)"
                           % (rel, lineno, text))
        elif (form == "from" and origin.startswith("irecgan.") and origin.endswith(".tf")
              and origin != TFCOMPAT + ".tf"):
            bad.append("%s:%d: %s: import tf from irecgan.tfcompat" % (rel, lineno, text))
            for local, value in list(names.bound.items()):  # still check what it is used for
                if value == origin:
                    names.bound[local] = TFCOMPAT + ".tf"
    for lineno, base, text in names.star_imports:
        if under(base, "tensorflow") or base == TFCOMPAT:
            bad.append("%s:%d: %s: star import of TF names" % (rel, lineno, text))

    checked = [0]

    def check(node, dotted, call=None):
        if dotted is None:
            return
        name = as_tf_name(dotted)
        if name is None:
            if under(dotted, "tensorflow"):
                bad.append("%s:%d: %s: outside tf.compat.v1 (a TF2 namespace)"
                           % (rel, node.lineno, dotted))
            return
        checked[0] += 1
        reason = check_tf_name(name, api)
        if reason:
            bad.append("%s:%d: %s: %s" % (rel, node.lineno, name, reason))
        elif call is not None:
            for reason in check_tf_call(name, call, api):
                bad.append("%s:%d: %s: %s" % (rel, node.lineno, name, reason))

    calls = dict((id(n.func), n) for n in ast.walk(tree) if isinstance(n, ast.Call))
    for node in top_level_chains(tree):
        check(node, names.resolve(node), calls.get(id(node)))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name):
            if node.func.id in names.bound:  # a TF name bound by import or alias, then called
                check(node, names.resolve(node.func), node)
            dynamic = node.func.id == "__import__"
            if node.func.id == "getattr" and len(node.args) == 2 and not node.keywords:
                attr = str_constant(node.args[1])
                base = names.resolve(node.args[0])
                if attr is not None and base is not None:
                    check(node, base + "." + attr)
        else:
            dynamic = isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
        if dynamic and node.args:
            target = str_constant(node.args[0]) or ""
            if under(target, "tensorflow"):
                bad.append("%s:%d: %s: dynamic import of TF" % (rel, node.lineno, target))
    return bad, checked[0]


def check_tf_source(text, rel="src/irecgan/models/example.py", module="irecgan.models.example"):
    return tf_violations(ast.parse(textwrap.dedent(text)), rel, module, False, tf115())[0]


def test_tf115_api_files_are_present_and_complete():
    api = tf115()
    assert len(api.symbols) > 3000
    for name in ("tf.Session", "tf.placeholder", "tf.nn.dynamic_rnn", "tf.get_variable"):
        assert name in api.symbols and api.params(name)
    assert api.kind("tf.nn") == "module"
    assert api.params("tf.Session") == ["target", "graph", "config"]  # constructor params
    # Where the shared originals sit beside the repository, the copies must be identical.
    for filename in ("compat_v1_symbols.txt", "compat_v1_signatures.json"):
        shared = os.path.join(SHARED_TF115_DIR, filename)
        if os.path.exists(shared):
            with open(shared, "rb") as a, open(os.path.join(TF115_DIR, filename), "rb") as b:
                assert a.read() == b.read(), "tests/tf115/%s differs from ../shared" % filename


def test_src_uses_only_tf115_compat_v1_names_and_keywords():
    api = tf115()
    bad, checked = [], 0
    for rel, module, is_package, tree in parsed_sources():
        b, n = tf_violations(tree, rel, module, is_package, api)
        bad += b
        checked += n
    assert not bad, "TF 1.15 compat.v1 violations:\n" + "\n".join(bad)
    # The checker saw the TF usage (tfcompat alone uses a dozen names): it cannot pass vacuously.
    assert checked >= 10


NOT_IN_TF115 = "tf.nn.silu"  # added in TF 2.4


def test_tf_checker_rejects_a_name_absent_from_tf115():
    assert NOT_IN_TF115 not in tf115().symbols and "tf.nn" in tf115().symbols
    bad = check_tf_source("""
        from irecgan.tfcompat import tf

        def f(x):
            y = tf.nn.relu(x)
            return tf.nn.silu(y)
        """)
    assert bad == ["src/irecgan/models/example.py:6: tf.nn.silu: not in TF 1.15 tf.compat.v1"]


def test_tf_checker_rejects_a_keyword_absent_from_tf115():
    assert "output_type" not in tf115().params("tf.matmul")
    bad = check_tf_source("""
        from irecgan.tfcompat import tf
        z = tf.matmul(a, b, transpose_b=True,
                      output_type=tf.float32)
        """)
    assert len(bad) == 1
    assert bad[0].startswith("src/irecgan/models/example.py:3: tf.matmul: no keyword "
                             "'output_type' in TF 1.15")


@pytest.mark.parametrize("source, expected", [
    ("import tensorflow as tf\nx = tf.zeros([2])\n", ":1: import tensorflow as tf: import TF"),
    ("import tensorflow as tf\nx = tf.zeros([2])\n",
     ":2: tensorflow.zeros: outside tf.compat.v1"),
    ("from tensorflow.compat import v1 as tf\n", ":1: from tensorflow.compat import v1 as tf"),
    ("import tensorflow.compat.v1 as tf\n", ":1: import tensorflow.compat.v1 as tf: import TF"),
    ("from irecgan.tfcompat import tf\nx = tf.compat.v2.zeros([2])\n",
     ":2: tf.compat.v2.zeros: a TF2 namespace"),
    ("from irecgan.tfcompat import tf\nd = tf.layers.dense(x, 3)\n", ":2: tf.layers.dense: Keras"),
    ("from irecgan.tfcompat import tf\nc = tf.nn.rnn_cell.LSTMCell(3)\n",
     ":2: tf.nn.rnn_cell.LSTMCell: Keras"),
    ("from irecgan.tfcompat import tf\nm = tf.keras.Sequential()\n", ":2: tf.keras.Sequential"),
    ("from irecgan import tfcompat\ny = tfcompat.tf.nn.silu(x)\n", ":2: tf.nn.silu: not in"),
    ("from ..tfcompat import tf as T\ny = T.nn.silu(x)\n", ":2: tf.nn.silu: not in"),
    ("from irecgan.tfcompat import tf\nnn = tf.nn\ny = nn.silu(x)\n", ":3: tf.nn.silu: not in"),
    ("from irecgan.tfcompat import tf\nmm = tf.matmul\ny = mm(a, b, output_type=None)\n",
     ":3: tf.matmul: no keyword 'output_type'"),
    ("from irecgan.tfcompat import tf\ny = getattr(tf.nn, 'silu')(x)\n", ":2: tf.nn.silu: not in"),
    ("from irecgan.models.common import tf\ny = tf.nn.silu(x)\n",
     ":1: from irecgan.models.common import tf: import tf from irecgan.tfcompat"),
    ("from irecgan.models.common import tf\ny = tf.nn.silu(x)\n", ":2: tf.nn.silu: not in"),
    ("from irecgan.tfcompat import *\n", ":1: from irecgan.tfcompat import *: star import"),
    ("import importlib\ntf = importlib.import_module('tensorflow')\n",
     ":2: tensorflow: dynamic import"),
    ("from irecgan.tfcompat import tf\nx = tf.placeholder(tf.float32, [None], 'x', 1)\n",
     ":2: tf.placeholder: 4 positional arguments, TF 1.15 takes at most 3"),
])
def test_tf_checker_flags(source, expected):
    bad = check_tf_source(source)
    assert any(expected in b for b in bad), bad


def test_tf_checker_accepts_valid_tf115_code():
    bad = check_tf_source("""
        from irecgan import tfcompat
        from irecgan.tfcompat import Dense, tf

        x = tf.placeholder(tf.float32, [None, None, 3], name="x")
        lengths = tf.placeholder(tf.int32, [None])
        cell = tfcompat.MultiLSTMCell(3, 4, 2)
        out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
        loss = tf.reduce_sum(out, axis=[1, 2], keepdims=True)
        opt = tf.train.AdamOptimizer(1e-3, beta1=0.9, name="adam")
        params = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="agent")
        step = opt.minimize(loss, var_list=params)
        nn = tf.nn
        probs = nn.softmax(loss, axis=-1)
        group = tf.group(step, probs, name="g")  # *inputs, **kwargs: anything goes
        dtype = tf.float32.as_numpy_dtype  # attribute of a constant
        with tf.Session(graph=tf.get_default_graph(), config=tf.ConfigProto()) as sess:
            sess.run(tf.global_variables_initializer())
        """)
    assert bad == []
    # tfcompat itself imports tensorflow.compat.v1 directly.
    bad = check_tf_source("import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n",
                          rel="src/irecgan/tfcompat.py", module=TFCOMPAT)
    assert bad == []


# ------------------------------------------------------------------------------------------------
# (b) Python 3.6 syntax

# --eval-annotations: Python 3.6 evaluates annotations at definition time (PEP 563's
#   `from __future__ import annotations` is 3.7+), so `list[int]` / `int | None` must count.
# --feature union-types: detect `X | Y` types (3.10). --pessimistic: a syntax error (e.g. 3.12+
#   syntax under an older interpreter) counts as incompatible. No --backport: the TF 1.15 image
#   has no dataclasses/typing_extensions backports (and SPEC 1 bans dataclasses).
# --no-config-file: a stray vermin config must not change the contract.
VERMIN_ARGS = ["--no-config-file", "--no-tips", "--eval-annotations", "--pessimistic",
               "--feature", "union-types", "--target=3.6-", "--violations",
               "--format", "parsable", "--processes=1"]
VERMIN_MAIN = "import sys; from vermin.main import main; sys.exit(main())"


def run_vermin(paths):
    """(exit code, output lines, minimum Python 3 version as a tuple or None if incompatible)."""
    pytest.importorskip("vermin", reason="vermin is not installed (pip install -e '.[test]')")
    proc = subprocess.run([sys.executable, "-c", VERMIN_MAIN] + VERMIN_ARGS + list(paths),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines and lines[-1].startswith(":::"), "unexpected vermin output:\n" + proc.stdout
    # The last line of the parsable format is ':::PY2:PY3:' with the minimum versions.
    py3 = lines[-1].split(":")[4]
    version = None
    if not py3.startswith("!"):
        version = tuple(int(p) for p in py3.lstrip("~").split(".")) if py3 != "~3" else (3, 0)
    return proc.returncode, lines, version


def test_src_needs_at_most_python_3_6():
    code, lines, version = run_vermin([SRC])
    report = "\n".join(lines)
    assert code == 0, "vermin: code needs more than Python 3.6:\n" + report
    assert version is not None and version <= (3, 6), report


def parses_here(text):
    """Whether the running interpreter can compile `text` (without running it)."""
    try:
        compile(text, "<sample>", "exec")
    except SyntaxError:
        return False
    return True


def test_parses_here_tells_syntax_from_runtime_needs():
    assert parses_here("from dataclasses import dataclass\n")   # a module, not syntax
    assert not parses_here("def f(:\n")


def test_vermin_check_rejects_newer_syntax(tmp_path):
    samples = {
        "walrus.py": "if (n := 3):\n    pass\n",
        "posonly.py": "def f(a, /, b):\n    return a\n",
        "fstring_eq.py": "x = 1\ny = f'{x=}'\n",
        "generic.py": "def f(x: list[int]) -> None:\n    return None\n",
        "union.py": "def f(x: 'int') -> int | None:\n    return None\n",
        "dataclass.py": "from dataclasses import dataclass\n",
        "future_annotations.py": "from __future__ import annotations\n",
    }
    # vermin parses with the running interpreter: a sample that interpreter cannot parse at all
    # (3.8 syntax under the 3.7 of the TF 1.15 stack) says nothing about vermin, so it is left
    # out; on the floor's own interpreters, enough samples remain to guard it.
    samples = dict((name, text) for name, text in samples.items() if parses_here(text))
    assert len(samples) >= 3, sorted(samples)
    for name, text in samples.items():
        tmp_path.joinpath(name).write_text(text)
    tmp_path.joinpath("ok.py").write_text("import math\nx = f'{math.pi}'\ny = 3 | 4\n")
    code, lines, version = run_vermin([str(tmp_path)])
    # (Under an interpreter too old to parse a sample, --pessimistic marks it incompatible.)
    assert code != 0 and (version is None or version > (3, 6)), "\n".join(lines)
    flagged = set(os.path.basename(line.split(":")[0]) for line in lines[:-1])
    assert flagged == set(samples), "\n".join(lines)
    code, lines, version = run_vermin([str(tmp_path.joinpath("ok.py"))])
    assert code == 0 and version == (3, 6), "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# (c) numpy 1.18 API floor

_V2 = "added in numpy 2.0"
NUMPY_ADDED_AFTER_1_18 = {
    "numpy.typing": "added in numpy 1.20",
    "numpy.broadcast_shapes": "added in numpy 1.20",
    "numpy.lib.stride_tricks.sliding_window_view": "added in numpy 1.20",
    "numpy.random.PCG64DXSM": "added in numpy 1.21",
    "numpy.from_dlpack": "added in numpy 1.22",
    "numpy.array_api": "added in numpy 1.22 (and removed in 2.0)",
    "numpy.show_runtime": "added in numpy 1.24",
    "numpy.exceptions": "added in numpy 1.25",
    "numpy.dtypes": "added in numpy 1.25",
    "numpy.lib.array_utils": _V2, "numpy.lib.introspect": _V2, "numpy.strings": _V2,
    "numpy.concat": _V2, "numpy.permute_dims": _V2, "numpy.pow": _V2, "numpy.acos": _V2,
    "numpy.acosh": _V2, "numpy.asin": _V2, "numpy.asinh": _V2, "numpy.atan": _V2,
    "numpy.atanh": _V2, "numpy.atan2": _V2, "numpy.bitwise_left_shift": _V2,
    "numpy.bitwise_right_shift": _V2, "numpy.bitwise_invert": _V2, "numpy.isdtype": _V2,
    "numpy.unique_all": _V2, "numpy.unique_counts": _V2, "numpy.unique_inverse": _V2,
    "numpy.unique_values": _V2, "numpy.vecdot": _V2, "numpy.matrix_transpose": _V2,
    "numpy.astype": _V2, "numpy.trapezoid": _V2, "numpy.ulong": _V2,
    "numpy.__array_namespace_info__": _V2,
    "numpy.linalg.matrix_norm": _V2, "numpy.linalg.vector_norm": _V2,
    "numpy.linalg.vecdot": _V2, "numpy.linalg.matrix_transpose": _V2,
    "numpy.linalg.diagonal": _V2, "numpy.linalg.outer": _V2, "numpy.linalg.svdvals": _V2,
    "numpy.linalg.cross": _V2, "numpy.linalg.trace": _V2, "numpy.linalg.tensordot": _V2,
    "numpy.linalg.matmul": _V2,
    "numpy.cumulative_sum": "added in numpy 2.1", "numpy.cumulative_prod": "added in numpy 2.1",
    "numpy.unstack": "added in numpy 2.1",
    "numpy.matvec": "added in numpy 2.2", "numpy.vecmat": "added in numpy 2.2",
}
_ALIAS = ("a deprecated alias removed in numpy 1.24 (np.bool/np.long came back in 2.0 with "
          "another meaning): use the builtin or an explicit np.int64/np.float64/np.bool_")
_GONE_2 = "removed in numpy 2.x"
NUMPY_REMOVED_LATER = dict(
    [("numpy." + n, _ALIAS) for n in
     "int float bool object str long unicode complex".split()]
    + [("numpy." + n, _GONE_2) for n in (
        "float_ complex_ string_ unicode_ cfloat longfloat singlecomplex clongfloat longcomplex "
        "Inf Infinity infty NaN NINF PINF NZERO PZERO product cumproduct alltrue sometrue "
        "round_ asfarray find_common_type cast msort issubclass_ issctype obj2sctype "
        "sctype2char maximum_sctype sctypes deprecate deprecate_with_doc disp safe_eval who "
        "set_string_function source lookfor mat recfromcsv recfromtxt in1d trapz row_stack "
        "byte_bounds compare_chararrays format_parser fastCopyAndTranspose add_newdoc "
        "add_docstring add_newdoc_ufunc compat MachAr geterrobj seterrobj bool8 int0 uint0 "
        "object0 str0 bytes0 void0 math Tester DataSource get_array_wrap tracemalloc_domain "
        "set_numeric_ops").split()]
    + [("numpy." + n, "moved to numpy.exceptions in 2.0 (which 1.18 lacks): catch the "
                      "builtin base class") for n in (
        "AxisError ComplexWarning VisibleDeprecationWarning RankWarning TooHardError "
        "ModuleDeprecationWarning").split()]
    + [("numpy." + n, "removed before numpy 1.24") for n in
       "asscalar rank loads alen fv pv pmt ipmt irr mirr nper npv ppmt rate".split()])
# Keyword arguments added after 1.18: function -> {keyword: version}.
_LIKE = {"like": "1.20"}
_CREATE = {"like": "1.20", "device": "2.0"}
NUMPY_NEW_KEYWORDS = {
    "numpy.mean": {"where": "1.20"}, "numpy.all": {"where": "1.20"},
    "numpy.any": {"where": "1.20"},
    "numpy.std": {"where": "1.20", "mean": "2.0", "correction": "2.0"},
    "numpy.var": {"where": "1.20", "mean": "2.0", "correction": "2.0"},
    "numpy.nanmean": {"where": "1.22"}, "numpy.nanstd": {"where": "1.22"},
    "numpy.nanvar": {"where": "1.22"},
    "numpy.concatenate": {"dtype": "1.20", "casting": "1.20"},
    "numpy.stack": {"dtype": "1.24", "casting": "1.24"},
    "numpy.vstack": {"dtype": "1.24", "casting": "1.24"},
    "numpy.hstack": {"dtype": "1.24", "casting": "1.24"},
    "numpy.argmax": {"keepdims": "1.22"}, "numpy.argmin": {"keepdims": "1.22"},
    "numpy.percentile": {"method": "1.22", "weights": "2.0"},
    "numpy.quantile": {"method": "1.22", "weights": "2.0"},
    "numpy.nanpercentile": {"method": "1.22", "weights": "2.0"},
    "numpy.nanquantile": {"method": "1.22", "weights": "2.0"},
    "numpy.unique": {"equal_nan": "1.24", "sorted": "2.3"},
    "numpy.count_nonzero": {"keepdims": "1.19"},
    "numpy.copy": {"subok": "1.19"},
    "numpy.sort": {"stable": "2.0"}, "numpy.argsort": {"stable": "2.0"},
    "numpy.reshape": {"shape": "2.1", "copy": "2.1"},
    "numpy.clip": {"min": "2.1", "max": "2.1"},
    "numpy.unwrap": {"period": "1.21"},
    "numpy.load": {"max_header_size": "1.24"},
    "numpy.trim_zeros": {"axis": "2.2"},
    "numpy.linalg.matrix_rank": {"rtol": "2.0"}, "numpy.linalg.pinv": {"rtol": "2.0"},
    "numpy.asarray": dict(_CREATE, copy="2.0"), "numpy.array": _LIKE,
    "numpy.zeros": _CREATE, "numpy.ones": _CREATE, "numpy.empty": _CREATE,
    "numpy.full": _CREATE, "numpy.arange": _CREATE, "numpy.eye": _CREATE,
    "numpy.identity": _LIKE, "numpy.asanyarray": _LIKE, "numpy.ascontiguousarray": _LIKE,
    "numpy.frombuffer": _LIKE, "numpy.fromiter": _LIKE, "numpy.fromfunction": _LIKE,
    "numpy.loadtxt": _LIKE, "numpy.genfromtxt": _LIKE, "numpy.linspace": {"device": "2.0"},
    "numpy.zeros_like": {"device": "2.0"}, "numpy.ones_like": {"device": "2.0"},
    "numpy.empty_like": {"device": "2.0"}, "numpy.full_like": {"device": "2.0"},
}
# Methods/attributes whose name alone identifies them (on arrays or random generators).
NUMPY_METHODS = {
    "permuted": "Generator.permuted was added in numpy 1.20",
    "mT": "ndarray.mT was added in numpy 2.0",
    "to_device": "ndarray.to_device was added in numpy 2.0",
    "itemset": "ndarray.itemset was removed in numpy 2.0",
    "newbyteorder": "ndarray.newbyteorder was removed in numpy 2.0",
    "ptp": "ndarray.ptp was removed in numpy 2.0 (np.ptp(x) works in both)",
    "tostring": "ndarray.tostring was removed in numpy 2.3 (use tobytes)",
}
# np.random names that do not touch the global generator.
NUMPY_RANDOM_OK = set("numpy.random." + n for n in (
    "RandomState Generator default_rng SeedSequence BitGenerator MT19937 PCG64 Philox "
    "SFC64").split())


def numpy_reason(dotted):
    for table in (NUMPY_ADDED_AFTER_1_18, NUMPY_REMOVED_LATER):
        for name, reason in table.items():
            if under(dotted, name):
                return reason
    return None


def numpy_violations(tree, rel, module, is_package):
    """(numpy API violations, global-RNG violations), each a list of 'file:line: name: why'."""
    names = Names(tree, module, is_package)
    api, rng = [], []

    def check(lineno, dotted, call=None):
        if dotted is None or not under(dotted, "numpy"):
            return
        reason = numpy_reason(dotted)
        if reason:
            api.append("%s:%d: %s: %s" % (rel, lineno, dotted, reason))
        if under(dotted, "numpy.random") and dotted != "numpy.random" and not any(
                under(dotted, ok) for ok in NUMPY_RANDOM_OK):
            rng.append("%s:%d: %s: the global numpy generator; pass an explicit "
                       "np.random.RandomState" % (rel, lineno, dotted))
        if call is not None:
            for kw in call.keywords:
                version = NUMPY_NEW_KEYWORDS.get(dotted, {}).get(kw.arg)
                if version:
                    api.append("%s:%d: %s: keyword %r was added in numpy %s"
                               % (rel, lineno, dotted, kw.arg, version))

    for lineno, origin, _, form in names.imports:
        if form == "from":
            check(lineno, origin)
    calls = dict((id(n.func), n) for n in ast.walk(tree) if isinstance(n, ast.Call))
    for node in top_level_chains(tree):
        dotted = names.resolve(node)
        check(node.lineno, dotted, calls.get(id(node)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            dotted = names.resolve(node.func)
            if dotted is not None and node.func.id in names.bound:
                for kw in node.keywords:  # keywords of an imported/aliased numpy function
                    version = NUMPY_NEW_KEYWORDS.get(dotted, {}).get(kw.arg)
                    if version:
                        api.append("%s:%d: %s: keyword %r was added in numpy %s"
                                   % (rel, node.lineno, dotted, kw.arg, version))
        if isinstance(node, ast.Attribute) and node.attr in NUMPY_METHODS:
            base = names.resolve(node.value)
            if base is None or not under(base, "numpy"):
                api.append("%s:%d: .%s: %s" % (rel, node.lineno, node.attr,
                                                NUMPY_METHODS[node.attr]))
    return api, rng


def check_numpy_source(text):
    return numpy_violations(ast.parse(textwrap.dedent(text)), "src/irecgan/x.py",
                            "irecgan.x", False)


def test_src_uses_only_the_numpy_1_18_api():
    bad = []
    for rel, module, is_package, tree in parsed_sources():
        bad += numpy_violations(tree, rel, module, is_package)[0]
    assert not bad, "numpy API outside 1.18 .. 2.x:\n" + "\n".join(bad)


def test_src_never_uses_the_global_numpy_generator():
    bad = []
    for rel, module, is_package, tree in parsed_sources():
        bad += numpy_violations(tree, rel, module, is_package)[1]
    assert not bad, "global numpy RNG (ARCHITECTURE rules):\n" + "\n".join(bad)


@pytest.mark.parametrize("source, expected", [
    ("import numpy as np\nw = np.lib.stride_tricks.sliding_window_view(x, 3)\n",
     ":2: numpy.lib.stride_tricks.sliding_window_view: added in numpy 1.20"),
    ("import numpy\ny = numpy.concat([a, b])\n", ":2: numpy.concat: added in numpy 2.0"),
    ("from numpy.typing import NDArray\n", ":1: numpy.typing.NDArray: added in numpy 1.20"),
    ("import numpy as np\ndef f(a: 'x') -> None:\n    return np.trapezoid(a)\n",
     ":3: numpy.trapezoid"),
    ("import numpy as np\ntry:\n    pass\nexcept np.exceptions.AxisError:\n    pass\n",
     ":4: numpy.exceptions.AxisError: added in numpy 1.25"),
    ("import numpy as np\nx = np.zeros(3, dtype=np.float)\n", ":2: numpy.float: a deprecated"),
    ("import numpy as np\ns = np.product(x)\n", ":2: numpy.product: removed in numpy 2.x"),
    ("import numpy as np\ntry:\n    pass\nexcept np.AxisError:\n    pass\n",
     ":4: numpy.AxisError: moved to numpy.exceptions"),
    ("import numpy as np\nu = np.unique(x, equal_nan=False)\n",
     ":2: numpy.unique: keyword 'equal_nan' was added in numpy 1.24"),
    ("from numpy import clip\ny = clip(x, min=0)\n",
     ":2: numpy.clip: keyword 'min' was added in numpy 2.1"),
    ("import numpy as np\ny = rng.permuted(x)\n", ":2: .permuted: Generator.permuted"),
    ("import numpy as np\ny = x.mT\n", ":2: .mT: ndarray.mT"),
    ("import numpy.random as npr\nfrom numpy.random import PCG64DXSM\n",
     ":2: numpy.random.PCG64DXSM: added in numpy 1.21"),
])
def test_numpy_checker_flags(source, expected):
    bad = check_numpy_source(source)[0]
    assert any(expected in b for b in bad), bad


@pytest.mark.parametrize("source, expected", [
    ("import numpy as np\nx = np.random.rand(3)\n", ":2: numpy.random.rand: the global"),
    ("import numpy as np\nnp.random.seed(0)\n", ":2: numpy.random.seed"),
    ("from numpy.random import shuffle\n", ":1: numpy.random.shuffle"),
    ("import numpy.random as npr\ni = npr.randint(3)\n", ":2: numpy.random.randint"),
    ("from numpy import random\nr = random.choice(3)\n", ":2: numpy.random.choice"),
])
def test_global_rng_checker_flags(source, expected):
    bad = check_numpy_source(source)[1]
    assert any(expected in b for b in bad), bad


def test_numpy_checkers_accept_numpy_1_18_code():
    api, rng = check_numpy_source("""
        import numpy as np
        from numpy.random import RandomState

        def f(x, seed):
            rng = np.random.RandomState(seed)
            gen = np.random.default_rng(np.random.SeedSequence(seed))
            y = np.take_along_axis(x, np.argsort(-x, axis=1, kind="stable"), axis=1)
            u, c = np.unique(y, return_counts=True)
            z = np.asarray(y, dtype=np.float32).astype(np.int64).mean(axis=1, keepdims=True)
            b = np.zeros(3, dtype=np.bool_) | np.isin(u, c)
            p = np.ptp(x) + np.clip(x, 0, 1).sum() + np.float64(np.pi) + np.inf
            return rng.permutation(3), RandomState(1).randint(2), gen.integers(3), z, b, p
        """)
    assert api == [] and rng == []
