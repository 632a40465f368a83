"""The lists the agent showed in the sessions it produced, as batch arrays (issue 34's `slate`
objective; irecgan.models.objectives).

Position t of a session (0 <= t < L) is the state after its click t; the list shown there is
`rec_lists[t + 1]` for t < L - 1 and `end_list` (the list the session ended on, its reward 0)
at t = L - 1, when the session has one. Generated sessions (training.generation,
training.true_world) record the agent's lists in the order it drew them (Gumbel top-k, sorted),
which is the order the Plackett-Luce log-probability reads.
"""
import numpy as np

from irecgan.data.vocab import PAD


def no_own_lists(shape, k):
    """(own [B], shown [B, n, k], shown_mask [B, n]) of a batch (mask shape [B, n]) in which
    no session is the agent's own: all zeros (shown filled with _PAD)."""
    rows, n = int(shape[0]), int(shape[1])
    return (np.zeros(rows, np.float32), np.full((rows, n, int(k)), PAD, np.int32),
            np.zeros((rows, n), np.float32))


def shown_lists(sessions, own, n, k):
    """(own [B] float32, shown [B, n, k] int32, shown_mask [B, n] float32) of a batch.

    sessions: the batch's EncodedSessions in batch order; own: per session, True when the agent
    produced it; n: the batch's positions per row (its longest session). Row i's position t
    holds the list shown there (module doc) when session i is own and has a list of k items
    there, with shown_mask 1; else _PAD and 0. Raises ValueError for an own session's list of
    another length than k (a list the agent did not draw).
    """
    flags, shown, mask = no_own_lists((len(sessions), n), k)
    for i, (session, mine) in enumerate(zip(sessions, own)):
        if not mine:
            continue
        flags[i] = 1.0
        L = len(session.clicks)
        lists = list(session.rec_lists[1:L]) + [session.end_list]
        for t, items in enumerate(lists):
            if items is None:
                continue
            if len(items) != k:
                raise ValueError("session %d, position %d: the agent's list has %d items, not "
                                 "k = %d" % (i, t, len(items), k))
            shown[i, t] = items
            mask[i, t] = 1.0
    return flags, shown, mask
