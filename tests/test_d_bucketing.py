"""D's length-bucketed batches (issue 33, `d_bucket_window`, d_data=authors): off by default and
then the same batches, in the same order, from the same random draws as before the option; on,
every session is used as often as before, within its window, in batches of the same sizes whose
real and generated halves are each of similar lengths. No TensorFlow: D's update is a stub."""
import types

import numpy as np

from irecgan import config
from irecgan.data.batching import length_bucketed_pairs
from irecgan.training.adversarial import AdversarialTraining


def test_hand_case_two_windows():
    real_len = {0: 5, 1: 2, 2: 9, 3: 1, 4: 3}
    fake_len = {10: 4, 11: 8, 12: 1, 13: 6, 14: 2}
    pairs = [([0, 1], [10, 11]), ([2, 3], [12, 13]), ([4], [14])]
    out = length_bucketed_pairs(pairs, real_len, fake_len, 2, np.random.RandomState(0))
    # window 1: reals 0, 1, 2, 3 by length -> 3, 1, 0, 2; fakes 10..13 -> 12, 10, 13, 11
    # window 2: the last batch alone; then the three batches in permutation order
    expected = [([3, 1], [12, 10]), ([0, 2], [13, 11]), ([4], [14])]
    order = np.random.RandomState(0).permutation(3)
    assert out == [expected[b] for b in order]


def stub_trainer(train, batch_size, d_bucket_window):
    """An AdversarialTraining with only what train_disc_authors reads; its D updates record
    the sessions they get."""
    trainer = AdversarialTraining.__new__(AdversarialTraining)
    trainer.data = types.SimpleNamespace(train=train)
    trainer.batch_size = batch_size
    trainer.d_bucket_window = d_bucket_window
    trainer.calls = []

    def disc_step(sessions, labels, rng):
        trainer.calls.append((list(sessions), labels.tolist()))
        return 0.5, 0.5
    trainer._disc_step = disc_step
    return trainer


def sessions(rng, n, tag):
    return [types.SimpleNamespace(clicks=[0] * int(rng.randint(1, 30)), tag=(tag, i))
            for i in range(n)]


def test_off_by_default_the_batches_and_draws_of_before():
    assert config.DEFAULTS["d_bucket_window"] == 0 and config.ADDED_KEYS["d_bucket_window"] == 0
    rng = np.random.RandomState(1)
    train, pool = sessions(rng, 23, "real"), sessions(rng, 9, "fake")
    trainer = stub_trainer(train, 4, 0)
    draws = np.random.RandomState(5)
    stats = trainer.train_disc_authors(pool, draws, epochs=2)
    # the loop before the option, on the same draws
    old, again = [], np.random.RandomState(5)
    pool_order = again.permutation(len(pool))
    for _ in range(2):
        order = again.permutation(len(train))
        for start in range(0, len(order), 4):
            real = [train[i] for i in order[start:start + 4]]
            fake = [pool[pool_order[(start + j) % len(pool)]] for j in range(len(real))]
            old.append((real + fake, [1.0] * len(real) + [0.0] * len(fake)))
    assert trainer.calls == old and stats["steps"] == len(old) == 12
    assert draws.randint(10 ** 9) == again.randint(10 ** 9)   # no other draw taken


def test_on_same_sessions_per_window_same_sizes_less_padding():
    rng = np.random.RandomState(2)
    train, pool = sessions(rng, 40, "real"), sessions(rng, 17, "fake")
    plain, bucketed = stub_trainer(train, 4, 0), stub_trainer(train, 4, 5)
    plain.train_disc_authors(pool, np.random.RandomState(3), epochs=1)
    bucketed.train_disc_authors(pool, np.random.RandomState(3), epochs=1)
    assert len(bucketed.calls) == len(plain.calls) == 10

    def tags(calls):
        return sorted(s.tag for batch, _ in calls for s in batch)
    assert tags(bucketed.calls) == tags(plain.calls)        # each session as often as before
    for batch, labels in bucketed.calls:
        assert labels == [1.0] * 4 + [0.0] * 4
        assert all(s.tag[0] == ("real" if y else "fake") for s, y in zip(batch, labels))

    def padded(calls):   # positions a D update computes: batch size x longest session
        return sum(len(batch) * max(len(s.clicks) for s in batch) for batch, _ in calls)
    assert padded(bucketed.calls) < 0.8 * padded(plain.calls)
