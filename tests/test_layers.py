"""The house's rules, checked: RecBole's private names appear in compat.py alone, and imports point down
(no circles, no import from the core into the studies)."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import recbole

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "recbole_srt")
IMPORT_GRAPH = os.path.join(ROOT, "..", "shared", "tools", "import-graph.py")


def recbole_private_names():
    """Every ``_name`` that RecBole 1.2.1 defines as a method or sets as an attribute of ``self``."""
    names = set()
    for folder, _, files in os.walk(os.path.dirname(recbole.__file__)):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    source = f.read()
                names |= set(re.findall(r"def (_[A-Za-z]\w*)\s*\(", source))
                names |= set(re.findall(r"self\.(_[A-Za-z]\w*)\s*=", source))
    return {n for n in names if not n.startswith("__")}


def uses_of(names, path):
    """(line, what) of each use of ``names`` in a module: attribute access, a method of that name (an
    override), or the name as a string (``getattr(obj, "_name")``)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            yield node.lineno, f".{node.attr}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            yield node.lineno, f"def {node.name}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            yield node.lineno, repr(node.value)


def test_only_compat_names_recbole_private_attributes():
    names = recbole_private_names()
    assert {"_dataset", "_grouped_index", "_sampler", "_load_cmd_line"} <= names  # the scan sees RecBole's
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path != os.path.join(PACKAGE, "compat.py"):
                found += [f"{os.path.relpath(path, ROOT)}:{line}: {what}" for line, what in uses_of(names, path)]
    assert found == [], "RecBole private names outside compat.py:\n" + "\n".join(found)


def test_the_scan_finds_a_private_use(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f(loader):\n    return loader._sampler, getattr(loader, '_dataset')\n")
    assert [what for _, what in uses_of(recbole_private_names(), module)] == ["._sampler", "'_dataset'"]


@pytest.mark.skipif(not os.path.isfile(IMPORT_GRAPH), reason="../shared/tools/import-graph.py is absent")
def test_imports_point_down(tmp_path):
    # On the tracked files only: a working copy may hold other code under git-ignored folders (saved/: a venv).
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the tracked files are unknown")
    for name in listed.stdout.split():
        os.makedirs(tmp_path / os.path.dirname(name), exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, name), tmp_path / name)
    graph = subprocess.run([sys.executable, IMPORT_GRAPH, str(tmp_path)], capture_output=True, text=True, check=True)
    found = json.loads(graph.stdout)
    assert found["circles"] == [] and found["core_to_studies"] == []
