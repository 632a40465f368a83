"""A content-addressed store of finished pretraining phases, shared by the runs of one sweep.

An entry is a folder `<root>/<key>` (the key: a SHA-256 of everything the pretraining read, see
training/shared_pretrain.py) holding

  key.json     what the key was made of (JSON; for a reader, never used to match)
  entry.json   the payload (`statefile`: the variables by name, the run state after the
  entry.npz    pretraining, the metrics.jsonl lines it wrote)
  COMPLETE     the checkpoint marker: size and SHA-256 of the files above (checkpoint.manifest)

It is written into `<root>/.tmp-<key>-<pid>-<random>` (every file fsynced, the marker last) and
renamed to `<root>/<key>` in one step, so `<root>/<key>` is complete or absent. When two runs
store the same key at once the first rename wins; the second finds the folder taken, deletes its
temporary folder and keeps the winner's (both hold the same bytes). A reader verifies the marker
first: a damaged entry is reported in one line and read as absent (it is never deleted or
overwritten; remove it by hand). Pure Python and numpy; no TensorFlow.
"""
import binascii
import errno
import io
import json
import os
import shutil

from irecgan.rundir import statefile
from irecgan.rundir.checkpoint import MARKER, fsync_dir, fsync_write, manifest, verify

KEY_FILE, ENTRY_JSON, ENTRY_ARRAYS = "key.json", "entry.json", "entry.npz"
TMP_PREFIX = ".tmp-"


class PretrainCache(object):
    """The entries under `root` (created on the first store). `log`: one-line messages."""

    def __init__(self, root, log=None):
        self.root = root
        self.log = log or (lambda msg: None)

    def path(self, key):
        return os.path.join(self.root, key)

    def load(self, key):
        """The payload stored under `key` (a dict: variables, state, records), or None when there
        is no entry or it fails its checksums (one line says so)."""
        folder = self.path(key)
        if not os.path.isdir(folder):
            return None
        problem = verify(folder)
        if problem is not None:
            self.log("pretraining cache %s is damaged (%s): not used" % (folder, problem))
            return None
        with io.open(os.path.join(folder, ENTRY_JSON), "rb") as handle:
            text = handle.read()
        with io.open(os.path.join(folder, ENTRY_ARRAYS), "rb") as handle:
            data = handle.read()
        return statefile.loads(text, data)

    def store(self, key, material, payload):
        """Store `payload` (statefile-encodable) under `key`, with `material` (JSON-able: what the
        key hashes) beside it. Returns True when this call made the entry, False when it existed
        already (made by another run, maybe at the same moment)."""
        if os.path.isdir(self.path(key)):
            return False
        os.makedirs(self.root, exist_ok=True)
        tmp = os.path.join(self.root, "%s%s-%d-%s" % (
            TMP_PREFIX, key, os.getpid(), binascii.hexlify(os.urandom(4)).decode("ascii")))
        os.makedirs(tmp)
        try:
            text, data = statefile.dumps(payload)
            fsync_write(os.path.join(tmp, KEY_FILE), (json.dumps(
                material, indent=2, sort_keys=True) + "\n").encode("utf-8"))
            fsync_write(os.path.join(tmp, ENTRY_JSON), text)
            fsync_write(os.path.join(tmp, ENTRY_ARRAYS), data)
            fsync_write(os.path.join(tmp, MARKER), json.dumps(
                manifest(tmp), sort_keys=True).encode("utf-8"))
            fsync_dir(tmp)
            try:
                os.rename(tmp, self.path(key))
            except OSError as err:
                if err.errno in (errno.ENOTEMPTY, errno.EEXIST) and os.path.isdir(
                        self.path(key)):
                    return False   # another run stored it first
                raise
            fsync_dir(self.root)
            return True
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
