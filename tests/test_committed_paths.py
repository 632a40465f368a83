"""No committed result names a folder of the machine that made it: tables, notes, their READMEs
and benchmark records are read on other machines, where such a path means nothing (reports
write run folders relative to the working directory, benchmarks/_common.without_machine_paths
cuts them from records). The documents may name /tmp in the commands they teach: not scanned."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# an absolute path into a machine's own folders (not "/" inside "2/3", "a/b" or a URL's path)
MACHINE_PATH = re.compile(r"(?<![\w.:/~])/(?:work|tmp|home|root|Users|mnt|scratch|data\d*)/\w")
TEXT = (".md", ".csv", ".json", ".cfg", ".txt")
PLACES = ("results", "configs", os.path.join("benchmarks", "results"))


def machine_paths(text):
    return [m.group(0) for m in MACHINE_PATH.finditer(text)]


def test_the_pattern_finds_machine_paths_and_nothing_else():
    assert machine_paths("run in /work/main/runs/x and /tmp/a") == ["/work/m", "/tmp/a"]
    assert machine_paths('{"p": "/home/u/f"}, see /Users/me/x') == ["/home/u", "/Users/m"]
    assert machine_paths("[2/3] seeds, runs/a/b, ./runs/tmp/x, ~/work/x, http://h/tmp/x") == []
    assert machine_paths("docs/RESULTS.md; 1/10 of /etc") == []


def committed_text_files():
    for place in PLACES:
        path = os.path.join(ROOT, place)
        if os.path.isfile(path):
            yield path
        for folder, _, names in os.walk(path):
            for name in sorted(names):
                if name.endswith(TEXT):
                    yield os.path.join(folder, name)


def test_no_committed_result_holds_a_machine_path():
    found = {}
    for path in committed_text_files():
        with open(path, encoding="utf-8", errors="replace") as handle:
            hits = machine_paths(handle.read())
        if hits:
            found[os.path.relpath(path, ROOT)] = hits[:3]
    assert not found, found
