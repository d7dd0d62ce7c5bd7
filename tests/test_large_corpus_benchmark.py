"""benchmarks/large_corpus.py: which results file a command writes, with no corpus written and nothing trained."""

import json
from types import SimpleNamespace

import pytest

from benchmarks import large_corpus


@pytest.mark.parametrize("given, name", [
    ({}, "large_corpus"), ({"interactions": "10000000"}, "large_corpus"), ({"quick": True}, "large_corpus-quick"),
    ({"interactions": "1M"}, "large_corpus-1m"), ({"interactions": "1000000"}, "large_corpus-1m"),
    ({"interactions": "1000k"}, "large_corpus-1m"), ({"interactions": "2500K"}, "large_corpus-2500k"),
    ({"steps": 100, "threads": 1}, "large_corpus-steps100-threads1"),
    ({"quick": True, "threads": 1}, "large_corpus-quick-threads1")])
def test_another_size_writes_its_own_file_not_the_default_result(monkeypatch, given, name):
    monkeypatch.setattr(large_corpus.synthetic, "corpus", lambda path, corpus, n: (n, 1, 1))
    monkeypatch.setattr(large_corpus.harness, "child", lambda command: (1.0, 1.0, json.dumps({"stages": []})))
    args = SimpleNamespace(**{"quick": False, "interactions": "10M", "steps": 0, "threads": 2, **given})
    assert list(large_corpus.run(args, [])) == [name]


def test_one_count_written_two_ways_uses_one_corpus(monkeypatch):
    corpora = []
    monkeypatch.setattr(large_corpus.synthetic, "corpus", lambda path, corpus, n: corpora.append(corpus) or (n, 1, 1))
    monkeypatch.setattr(large_corpus.harness, "child", lambda command: (1.0, 1.0, json.dumps({"stages": []})))
    for given in ("1M", "1000000"):
        large_corpus.run(SimpleNamespace(quick=False, interactions=given, steps=0, threads=2), [])
    assert corpora == ["synthetic-1m", "synthetic-1m"]
