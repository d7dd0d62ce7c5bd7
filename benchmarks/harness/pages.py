"""Markdown: the tables every page prints, and the pages themselves, written to docs/results/."""

import glob
import os

from . import paths
from .results import load


def table(header, rows):
    """The lines of a markdown table; ``rows`` are lists of cells, already formatted."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def publish(pages, docs=None):
    """Write {name: markdown} to <docs>/<name>.md (docs/results by default); returns the paths."""
    docs = docs or paths.DOCS
    os.makedirs(docs, exist_ok=True)
    written = []
    for name, text in pages.items():
        written.append(os.path.join(docs, f"{name}.md"))
        with open(written[-1], "w", encoding="utf-8") as f:
            f.write(text)
    return written


def rendered(markdown, names, results=None, named=False):
    """{name: markdown(<results>/<name>.json)} for each of ``names`` (glob patterns: their files, sorted) that
    exists; ``named``: markdown(content, name)."""
    found = [p for name in names for p in sorted(glob.glob(os.path.join(results or paths.RESULTS, f"{name}.json")))]
    return {os.path.basename(p)[:-5]: markdown(load(p), *[os.path.basename(p)[:-5]][:named]) for p in found}
