"""What the CIKM converter (cikm.convert) read, dropped and wrote: `ConvertReport`, and the loader's
session-length filter (SPEC 2.1) that the report measures without applying it."""
import collections

MIN_SESSION_STEPS = 2   # the loader's filter (SPEC 2.1), reported here, not applied
MAX_SESSION_STEPS = 40


class ConvertReport(object):
    """What the converter read, dropped and wrote. Every count is an int.

    Queries file:
      queries_read                  data rows of train-queries.csv
      test_queries_skipped          rows with is.test = TRUE
      queries_no_click              non-test queries without any click row
      queries_multi_click           non-test queries with more than one distinct click row
      queries_multi_click_same_item   ... of which all click rows name the same item
    Clicks file:
      click_rows_read               data rows of train-clicks.csv
      duplicate_click_rows_dropped  rows equal to an earlier row (queryId, timeframe, itemId)
      clicks_unknown_query          distinct click rows whose queryId is not in the queries file
      clicks_on_test_queries        distinct click rows of is.test queries (ignored)
    Purchases file:
      purchase_rows_read            data rows of train-purchases.csv
    Output:
      kept_lines                    lines written (non-test queries with exactly one click)
      sessions_written              distinct sessions among them
      purchases_matched             lines with purchase = 1
      clicks_not_in_items           lines whose clicked item is not in the query's items list
                                    (the loader appends it, SPEC 2.1)
      sessions_reordered            sessions whose lines in timeframe order differ from file order
    The loader's 2..40 filter:
      sessions_too_short / sessions_loader_kept / sessions_too_long   (< 2, 2..40, > 40 lines)
      lines_loader_kept, purchases_loader_kept                        lines / purchase lines in
                                                                      the sessions it keeps
      session_lengths               {number of lines: number of sessions}
    blank_lines_skipped             empty lines in any of the three files
    """

    COUNTS = ("queries_read", "test_queries_skipped", "queries_no_click", "queries_multi_click",
              "queries_multi_click_same_item", "click_rows_read", "duplicate_click_rows_dropped",
              "clicks_unknown_query", "clicks_on_test_queries", "purchase_rows_read",
              "kept_lines", "sessions_written", "purchases_matched", "clicks_not_in_items",
              "sessions_reordered", "sessions_too_short", "sessions_loader_kept",
              "sessions_too_long", "lines_loader_kept", "purchases_loader_kept",
              "blank_lines_skipped")

    def __init__(self):
        for name in self.COUNTS:
            setattr(self, name, 0)
        self.session_lengths = {}
        self.order = "time"
        self.out_path = None

    def as_dict(self):
        """The counts, plus `session_lengths` (a dict), `order` and `out_path`."""
        result = collections.OrderedDict((name, getattr(self, name)) for name in self.COUNTS)
        result["session_lengths"] = dict(self.session_lengths)
        result["order"] = self.order
        result["out_path"] = self.out_path
        return result

    def summary_lines(self):
        """Human-readable lines: what was kept and what was dropped, and why."""
        def pct(num, den):
            return "%.2f%%" % (100.0 * num / den) if den else "n/a"
        r = self
        non_test = r.queries_read - r.test_queries_skipped
        return [
            "queries read: %d" % r.queries_read,
            "  skipped, is.test: %d" % r.test_queries_skipped,
            "  dropped, no click: %d" % r.queries_no_click,
            "  dropped, more than one click: %d (all on one item: %d)"
            % (r.queries_multi_click, r.queries_multi_click_same_item),
            "  kept, exactly one click: %d (%s of non-test queries)"
            % (r.kept_lines, pct(r.kept_lines, non_test)),
            "click rows read: %d" % r.click_rows_read,
            "  dropped, exact duplicate rows: %d" % r.duplicate_click_rows_dropped,
            "  ignored, unknown queryId: %d" % r.clicks_unknown_query,
            "  ignored, on is.test queries: %d" % r.clicks_on_test_queries,
            "purchase rows read: %d" % r.purchase_rows_read,
            "lines written: %d in %d sessions (order=%s), purchase=1 on %d (%s)"
            % (r.kept_lines, r.sessions_written, r.order, r.purchases_matched,
               pct(r.purchases_matched, r.kept_lines)),
            "  clicked item not in the shown items: %d" % r.clicks_not_in_items,
            "  sessions whose time order differs from file order: %d" % r.sessions_reordered,
            "loader filter %d..%d steps: keeps %d sessions (%d lines, purchase=1 on %d = %s); "
            "drops %d sessions of 1 line and %d of more than %d lines"
            % (MIN_SESSION_STEPS, MAX_SESSION_STEPS, r.sessions_loader_kept, r.lines_loader_kept,
               r.purchases_loader_kept, pct(r.purchases_loader_kept, r.lines_loader_kept),
               r.sessions_too_short, r.sessions_too_long, MAX_SESSION_STEPS),
            "blank lines skipped: %d" % r.blank_lines_skipped,
        ]
