"""The pages in docs/results/ are what the studies render from benchmarks/results/*.json today: none is stale,
none lacks its results file, and every figure a page shows is there. Rendering only: no training."""

import os
import re

from benchmarks import render

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "results")


def test_every_committed_page_is_rendered_from_its_results(tmp_path):
    pages = render.pages()
    render.harness.publish(pages, str(tmp_path))
    committed = {name[:-3] for name in os.listdir(DOCS) if name.endswith(".md")}
    assert committed == set(pages), "pages without results (or results without a page): run benchmarks/render.py"
    stale = [name for name in sorted(pages)
             if (tmp_path / f"{name}.md").read_bytes() != open(os.path.join(DOCS, f"{name}.md"), "rb").read()]
    assert not stale, f"stale pages, render them again (python benchmarks/render.py): {stale}"


def test_every_figure_a_page_shows_exists():
    for name in os.listdir(DOCS):
        if name.endswith(".md"):
            with open(os.path.join(DOCS, name), encoding="utf-8") as f:
                for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", f.read()):
                    assert os.path.isfile(os.path.join(DOCS, target)), f"{name} shows {target}, which is missing"
