"""python -m recbole_srt.search: the draw is seeded and resumable, tied keys move together, and the
ranking uses validation only (trials stand in for runs; the runner itself is the sweep's, tested there)."""

import json
import os

import pytest

from recbole_srt import search
from recbole_srt import trials as trials_module
from recbole_srt.scaling import sweep as sweep_module


def fake_runs(monkeypatch, calls):
    """Each trial 'trains' to a validation score set by its learning rate and a test score that ranks
    the other way, so a ranking that looked at test would pick another trial."""

    def run_one(spec, data_path, runs_dir, timeout=None, keep_checkpoints=False):
        calls.append(spec["run_id"])
        lr = float(spec["options"]["learning_rate"])
        history = [{"epoch": e, "ndcg@5": lr * (e + 1)} for e in range(3)]
        return {**spec, "run_dir": os.path.join(runs_dir, spec["run_id"]), "wall_seconds": 1.0, "status": "ok",
                "history": history, "best_valid_result": {"ndcg@5": lr * 3}, "test_result": {"ndcg@5": 1 - lr}}

    monkeypatch.setattr(trials_module, "run_one", run_one)


def test_seeded_draw_tied_keys_validation_ranking_and_resumption(tmp_path, monkeypatch, capsys):
    results = str(tmp_path / "beauty.jsonl")
    args = ["--dataset", "beauty", "--results", results, "--space", "learning_rate=0.1,0.2,0.3,0.4",
            "--space", "hidden_dropout_prob+attn_dropout_prob=0.2,0.5", "--set", "epochs=3",
            "--trials", "3", "--seed", "7", "--jobs", "2"]
    calls = []
    fake_runs(monkeypatch, calls)
    assert search.main(args) == 0
    assert len(calls) == 3 and len(set(calls)) == 3
    summary = json.load(open(tmp_path / "beauty.best.json"))
    options = [t["options"] for t in summary["trials"]]
    assert all(o["hidden_dropout_prob"] == o["attn_dropout_prob"] and o["epochs"] == "3" for o in options)
    valid = [t["valid"] for t in summary["trials"]]
    assert valid == sorted(valid, reverse=True) and summary["best"]["valid"] == valid[0]
    assert summary["best"]["best_epoch"] == 3 and summary["selected_on"] == "validation"
    assert sorted(summary["best"]["searched"]) == ["attn_dropout_prob", "hidden_dropout_prob", "learning_rate"]

    # The same command draws the same trials and trains none again; another seed draws others.
    assert search.main(args) == 0 and len(calls) == 3
    assert "3 runs, 3 already finished, 0 to go" in capsys.readouterr().out
    drawn = {tuple(sorted(o.items())) for o in options}
    other = {tuple(sorted(t.items())) for t in search.trials(search.parse_space(args[5:9:2]), {"epochs": "3"}, 3, 8)}
    assert other != drawn
    # Without --trials, the whole grid.
    assert len(search.trials(search.parse_space(["a=1,2,3", "b+c=x,y"]), {})) == 6


def test_bad_space_and_unknown_metric_are_named(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        search.main(["--dataset", "d", "--results", str(tmp_path / "r.jsonl"), "--space", "learning_rate"])
    assert "--space: expected KEY=V1,V2" in capsys.readouterr().err
    fake_runs(monkeypatch, [])
    assert search.main(["--dataset", "d", "--results", str(tmp_path / "r.jsonl"), "--space", "learning_rate=0.1",
                        "--metric", "hit@10"]) == 2
    assert "--metric: 'hit@10' is not among the validation metrics ['ndcg@5']" in capsys.readouterr().err
