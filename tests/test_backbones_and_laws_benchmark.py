"""benchmarks/backbones_and_laws.py: how a study's laws and figures replace the old ones, with the sweep and the laws
command stood in for."""

import json
import os
import signal

import pytest

from benchmarks import backbones_and_laws as study
from benchmarks.harness import paths

SPEC = {"sweep": [], "sets": [], "laws": []}


@pytest.fixture
def earlier(monkeypatch, tmp_path):
    """An earlier run's page (laws.json, run.json, two figures) under tmp_path; ``laws`` writes the new one."""
    for name in ("RESULTS", "DOCS", "SAVED"):
        monkeypatch.setattr(paths, name, str(tmp_path / name.lower()))
    kept, figures = tmp_path / "results" / "s", tmp_path / "docs" / "s"
    kept.mkdir(parents=True)
    figures.mkdir(parents=True)
    (kept / "laws.json").write_text('{"old": true}')
    (kept / "run.json").write_text(json.dumps({"date": "2026-12-01", "machine": "host", "command": "old"}))
    (figures / "a.png").write_text("old a")
    (figures / "gone.png").write_text("old gone")

    def laws(command, check=False, cwd=None):
        if "laws" in command:
            out = command[command.index("--out") + 1]
            os.makedirs(out)
            for name, text in (("laws.json", '{"new": true}'), ("a.png", "new a"), ("b.png", "new b")):
                with open(os.path.join(out, name), "w") as f:
                    f.write(text)
        return 0

    monkeypatch.setattr(study, "run_tracked", laws)
    return kept, figures


def test_a_new_run_puts_its_laws_and_figures_in_place_of_the_old(earlier):
    kept, figures = earlier
    assert study.run_study("s", SPEC, False, []) == "s"
    assert json.loads((kept / "laws.json").read_text()) == {"new": True}
    assert {p.name: p.read_text() for p in figures.iterdir()} == {"a.png": "new a", "b.png": "new b"}


def test_a_run_stopped_while_copying_leaves_the_old_page_whole(earlier, monkeypatch):
    kept, figures = earlier

    def stopped(source, dest):
        if source.endswith(".png"):
            raise KeyboardInterrupt
        with open(source) as f, open(dest if not os.path.isdir(dest) else os.path.join(dest, "laws.json"), "w") as g:
            g.write(f.read())

    copy = study.shutil.copy
    monkeypatch.setattr(study.shutil, "copy", stopped)
    with pytest.raises(KeyboardInterrupt):
        study.run_study("s", SPEC, False, [])
    monkeypatch.setattr(study.shutil, "copy", copy)
    # the old laws with the old figures: not the new laws beside figures they did not make
    assert json.loads((kept / "laws.json").read_text()) == {"old": True}
    assert {p.name: p.read_text() for p in figures.iterdir()} == {"a.png": "old a", "gone.png": "old gone"}
    monkeypatch.setattr("recbole_srt.scaling.report.markdown", lambda report, metrics: "laws\n")
    assert list(study.pages()) == ["s"]  # the half-staged folder is no page
    assert "![gone](s/gone.png)" in study.pages()["s"]
    # the next run finishes: the stopped run's staging is no obstacle
    assert study.run_study("s", SPEC, False, []) == "s" and json.loads((kept / "laws.json").read_text()) == {"new": True}


def test_a_stop_during_the_swap_waits_for_both_folders(earlier, monkeypatch):
    """SIGTERM between the renames of the laws' folder and the figures' would pair new laws with old figures."""
    kept, figures = earlier
    replace, calls = os.replace, []

    def stopped_on_the_way(source, dest):
        calls.append(dest)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGTERM)
        replace(source, dest)

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    monkeypatch.setattr(study.os, "replace", stopped_on_the_way)
    try:
        with pytest.raises(SystemExit):
            study.run_study("s", SPEC, False, [])
    finally:
        signal.signal(signal.SIGTERM, previous)
        monkeypatch.setattr(study.os, "replace", replace)
    assert json.loads((kept / "laws.json").read_text()) == {"new": True}
    assert {p.name: p.read_text() for p in figures.iterdir()} == {"a.png": "new a", "b.png": "new b"}
    assert sorted(p.name for p in kept.parent.iterdir()) == ["s"]  # no staged or old folder left beside it
