"""Vocabulary (SPEC 2.2): special tokens, frequency order with ties, truncation, persistence."""
import io

import pytest

from irecgan.data import vocab as V
from irecgan.data.types import EncodedSession, Session
from irecgan.data.vocab import Vocabulary
from irecgan.errors import UserError


def _session(sid, clicks, rec_lists=None, purchases=None):
    n = len(clicks)
    return Session(sid, ["0"] * n, list(clicks), rec_lists or [[c] for c in clicks],
                   purchases or [0] * n)


# click counts: b 3, a 2, c 2, d 1, "10" 1, "9" 1; "zz" only shown, never clicked
TRAIN = [_session(1, ["b", "a", "b"], [["b"], ["a", "zz"], ["b"]]),
         _session(2, ["c", "b", "a", "c"]),
         _session(3, ["d", "9", "10"])]


def test_special_indices():
    assert (V.PAD, V.UNK, V.GO, V.EOS, V.N_SPECIAL) == (0, 1, 2, 3, 4)
    assert V.SPECIAL_TOKENS == ("_PAD", "_UNK", "_GO", "_EOS")


def test_build_orders_by_click_count_then_item_string():
    vocab = Vocabulary.build(TRAIN)
    # b (3), then the ties a/c (2) by string, then "10" < "9" < "d" (1 each, string order)
    assert vocab.items == ["b", "a", "c", "10", "9", "d"]
    assert vocab.size == 10
    assert [vocab.item_index(x) for x in ("b", "a", "c", "10", "9", "d")] == [4, 5, 6, 7, 8, 9]
    assert vocab.item_index("zz") == V.UNK          # shown but never clicked
    assert vocab.item_index("nope") == V.UNK
    assert [vocab.item_id(i) for i in range(10)] == [
        "_PAD", "_UNK", "_GO", "_EOS", "b", "a", "c", "10", "9", "d"]
    with pytest.raises(IndexError):
        vocab.item_id(10)
    with pytest.raises(IndexError):
        vocab.item_id(-1)


def test_build_is_independent_of_session_order():
    assert Vocabulary.build(TRAIN[::-1]) == Vocabulary.build(TRAIN)


def test_build_truncates_to_symbols_including_specials():
    vocab = Vocabulary.build(TRAIN, symbols=7)      # 7 - 4 = 3 items
    assert vocab.items == ["b", "a", "c"]
    assert vocab.size == 7
    assert vocab.item_index("d") == V.UNK
    assert Vocabulary.build(TRAIN, symbols=4).items == []
    assert Vocabulary.build(TRAIN, symbols=100).size == 10   # not padded
    with pytest.raises(UserError):
        Vocabulary.build(TRAIN, symbols=3)


def test_numeric():
    vocab = Vocabulary.numeric(50)
    assert vocab.size == 54
    assert vocab.item_index("0") == 4 and vocab.item_index("49") == 53
    assert vocab.item_index(7) == 11                # ints are looked up as str
    assert vocab.item_index("50") == V.UNK
    assert vocab.item_id(4) == "0" and vocab.item_id(53) == "49"


def test_encode_session():
    vocab = Vocabulary.build(TRAIN)
    s = Session(5, ["", "", ""], ["a", "q", "d"], [[], ["a", "q", "b"], ["d", "zz"]], [0, 1, 0])
    enc = vocab.encode_session(s)
    assert isinstance(enc, EncodedSession)
    assert enc == EncodedSession([5, 1, 9], [[], [5, 1, 4], [9, 1]], [0, 1, 0], None, None)
    assert vocab.encode_sessions([s, s]) == [enc, enc]


def test_shown_lists_are_sets_after_mapping():
    # the reference's list(set(...)): a repeated item once, every unknown item ("q", "zz",
    # "yy") one _UNK; first-occurrence order; clicks are not deduplicated
    vocab = Vocabulary.build(TRAIN)   # a=5, b=4, d=9
    s = Session(6, ["", "", ""], ["a", "a", "q"],
                [[], ["a", "q", "b", "a", "zz"], ["yy", "q", "d", "d", "zz"]], [0, 0, 0])
    enc = vocab.encode_session(s)
    assert enc.clicks == [5, 5, 1]
    assert enc.rec_lists == [[], [5, 1, 4], [1, 9]]
    assert vocab.encode_list(["b", "b", "b"]) == [4]


def test_duplicates_rejected():
    with pytest.raises(ValueError):
        Vocabulary(["a", "b", "a"])


def test_save_load_round_trip(tmp_path):
    vocab = Vocabulary.build(TRAIN + [_session(4, ["é", "é", "é", "é"])])
    path = str(tmp_path / "vocab.json")
    vocab.save(path)
    loaded = Vocabulary.load(path)
    assert loaded == vocab
    assert loaded.items == ["é", "b", "a", "c", "10", "9", "d"]
    assert loaded.item_index("é") == 4


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    (b"\xff\xfe garbage", "not a vocabulary file"),
    (b"[1, 2]", "not a vocabulary file"),
    (b'{"format": "irecgan-vocabulary", "version": 2}', "unsupported vocabulary version 2"),
    (b'{"format": "irecgan-vocabulary", "version": 1, "special_tokens": ["_PAD"],'
     b' "items": []}', "special tokens"),
    (b'{"format": "irecgan-vocabulary", "version": 1, "special_tokens":'
     b' ["_PAD", "_UNK", "_GO", "_EOS"], "items": ["a", 3]}', "must be a list of strings"),
    (b'{"format": "irecgan-vocabulary", "version": 1, "special_tokens":'
     b' ["_PAD", "_UNK", "_GO", "_EOS"], "items": ["a", "a"]}', "duplicate item 'a'"),
])
def test_load_errors_are_user_errors(tmp_path, content, message):
    path = str(tmp_path / "v.json")
    if content is not None:
        with io.open(path, "wb") as handle:
            handle.write(content)
    with pytest.raises(UserError) as info:
        Vocabulary.load(path)
    assert str(info.value).startswith(path + ": ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
