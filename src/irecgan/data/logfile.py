"""The processed log (SPEC 2.1): `session_id;state;click;rec_list;purchase`, one step a line.

This module holds the writer; the streaming, validating reader lives beside it.
"""
import io

FIELDS = ("session_id", "state", "click", "rec_list", "purchase")
SEP = ";"
LIST_SEP = ","


def format_step(session_id, state, click, rec_list, purchase):
    """One log line (without newline). `rec_list` is a sequence of item ids (any str()-able)."""
    return SEP.join((str(int(session_id)), str(state), str(click),
                     LIST_SEP.join(str(x) for x in rec_list), str(int(purchase))))


def write_sessions(out, sessions):
    """Write `Session`s to `out` (a path or a text file object). Returns the number of lines."""
    if isinstance(out, str):
        with io.open(out, "w", encoding="utf-8", newline="\n") as handle:
            return write_sessions(handle, sessions)
    lines = 0
    for s in sessions:
        for state, click, rec, purchase in zip(s.states, s.clicks, s.rec_lists, s.purchases):
            out.write(format_step(s.session_id, state, click, rec, purchase))
            out.write("\n")
            lines += 1
    return lines
