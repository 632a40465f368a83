"""The two in-memory forms of a session.

`Session` is what the processed log holds (item ids as strings, one entry per step = per line).
`EncodedSession` is a session mapped through a `Vocabulary` (item indices as ints); it is also
the form in which the generation engine returns generated sessions.
"""
import collections

# session_id: int
# states:     list of str, one per step (the log's `state` field, "" or "0" on real data)
# clicks:     list of str, the clicked item of each step
# rec_lists:  list of list of str, the candidates shown before each step's click; the click is
#             appended when it was not shown (SPEC 2.1); may be [] on the first step
# purchases:  list of int (0/1), one per step
Session = collections.namedtuple(
    "Session", ["session_id", "states", "clicks", "rec_lists", "purchases"])

# clicks:    list of int (vocabulary indices), length L (no _EOS)
# rec_lists: list of list of int, length L; rec_lists[j] = candidates shown before click j
#            (click included, _EOS NOT included); rec_lists[0] is unused by the models
# purchases: list of int, length L
# end_list:  list of int or None: the candidates (without _EOS) shown when the session ended,
#            for generated sessions that ended by the user model picking _EOS; None means the
#            batcher pads the end step with a random sample (SPEC 2.4)
# q_d:       list of float of length L or None (= all ones): q_d[t] is the discriminator score
#            of the prefix that ends with position t's target (click t+1, or _EOS at t = L-1)
EncodedSession = collections.namedtuple(
    "EncodedSession", ["clicks", "rec_lists", "purchases", "end_list", "q_d"])


def encoded(clicks, rec_lists, purchases, end_list=None, q_d=None):
    """Convenience constructor with the optional fields defaulted."""
    return EncodedSession(list(clicks), [list(r) for r in rec_lists], list(purchases),
                          None if end_list is None else list(end_list),
                          None if q_d is None else list(q_d))
