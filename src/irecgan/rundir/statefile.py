"""A checkpoint's Python state in a form every supported stack reads: JSON plus an `.npz`.

The state (phase, counters, losses, the generated pool, numpy `RandomState.get_state()` tuples)
used to be pickled, and a pickle written under numpy 2 names `numpy._core`, which numpy 1.18 (the
TF 1.15 image) cannot import. Here the structure goes to JSON and every numpy array to an `.npz`
member (the `.npy` format is the same on numpy 1.x and 2.x), so a run started on one stack can
resume on the other. The round trip is exact, types included:

    None, bool, int, float (repr round-trip; NaN and inf too), str     -> JSON values
    list                                                               -> JSON array
    dict with str keys                                                 -> JSON object
    tuple, dict with other keys, namedtuples of NAMEDTUPLES            -> tagged objects
    numpy scalars (np.int64, np.float32, np.bool_, ...)                -> tagged {dtype, value}
    numpy arrays (numeric or bool dtypes)                              -> `.npz` members
    a list of >= 2 EncodedSessions of exact ints (q_d: floats)         -> 4 `.npz` members

Anything else is a TypeError at save time (so a new kind of state cannot silently lose its
type). Pure Python and numpy; no TensorFlow.
"""
import io
import json

import numpy as np

from irecgan.data.types import EncodedSession
from irecgan.npzio import npz_bytes

FORMAT = 1
TAG = "__irecgan__"
NAMEDTUPLES = {"EncodedSession": EncodedSession}
PACK_MIN = 2  # lists of at least this many EncodedSessions may be packed (_pack_sessions)


def _encode(value, arrays):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError("state arrays must be numeric or bool, got dtype %s" % value.dtype)
        name = "a%d" % len(arrays)
        arrays[name] = value
        return {TAG: "array", "name": name}
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise TypeError("state scalars must be numeric or bool, got %r" % (value,))
        return {TAG: "scalar", "dtype": value.dtype.str, "value": value.item()}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, tuple):
        kind = type(value).__name__
        items = [_encode(v, arrays) for v in value]
        if kind in NAMEDTUPLES and type(value) is NAMEDTUPLES[kind]:
            return {TAG: "namedtuple", "type": kind, "items": items}
        if type(value) is not tuple:
            raise TypeError("state holds a %s; add it to statefile.NAMEDTUPLES" % kind)
        return {TAG: "tuple", "items": items}
    if isinstance(value, list):
        packed = _pack_sessions(value, arrays)
        if packed is not None:
            return packed
        return [_encode(v, arrays) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return dict((k, _encode(v, arrays)) for k, v in value.items())
        return {TAG: "dict", "items": [[_encode(k, arrays), _encode(v, arrays)]
                                       for k, v in value.items()]}
    raise TypeError("cannot store a %s in a checkpoint's state" % type(value).__name__)


def _pack_sessions(sessions, arrays):
    """A list of at least PACK_MIN EncodedSessions whose fields are lists of exact ints (q_d:
    of exact floats; end_list and q_d may be None), e.g. the generated pool, as four arrays
    (one JSON value per session would cost ~0.4 CPU-s per checkpoint of a 6,000-session pool);
    None when the list is anything else (it is then stored value by value)."""
    if len(sessions) < PACK_MIN or any(type(x) is not EncodedSession for x in sessions):
        return None
    counts, widths, ints, floats = [], [], [], []
    for x in sessions:
        if (type(x.clicks) is not list or type(x.rec_lists) is not list or
                type(x.purchases) is not list):
            return None
        ints.extend(x.clicks)
        for r in x.rec_lists:
            if type(r) is not list:
                return None
            widths.append(len(r))
            ints.extend(r)
        ints.extend(x.purchases)
        n_end = n_q = -1
        if x.end_list is not None:
            if type(x.end_list) is not list:
                return None
            n_end = len(x.end_list)
            ints.extend(x.end_list)
        if x.q_d is not None:
            if type(x.q_d) is not list:
                return None
            n_q = len(x.q_d)
            floats.extend(x.q_d)
        counts.append((len(x.clicks), len(x.rec_lists), len(x.purchases), n_end, n_q))
    if set(map(type, ints)) - {int} or set(map(type, floats)) - {float}:
        return None
    try:
        packed = [_small(np.array(counts, np.int64).reshape(-1, 5)),
                  _small(np.array(widths, np.int64)), _small(np.array(ints, np.int64)),
                  np.array(floats, np.float64)]
    except OverflowError:   # an int beyond int64
        return None
    names = []
    for array in packed:
        names.append("a%d" % len(arrays))
        arrays[names[-1]] = array
    return {TAG: "sessions", "names": names}


def _small(values):
    """int64 `values` in the smallest signed integer dtype that holds them (smaller members
    deflate faster; `tolist` gives the same Python ints back)."""
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if not values.size or (values.min() >= info.min and values.max() <= info.max):
            return values.astype(dtype)
    return values


def _unpack_sessions(value, arrays):
    counts, widths, ints, floats = [arrays[name].tolist() for name in value["names"]]
    out, w, i, f = [], 0, 0, 0
    for n_clicks, n_lists, n_purchases, n_end, n_q in counts:
        clicks = ints[i:i + n_clicks]
        i += n_clicks
        lists = []
        for width in widths[w:w + n_lists]:
            lists.append(ints[i:i + width])
            i += width
        w += n_lists
        purchases = ints[i:i + n_purchases]
        i += n_purchases
        end = None
        if n_end >= 0:
            end = ints[i:i + n_end]
            i += n_end
        q_d = None
        if n_q >= 0:
            q_d = floats[f:f + n_q]
            f += n_q
        out.append(EncodedSession(clicks, lists, purchases, end, q_d))
    return out


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TAG)
    if kind is None:
        return dict((k, _decode(v, arrays)) for k, v in value.items())
    if kind == "array":
        return arrays[value["name"]]
    if kind == "scalar":
        return np.dtype(value["dtype"]).type(value["value"])
    if kind == "tuple":
        return tuple(_decode(v, arrays) for v in value["items"])
    if kind == "sessions":
        return _unpack_sessions(value, arrays)
    if kind == "namedtuple":
        return NAMEDTUPLES[value["type"]](*[_decode(v, arrays) for v in value["items"]])
    if kind == "dict":
        return dict((_hashable(_decode(k, arrays)), _decode(v, arrays))
                    for k, v in value["items"])
    raise ValueError("unknown state tag %r" % (kind,))


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def dumps(state):
    """state -> (JSON bytes, npz bytes). Deterministic: the same state (dict order included)
    gives the same bytes."""
    arrays = {}
    tree = {"format": FORMAT, "state": _encode(state, arrays)}
    text = json.dumps(tree, separators=(",", ":")).encode("utf-8")  # key order kept
    return text, npz_bytes(arrays)


def loads(text, data):
    """(JSON bytes, npz bytes) -> the state written by `dumps`."""
    tree = json.loads(text.decode("utf-8"))
    if tree.get("format") != FORMAT:
        raise ValueError("state format %r, this version reads %d" % (tree.get("format"), FORMAT))
    with np.load(io.BytesIO(data), allow_pickle=False) as members:
        arrays = dict((name, members[name]) for name in members.files)
    return _decode(tree["state"], arrays)
