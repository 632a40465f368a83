"""Simulator parameter files: a deterministic `.npz` (a zip of `.npy` arrays) with a `kind` tag.

`save_arrays` writes them with `npzio.npz_bytes` (fixed timestamps, sorted member names), so the
same seed gives the same file. The result is an ordinary `.npz`: `np.load(path)` reads it.
"""
import os
import zipfile

import numpy as np

from irecgan.errors import UserError
from irecgan.npzio import npz_bytes

KIND_KEY = "kind"


def save_arrays(path, kind, arrays):
    """Write `arrays` (name -> array-like) and the tag `kind` (a str) to `path`."""
    if KIND_KEY in arrays:
        raise ValueError("'%s' is reserved" % KIND_KEY)
    members = dict(arrays)
    members[KIND_KEY] = np.array(kind)
    try:
        with open(path, "wb") as handle:
            handle.write(npz_bytes(members))
    except (IOError, OSError) as err:
        raise UserError("cannot write parameter file %s: %s" % (path, _reason(err)))


def load_arrays(path, kind, required):
    """Read a file written by `save_arrays`; returns name -> ndarray (without the tag).

    Raises `UserError` when the file is missing or unreadable, is not such a file, was written for
    another simulator (`kind` differs), or lacks one of the `required` names."""
    _check_archive(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = dict((name, data[name]) for name in data.files)
    except (IOError, OSError, ValueError, zipfile.BadZipfile) as err:
        raise UserError("cannot read parameter file %s: %s" % (path, _reason(err)))
    found = arrays.pop(KIND_KEY, None)
    found = None if found is None else str(found)
    if found != kind:
        raise UserError("parameter file %s holds %s parameters, expected %s" % (
            path, "unknown" if found is None else repr(found), repr(kind)))
    missing = [name for name in required if name not in arrays]
    if missing:
        raise UserError("parameter file %s lacks %s" % (path, ", ".join(missing)))
    return arrays


def read_kind(path):
    """The `kind` tag of a parameter file (None when it has none); `UserError` when the file is
    missing or not a readable `.npz` archive."""
    _check_archive(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if KIND_KEY not in data.files:
                return None
            return str(np.asarray(data[KIND_KEY]).reshape(-1)[0])
    except (IOError, OSError, ValueError, KeyError, IndexError, zipfile.BadZipfile) as err:
        raise UserError("cannot read parameter file %s: %s" % (path, _reason(err)))


def _check_archive(path):
    if not os.path.isfile(path):
        raise UserError("parameter file %s does not exist" % path)
    if not zipfile.is_zipfile(path):
        raise UserError("parameter file %s is not a .npz archive" % path)


def _reason(err):
    return " ".join(str(err).split()) or type(err).__name__
