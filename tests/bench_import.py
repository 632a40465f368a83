"""Import a script of benchmarks/ by its path (benchmarks/ is no package), for the tests of its
pure parts."""
import importlib.util
import os
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def load_benchmark(name):
    """benchmarks/<name>.py as a module named bench_<name> (benchmarks/ on sys.path for the
    scripts' own `from _common import ...`)."""
    if BENCH not in sys.path:
        sys.path.insert(0, BENCH)
    spec = importlib.util.spec_from_file_location("bench_" + name.lstrip("_"),
                                                  os.path.join(BENCH, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
