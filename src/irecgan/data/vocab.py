"""The vocabulary (SPEC 2.2): special tokens, then items by click frequency or in numeric order.

Index 0 `_PAD`, 1 `_UNK`, 2 `_GO`, 3 `_EOS`; items start at `N_SPECIAL` = 4. Unknown items map
to `UNK`. Embeddings are the models' business; this module only maps ids to indices.
"""
import collections
import io
import json

from irecgan.data.types import encoded
from irecgan.errors import UserError

PAD = 0
UNK = 1
GO = 2
EOS = 3
SPECIAL_TOKENS = ("_PAD", "_UNK", "_GO", "_EOS")
N_SPECIAL = len(SPECIAL_TOKENS)

_FORMAT = "irecgan-vocabulary"
_VERSION = 1


class Vocabulary(object):
    """Item id (str) <-> index (int). `items[j]` has index `j + N_SPECIAL`."""

    def __init__(self, items):
        items = [str(x) for x in items]
        index = {}
        for pos, item in enumerate(items):
            if item in index:
                raise ValueError("duplicate item %r in vocabulary" % item)
            index[item] = pos + N_SPECIAL
        self._items = items
        self._index = index

    @classmethod
    def build(cls, sessions, symbols=None):
        """Items by descending click count in `sessions` (the training split), ties broken by
        the item id string in ascending order; only clicked items are counted (items that were
        only shown map to `UNK`). `symbols`: total size including the 4 special tokens (the
        least frequent items are cut); None keeps every clicked item."""
        if symbols is not None and int(symbols) < N_SPECIAL:
            raise UserError("symbols must be >= %d (the special tokens), got %r"
                            % (N_SPECIAL, symbols))
        counts = collections.Counter()
        for s in sessions:
            counts.update(s.clicks)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if symbols is not None:
            ranked = ranked[:int(symbols) - N_SPECIAL]
        return cls(item for item, _ in ranked)

    @classmethod
    def numeric(cls, n_items):
        """Items "0" .. "n_items-1" at indices 4 .. n_items+3 (the simulators' vocabulary)."""
        return cls(str(i) for i in range(int(n_items)))

    @property
    def size(self):
        """Number of indices, special tokens included."""
        return len(self._items) + N_SPECIAL

    def __len__(self):
        return self.size

    @property
    def items(self):
        """The item ids in index order (a copy; index of items[j] is j + N_SPECIAL)."""
        return list(self._items)

    def item_index(self, item):
        """Index of an item id (str; ints are converted with str()); `UNK` when unknown."""
        return self._index.get(str(item), UNK)

    def indices(self, items):
        """List of indices of a sequence of item ids."""
        get = self._index.get
        return [get(str(x), UNK) for x in items]

    def item_id(self, index):
        """Item id (str) of an index; the special tokens give their names ("_EOS", ...)."""
        index = int(index)
        if index < 0 or index >= self.size:
            raise IndexError("index %d outside the vocabulary (size %d)" % (index, self.size))
        if index < N_SPECIAL:
            return SPECIAL_TOKENS[index]
        return self._items[index - N_SPECIAL]

    def encode_list(self, items):
        """Indices of a shown list with set semantics, as the reference (`list(set(...))`):
        each index once, in order of first occurrence, so repeated items and all unknown items
        (which all map to `UNK`) appear once. Returns a list of int."""
        get = self._index.get
        out, seen = [], set()
        for x in items:
            index = get(str(x), UNK)
            if index not in seen:
                seen.add(index)
                out.append(index)
        return out

    def encode_session(self, session):
        """`Session` (strings) -> `EncodedSession` (indices; end_list and q_d None). Shown lists
        are deduplicated after mapping (`encode_list`)."""
        return encoded(self.indices(session.clicks),
                       [self.encode_list(rec) for rec in session.rec_lists],
                       [int(p) for p in session.purchases])

    def encode_sessions(self, sessions):
        return [self.encode_session(s) for s in sessions]

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self._items == other._items

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "Vocabulary(size=%d)" % self.size

    # ---- persistence: one JSON object {"format", "version", "special_tokens", "items"} ----

    def to_dict(self):
        """The vocabulary as the JSON object of `save`."""
        return collections.OrderedDict([
            ("format", _FORMAT), ("version", _VERSION),
            ("special_tokens", list(SPECIAL_TOKENS)), ("items", self._items)])

    def save(self, path):
        with io.open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(self.to_dict(), ensure_ascii=False))
            handle.write("\n")

    @classmethod
    def load(cls, path):
        try:
            with io.open(path, "r", encoding="utf-8") as handle:
                data = json.load(handle)
        except (IOError, OSError) as err:
            raise UserError("%s: cannot read: %s" % (path, err.strerror or err))
        except ValueError as err:  # JSON or UTF-8 decoding
            raise UserError("%s: not a vocabulary file: %s" % (path, str(err).splitlines()[0]))
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data, where):
        """The vocabulary of a `to_dict` object; `UserError` naming `where` when it is none."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise UserError("%s: not a vocabulary file (no \"format\": \"%s\")" % (where, _FORMAT))
        if data.get("version") != _VERSION:
            raise UserError("%s: unsupported vocabulary version %r" % (where, data.get("version")))
        if data.get("special_tokens") != list(SPECIAL_TOKENS):
            raise UserError("%s: special tokens %r differ from %r"
                            % (where, data.get("special_tokens"), list(SPECIAL_TOKENS)))
        items = data.get("items")
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise UserError("%s: \"items\" must be a list of strings" % where)
        try:
            return cls(items)
        except ValueError as err:
            raise UserError("%s: %s" % (where, err))
