"""From a processed log to encoded train / valid / test sessions (SPEC 2)."""
from irecgan.data.logfile import read_log
from irecgan.data.overlap import verbatim_repeats
from irecgan.data.splits import file_split, fold_split, ratio_split
from irecgan.data.vocab import Vocabulary
from irecgan.errors import UserError

SPLITS = ("fold", "ratio", "file")


class Dataset(object):
    """Encoded splits plus what the models need to know about the data.

    vocab: the Vocabulary; train/valid/test: lists of EncodedSession; has_purchase: whether any
    training step has a purchase (switches the user model's purchase head, SPEC 3.1);
    first_clicks: encoded first clicks of the training sessions (the start distribution of
    generated sessions, SPEC 4); mean_length: mean training session length; purchase_rate: the
    share of purchase labels among the positions the user model's purchase head learns from
    (see `purchase_rate`); test_repeats: the number of test sessions occurring verbatim in the
    training split (data.overlap), or None when unknown.
    """

    def __init__(self, vocab, train, valid, test, report, test_repeats=None):
        self.vocab = vocab
        self.train = train
        self.valid = valid
        self.test = test
        self.report = report
        self.test_repeats = test_repeats
        self.has_purchase = any(p for s in train for p in s.purchases)
        self.first_clicks = [s.clicks[0] for s in train]
        self.mean_length = (sum(len(s.clicks) for s in train) / float(len(train))
                            if train else 0.0)
        self.purchase_rate = purchase_rate(train)

    def summary(self):
        return {"vocab_size": self.vocab.size, "train_sessions": len(self.train),
                "valid_sessions": len(self.valid), "test_sessions": len(self.test),
                "has_purchase": self.has_purchase, "mean_length": self.mean_length,
                "purchase_rate": self.purchase_rate,
                "test_verbatim_repeats": self.test_repeats,
                "test_verbatim_share_pct": (100.0 * self.test_repeats / len(self.test)
                                            if self.test and self.test_repeats is not None
                                            else None),
                "log": self.report.as_dict()}


def purchase_rate(sessions):
    """Purchases among predicting positions: a session of L steps has L positions (SPEC 2.4),
    whose purchase labels are the flags of steps 1..L-1 and 0 at the end step; so
    sum(purchases[1:]) / sum(L) over `sessions` (0.0 for none)."""
    positions = sum(len(s.clicks) for s in sessions)
    bought = sum(sum(1 for p in s.purchases[1:] if p) for s in sessions)
    return bought / float(positions) if positions else 0.0


def read_splits(path, split="fold", seed=0, split_file=None, ratios=(0.8, 0.1, 0.1),
                lenient=False, min_len=2, max_len=40):
    """`((train, valid, test), read report)`: the log's `Session`s split as `load_dataset`
    splits them (the arguments are `load_dataset`'s)."""
    sessions, report = read_log(path, lenient=lenient, min_len=min_len, max_len=max_len)
    if not sessions:
        raise UserError("%s: no session of %d..%d steps" % (path, min_len, max_len))
    if split == "fold":
        parts = fold_split(sessions, seed)
    elif split == "ratio":
        parts = ratio_split(sessions, seed, ratios)
    elif split == "file":
        if not split_file:
            raise UserError("--split=file needs --split_file")
        parts = file_split(sessions, split_file)
    else:
        raise UserError("unknown split %r (one of %s)" % (split, ", ".join(SPLITS)))
    return parts, report


def load_dataset(path, split="fold", seed=0, split_file=None, ratios=(0.8, 0.1, 0.1),
                 n_items=0, symbols=40000, lenient=False, min_len=2, max_len=40):
    """Read, split and encode a processed log.

    split: "fold" (the reference's seeded 38/1/1 folds), "ratio" (`ratios`, e.g. 80/10/10 as
    the source document splits its simulated logs) or "file" (`split_file`).
    n_items > 0: a simulator's numeric vocabulary (items "0".."n_items-1"); otherwise items by
    click frequency in the training split, truncated to `symbols` entries in all.
    """
    (train, valid, test), report = read_splits(path, split, seed, split_file, ratios, lenient,
                                               min_len, max_len)
    if not train:
        raise UserError("%s: the training split is empty" % path)
    vocab = Vocabulary.numeric(n_items) if n_items > 0 else Vocabulary.build(train, symbols)
    return Dataset(vocab, vocab.encode_sessions(train), vocab.encode_sessions(valid),
                   vocab.encode_sessions(test), report,
                   test_repeats=verbatim_repeats(train, test)[0])
