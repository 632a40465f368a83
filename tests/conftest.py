"""Shared pytest fixtures and hooks."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
if SRC not in sys.path:  # the tests also run from a checkout without `pip install -e .`
    sys.path.insert(0, SRC)

# no silent skips in CI: IRECGAN_STRICT_SKIPS=1 turns skips into failures (tests/strict_skips.py)
from strict_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401
