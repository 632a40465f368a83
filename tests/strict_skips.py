"""No silent skips in CI (pytest hooks, imported by conftest.py).

With the environment variable IRECGAN_STRICT_SKIPS=1 (`.ci/run` exports it), a skipped test or
module counts as a failure, unless the skip is for an optional extra that the run declares
absent: the skip reason reads "optional extra 'NAME' ..." (`requires_extra` below writes it) and
NAME is listed in IRECGAN_ABSENT_EXTRAS (comma-separated). Tests deselected by markers
(`-m "not slow"`) are not skips and are unaffected; expected failures (xfail) are not skips.
"""
import os
import re

import pytest

STRICT_ENV = "IRECGAN_STRICT_SKIPS"
ABSENT_ENV = "IRECGAN_ABSENT_EXTRAS"
EXTRA_REASON = re.compile(r"optional extra '([\w.-]+)'")


def strict():
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def declared_absent():
    return set(x.strip() for x in os.environ.get(ABSENT_ENV, "").split(",") if x.strip())


def requires_extra(name, module=None):
    """Import `module` (default `name`) or skip with the reason an optional extra's skip must
    have to pass in strict mode."""
    return pytest.importorskip(module or name,
                               reason="optional extra '%s' is not installed" % name)


def skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def allowed(reason):
    match = EXTRA_REASON.search(reason)
    return bool(match) and match.group(1) in declared_absent()


def fail_if_silent(report):
    if not strict() or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if allowed(reason):
        return
    report.outcome = "failed"
    report.longrepr = ("%s=1: a skip fails here unless it is an optional extra listed in %s "
                       "(%r). Skip reason: %s" % (STRICT_ENV, ABSENT_ENV,
                                                  os.environ.get(ABSENT_ENV, ""), reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    fail_if_silent(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    fail_if_silent(outcome.get_result())
