"""How many test sessions occur verbatim in the training split (memorisation check).

A session's content is what the models see: its clicks, shown lists and purchases, step by step
(the session id and the log's `state` field are left out). On a log with few distinct sessions
(a deterministic simulator user and logging policy) most test sessions repeat training ones, and
offline P@k then measures memory, not generalisation.
"""


def session_content(session):
    """The hashable content of a `Session` or `EncodedSession`: (clicks, lists, purchases)."""
    return (tuple(session.clicks), tuple(tuple(r) for r in session.rec_lists),
            tuple(int(p) for p in session.purchases))


def verbatim_repeats(train, test):
    """`(repeats, n_test)`: the number of `test` sessions whose content equals that of some
    `train` session, and the number of test sessions."""
    seen = set(session_content(s) for s in train)
    return sum(1 for s in test if session_content(s) in seen), len(test)


def verbatim_share(train, test):
    """Percentage of test sessions occurring verbatim in `train` (None when `test` is empty)."""
    repeats, n = verbatim_repeats(train, test)
    return 100.0 * repeats / n if n else None
