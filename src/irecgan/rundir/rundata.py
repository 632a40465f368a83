"""What a run directory keeps of its data: RUN/data.json.

The vocabulary and the facts of the training split the models are built from (whether it has
purchases, its purchase rate), written once when the run directory is made
(`experiment.open_run`). What works on a trained run without training it again reads them from
here, not from the log: `irecgan-export`, `irecgan-evaluate --data=LOG`, so a run directory
copied to another machine, or whose log was moved, still exports and evaluates. Run directories
made before this file existed have none: `experiment.run_data` rebuilds the same facts from the
log, as training built them, and says so in one line.
"""
import os

from irecgan.data.vocab import Vocabulary
from irecgan.errors import UserError
from irecgan.rundir.runner import read_json, write_json

DATA = "data.json"
FORMAT = "irecgan-run-data"
VERSION = 1


class RunData(object):
    """What the models of a run are built from (the part of a `data.dataset.Dataset` that
    `experiment.build_models` reads): `vocab`, `has_purchase`, `purchase_rate`."""

    def __init__(self, vocab, has_purchase, purchase_rate):
        self.vocab = vocab
        self.has_purchase = bool(has_purchase)
        self.purchase_rate = float(purchase_rate)

    @classmethod
    def of(cls, dataset):
        return cls(dataset.vocab, dataset.has_purchase, dataset.purchase_rate)

    def to_dict(self):
        return {"format": FORMAT, "version": VERSION, "vocabulary": self.vocab.to_dict(),
                "has_purchase": self.has_purchase, "purchase_rate": self.purchase_rate}


def write_run_data(run_dir, dataset):
    """Write RUN/data.json for `dataset` unless it is there (atomically: temp file + rename)."""
    path = os.path.join(run_dir, DATA)
    if not os.path.exists(path):
        write_json(path, RunData.of(dataset).to_dict())


def read_run_data(run_dir):
    """The RunData of RUN/data.json, None when the run directory has none; `UserError` (one
    line naming the file) when it is unreadable or not such a file."""
    path = os.path.join(run_dir, DATA)
    if not os.path.exists(path):
        return None
    try:
        data = read_json(path)
    except (IOError, OSError, ValueError) as err:
        raise UserError("%s: cannot read: %s" % (path, " ".join(str(err).split())))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError("%s: not a run's data file (no \"format\": \"%s\")" % (path, FORMAT))
    if data.get("version") != VERSION:
        raise UserError("%s: unsupported version %r" % (path, data.get("version")))
    rate = data.get("purchase_rate")
    if not isinstance(data.get("has_purchase"), bool) or isinstance(rate, bool) or \
            not isinstance(rate, (int, float)):
        raise UserError("%s: has_purchase must be true or false and purchase_rate a number"
                        % path)
    return RunData(Vocabulary.from_dict(data.get("vocabulary"), path + " (vocabulary)"),
                   data["has_purchase"], rate)
