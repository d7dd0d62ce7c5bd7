"""benchmarks/transfer.py: the arguments that choose the pre-training corpus are checked before any work."""

import importlib.util
import os

import pytest

SPEC = importlib.util.spec_from_file_location(
    "transfer", os.path.join(os.path.dirname(__file__), "..", "benchmarks", "transfer.py"))
transfer = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(transfer)


def test_an_unknown_source_is_refused_by_name(monkeypatch, tmp_path):
    # ROOT moved aside: a check that failed late would write there, not into the project.
    monkeypatch.setattr(transfer, "ROOT", str(tmp_path))
    with pytest.raises(SystemExit, match="'books' is not a source of the beauty corpus"):
        transfer.main(["--sources", "toys,books", "--quick"])
    with pytest.raises(SystemExit, match="'sports' is not a source of the sports corpus"):
        transfer.main(["--target", "sports", "--sources", "sports"])
    for given in ("toys,toys", ","):
        with pytest.raises(SystemExit, match="--sources: expected distinct sources of the beauty corpus"):
            transfer.main(["--sources", given])


def test_every_variant_has_a_distinct_run_name():
    names = [transfer.key_of(v, label) for label in ("", "-toys", "-gift_cards+office")
             for v in ["most-popular", "scratch", *transfer.variants("x.pth", transfer.MODES["quick"])]]
    assert len(set(names)) == len(names)
    # The full corpus keeps the names of runs made before --sources existed, so they are reused.
    assert transfer.key_of("finetuned, no EWC") == "finetuned-no_EWC"
