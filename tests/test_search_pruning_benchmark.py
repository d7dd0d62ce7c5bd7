"""benchmarks/search_pruning.py: what a command writes of each study, with the workers stood in for (no training)."""

import json
import os
from types import SimpleNamespace

import pytest

from benchmarks import search_pruning
from benchmarks.harness import paths


def trial(n):
    options = {"tau": "0.25", "learning_rate": "1e-3", "hidden_dropout_prob": "0.2"}
    return {"trial": n, "status": "ok", "wall_seconds": 10.0, "best_valid_result": {"ndcg@5": 0.02}, "options": options}


@pytest.fixture
def command(monkeypatch, tmp_path):
    """``command(variants, done={variant: trials there before}, runs={variant: trials the workers finish})`` runs
    measure with workers that only append their trials to the study's results file; returns its change function."""
    monkeypatch.setattr(paths, "SAVED", str(tmp_path))
    monkeypatch.setattr(search_pruning, "seed_sd", lambda: (0.001, 3))
    recorded = {**search_pruning.summary([trial(0)]), "variant": "recorded grid (built-in search, 2026-12-04)", "pruner": "none",
                "workers": 2, "wall_seconds": None}
    monkeypatch.setattr(search_pruning, "recorded", lambda: recorded)

    def run(variants, done, runs):
        folder = tmp_path / "search_pruning"
        folder.mkdir(exist_ok=True)
        for variant, n in done.items():
            (folder / f"{variant}.jsonl").write_text("".join(json.dumps(trial(i)) + "\n" for i in range(n)))

        class Worker:  # the first worker of a study finishes its trials, the others find none left
            def __init__(self, argv, **kw):
                results = next(a.split("=", 1)[1] for a in argv if a.startswith("--results="))
                variant = os.path.basename(results)[:-len(".jsonl")]
                with open(results, "a") as f:
                    start = done.get(variant, 0)
                    f.writelines(json.dumps(trial(start + i)) + "\n" for i in range(runs.pop(variant, 0)))

            def wait(self):
                return 0

        monkeypatch.setattr(search_pruning, "subprocess", SimpleNamespace(Popen=Worker, DEVNULL=None))
        args = SimpleNamespace(variants=variants, workers=2, data_path="saved/data")
        return search_pruning.measure(args)["search_pruning"]

    return run


def old_file():
    row = {**search_pruning.summary([trial(i) for i in range(12)]), "pruner": "median", "workers": 2,
           "command": "python -m recbole_srt.search"}
    return {"date": "2026-12-01", "machine": "x86_64, 2 CPUs", "command": "python benchmarks/search_pruning.py",
            "seed_sd": 0.001, "seed_sd_seeds": 3, "rows": [{**row, "variant": "pruned", "wall_seconds": 500.0},
                                                           {**row, "variant": "full", "wall_seconds": 1000.0}]}


def test_a_study_that_was_done_keeps_the_wall_time_of_the_command_that_ran_it(command):
    """The default --variants pruned,full after pruned finished: pruned's workers exit at once, and their seconds
    would stand for its wall time (and meet the goal of half the full grid's)."""
    change = command("pruned,full", done={"pruned": 12, "full": 12}, runs={})
    rows = {r["variant"]: r for r in change(old_file())["rows"]}
    assert rows["pruned"]["wall_seconds"] == 500.0 and rows["full"]["wall_seconds"] == 1000.0
    fresh = {r["variant"]: r for r in command("pruned", done={}, runs={})(None)["rows"]}  # done, no row to keep
    assert fresh["pruned"]["wall_seconds"] is None


def test_each_study_names_the_command_that_ran_it_and_a_resumed_one_its_part(command):
    change = command("full", done={"full": 5}, runs={"full": 7})
    content = change(old_file())
    rows = {r["variant"]: r for r in content["rows"]}
    assert rows["full"]["trials_run"] == 7 and rows["full"]["run"]["command"].startswith("python")
    assert rows["pruned"]["wall_seconds"] == 500.0  # another study's row: kept
    page = search_pruning.markdown(content)
    assert "1. 2026-12-01, x86_64, 2 CPUs. Command: `python benchmarks/search_pruning.py`." in page
    assert f"2. {rows['full']['run']['date']}, " in page and f"Command: `{rows['full']['run']['command']}`." in page
    assert f"| {rows['full']['wall_seconds']:.0f} (7 of 12 trials) | 0.0200 | +0.0000 |" in page
    # the recorded grid was run by the built-in search: no run number; pruned by the old file's command, full by this
    cells = {line.split("|")[1].strip(): line.rsplit("|", 2)[1].strip() for line in page.splitlines()[-3:]}
    assert cells == {search_pruning.RECORDED_VARIANT: "", "pruned": "1", "full": "2"}


def test_a_kept_study_keeps_the_command_of_the_file_it_came_from(command):
    """Its row was written before rows named their command: the file's is its own, and the file's is about to be
    this command's."""
    content = command("full", done={"full": 5}, runs={"full": 7})(old_file())
    rows = {r["variant"]: r for r in content["rows"]}
    assert rows["pruned"]["run"] == {k: old_file()[k] for k in ("date", "machine", "command")}
    again = {r["variant"]: r for r in command("full", done={}, runs={"full": 12})(content)["rows"]}
    assert again["pruned"]["run"] == rows["pruned"]["run"]
