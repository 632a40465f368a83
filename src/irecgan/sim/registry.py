"""Which simulator a parameter file holds: the registry of simulators (numpy only).

`register(simulator)` adds a `sim.simulator.Simulator`; `by_kind`, `by_name` (irecgan-simulate's
`--env`) and `for_file` (a parameter file's `kind` tag) find one; `load_environment(path)` and
`item_count(path)` ask the simulator of a file. The package registers its own simulators
(`sim.builtin`: mdp, neural, recsim) when this module is imported; RecSim is imported only when
a RecSim environment is built.
"""
import collections

from irecgan.errors import UserError
from irecgan.sim.paramfile import read_kind

_SIMULATORS = collections.OrderedDict()   # kind tag -> Simulator, in registration order


def register(simulator):
    """Add `simulator` (a `Simulator` instance); returns it. ValueError when its kind tag or
    its name is taken."""
    if not simulator.kind or not simulator.name:
        raise ValueError("a simulator needs a kind tag and a name")
    if simulator.kind in _SIMULATORS:
        raise ValueError("simulator kind %r is registered already" % simulator.kind)
    if simulator.name in names():
        raise ValueError("simulator name %r is registered already" % simulator.name)
    _SIMULATORS[simulator.kind] = simulator
    return simulator


def unregister(kind):
    """Remove the simulator of `kind` (KeyError when there is none); returns it."""
    return _SIMULATORS.pop(kind)


def simulators():
    """The registered simulators, in registration order."""
    return list(_SIMULATORS.values())


def names():
    """The registered simulators' names (irecgan-simulate's `--env` values), in order."""
    return [s.name for s in _SIMULATORS.values()]


def ceilings():
    """The names of the registered simulators' history-based ceiling policies (each once, in
    order)."""
    out = []
    for s in _SIMULATORS.values():
        if s.ceiling and s.ceiling not in out:
            out.append(s.ceiling)
    return tuple(out)


def for_policies(names):
    """The registered simulator whose labelled reference policies (`Simulator.knows`) share the
    most of `names` (policy-row names of one table's dataset), at least two; None when there is
    none or two share as many (a table's rows name no simulator: this is how the report finds
    what its rows know)."""
    names = set(names)
    scored = sorted(((len(names & set(s.knows)), i) for i, s in enumerate(_SIMULATORS.values())
                     if s.knows), reverse=True)
    if not scored or scored[0][0] < 2 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return list(_SIMULATORS.values())[scored[0][1]]


def by_kind(kind, default=None):
    """The simulator whose files carry the tag `kind`, else `default`."""
    return _SIMULATORS.get(kind, default)


def by_name(name, default=None):
    """The simulator named `name`, else `default`."""
    for s in _SIMULATORS.values():
        if s.name == name:
            return s
    return default


def for_file(path):
    """The simulator of the parameter file `path`; `UserError` (one line naming the file) when
    the file is missing, unreadable or of no registered simulator."""
    kind = read_kind(path)
    simulator = by_kind(kind)
    if simulator is None:
        raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))
    return simulator


def load_environment(path):
    """The simulator environment whose parameters are in `path`."""
    return for_file(path).load(path)


def item_count(path):
    """The number of items (raw ids 0..n-1) of the simulator whose parameters are in `path`;
    `UserError` when the file is no simulator parameter file. Numpy only (a RecSim file is read
    without RecSim)."""
    return int(for_file(path).item_count(path))


def _register_builtin():
    from irecgan.sim import builtin
    for simulator in builtin.SIMULATORS:
        register(simulator)


_register_builtin()
