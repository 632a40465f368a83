"""docs/API.md runs as written: its ```python blocks, executed in order in one namespace in an
empty folder (the examples use toy sizes)."""
import io
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "API.md")


def python_blocks(text):
    """(line number of its first code line, code) of every ```python block of `text`."""
    return [(text[:m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M)]


def test_python_blocks_are_found():
    assert python_blocks("a\n```python\nx = 1\n```\nb\n```\nnot python\n```\n") == [
        (3, "x = 1\n")]  # line 3: the code after the fence on line 2


def test_api_doc_examples_run_in_order(tmp_path, monkeypatch):
    with io.open(DOC, encoding="utf-8") as handle:
        blocks = python_blocks(handle.read())
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "api_doc"}
    for line, code in blocks:
        # the file name and line let a traceback point at the block of docs/API.md
        exec(compile("\n" * (line - 1) + code, DOC, "exec"), namespace)
