"""A checkpoint's Python state as JSON + npz (irecgan.rundir.statefile): exact round trips, types
included, and bytes that numpy 1.x and 2.x both read."""
import collections
import os
import pickle

import numpy as np
import pytest

from irecgan.data.types import EncodedSession
from irecgan.errors import UserError
from irecgan.rundir import checkpoint, statefile


def same(a, b):
    """Equal values of equal types, recursively (arrays: dtype, shape and bytes)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b and (not isinstance(a, np.generic) or a.dtype == b.dtype)


def a_state():
    rng = np.random.RandomState(3)
    rng.normal()  # a cached Gaussian in the state
    return {
        "where": "adv/unit 4", "n_metrics": 9, "elapsed_s": 12.345678901234567,
        "adv/rng": rng.get_state(), "losses": [0.1, 1e-300, -0.0, float("inf"), float("nan")],
        "flags": [True, False, None], "scalars": [np.float32(0.1), np.int64(-7), np.bool_(True)],
        "pool": [EncodedSession([4, 5], [[], [4, 5, 6]], [0, 1], None, None),
                 EncodedSession([7], [[7, 8]], [0], [9, 10], [np.float32(0.25)])],
        "adv/epoch_stats": {1: {"d_acc": 0.5}, 2: {}},
        "arrays": [np.arange(6, dtype=np.int32).reshape(2, 3), np.zeros(0, np.float64),
                   np.array([True, False])],
        "nested": (1, (2.5, "x"), []),
    }


def test_round_trip_is_exact_with_types():
    state = a_state()
    text, data = statefile.dumps(state)
    back = statefile.loads(text, data)
    same(state, back)


def test_restored_random_state_continues_the_same_stream():
    rng = np.random.RandomState(11)
    rng.randint(0, 10, 5)
    rng.normal()
    text, data = statefile.dumps({"rng": rng.get_state()})
    other = np.random.RandomState(0)
    other.set_state(statefile.loads(text, data)["rng"])
    np.testing.assert_array_equal(other.normal(size=7), rng.normal(size=7))
    np.testing.assert_array_equal(other.permutation(20), rng.permutation(20))


def test_same_state_same_bytes():
    assert statefile.dumps(a_state()) == statefile.dumps(a_state())


@pytest.mark.parametrize("value", [object(), {1, 2}, np.array(["a"]), b"bytes",
                                   collections.namedtuple("Other", "x")(1)])
def test_values_it_cannot_store_are_a_type_error_at_save(value):
    with pytest.raises(TypeError):
        statefile.dumps({"x": value})


def test_reserved_key_and_non_string_keys_survive():
    state = {statefile.TAG: 1, "d": {(1, 2): "t", 3: [1]}}
    same(state, statefile.loads(*statefile.dumps(state)))


def test_checkpoint_reads_a_legacy_pickle(tmp_path):
    folder = str(tmp_path)
    state = {"n_metrics": 3, "rng": np.random.RandomState(1).get_state()}
    with open(os.path.join(folder, checkpoint.LEGACY_STATE), "wb") as handle:
        pickle.dump(state, handle, protocol=2)
    same(state, checkpoint.read_state(folder))


def test_a_pickle_of_another_numpy_is_a_user_error_that_says_so(tmp_path):
    # what numpy 1.18 meets in a numpy 2 pickle: a module it does not have (numpy._core)
    folder = str(tmp_path)
    with open(os.path.join(folder, checkpoint.LEGACY_STATE), "wb") as handle:
        handle.write(b"\x80\x02cnumpy._no_such_module\nthing\nq\x00.")  # GLOBAL opcode
    with pytest.raises(UserError) as err:
        checkpoint.read_state(folder)
    message = str(err.value)
    assert "\n" not in message and "another numpy" in message and folder in message


def test_checkpoint_writes_json_and_npz_not_a_pickle(tmp_path):
    from irecgan.tfcompat import tf
    graph = tf.Graph()
    with graph.as_default():
        v = tf.get_variable("v", [], initializer=tf.zeros_initializer())
        saver = tf.train.Saver([v])
        with tf.Session() as sess:
            sess.run(v.initializer)
            ckpt = checkpoint.Checkpointer(str(tmp_path), saver)
            ckpt.save(sess, a_state())
            names = sorted(os.listdir(os.path.join(str(tmp_path), "ckpt-0")))
            assert checkpoint.STATE_JSON in names and checkpoint.STATE_ARRAYS in names
            assert checkpoint.LEGACY_STATE not in names
            same(a_state(), ckpt.restore(sess))


def test_a_pool_of_sessions_is_packed_into_arrays_and_round_trips_exactly():
    """A generated pool (EncodedSessions of Python ints, q_d floats) goes to four npz members,
    not one JSON value per item; None, empty lists, -0.0, NaN and ints beyond int32 come back
    as they were, and a list holding a numpy int is stored item by item."""
    pool = [EncodedSession([4, 5, 6], [[], [4, 5], [7, 2 ** 40]], [0, 1, 0], None,
                           [0.25, -0.0, float("nan")]),
            EncodedSession([9], [[9, -3]], [1], [10, 11], None),
            EncodedSession([7, 8], [[7], [8, 9]], [0, 0], [], [])]
    text, data = statefile.dumps({"pool": pool, "one": pool[:1]})
    assert b"sessions" in text and b"2199023255552" not in text   # 2 ** 40: in the npz
    back = statefile.loads(text, data)
    same({"pool": pool, "one": pool[:1]}, back)
    mixed = pool[:2] + [EncodedSession([np.int64(4)], [[4]], [0], None, None)]
    text, data = statefile.dumps({"pool": mixed})
    assert b"sessions" not in text
    same({"pool": mixed}, statefile.loads(text, data))
