"""The search on Optuna (recbole_srt/search_optuna.py): RecBole's hyper-parameter file, pruning through the loop's
callback, and one study shared by two processes through sqlite with no trial run twice."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from recbole_srt import search, search_optuna

optuna = pytest.importorskip("optuna", reason="pip install 'recbole_srt[search]'")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--set", "epochs=1", "--set", "n_layers=1", "--set", "hidden_size=16", "--set", "inner_size=32",
        "--set", "train_batch_size=256", "--set", "eval_args={'mode':'full'}", "--set", "state=WARNING"]


def test_recbole_params_file_and_the_spaces_each_sampler_takes(tmp_path):
    params = tmp_path / "hyper.test"
    params.write_text("learning_rate loguniform -8,0\nembedding_size choice [64,96,128]\n"
                      "mlp_hidden_size choice ['[64,64,64]','[128,128]']\ndropout uniform 0.1, 0.5\n"
                      "n_layers quniform 1,4,1\n")
    space = search_optuna.read_params_file(str(params))
    assert space[0] == (("learning_rate",), "loguniform", (-8.0, 0.0))
    assert space[1] == (("embedding_size",), "choice", [64, 96, 128])
    assert space[3] == (("dropout",), "uniform", (0.1, 0.5)) and space[4][1:] == ("quniform", (1.0, 4.0, 1.0))
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    options = search_optuna.suggest(trial, space)
    assert 1e-8 < options["learning_rate"] < 1 and options["embedding_size"] in (64, 96, 128)
    with pytest.raises(ValueError, match="every key needs a list of values"):
        search_optuna.grid_of(space)
    tied = search_optuna.from_cli_space(search.parse_space(["a+b=0.1,0.2", "c=x,y"]))
    assert search_optuna.grid_of(tied) == [{"a+b": "0.1", "c": "x"}, {"a+b": "0.1", "c": "y"},
                                           {"a+b": "0.2", "c": "x"}, {"a+b": "0.2", "c": "y"}]
    params.write_text("lr gaussian 0,1\n")
    with pytest.raises(ValueError, match="hyper.test:1: unknown type 'gaussian'"):
        search_optuna.read_params_file(str(params))


def test_without_optuna_the_builtin_search_stays_and_sampler_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(SystemExit, match=r"--sampler needs Optuna.*pip install 'recbole_srt\[search\]'"):
        search.main(["--dataset", "d", "--results", str(tmp_path / "r.jsonl"), "--sampler", "tpe", "--trials", "1",
                     "--space", "learning_rate=0.1"])
    assert search.main(["--dataset", "d", "--results", str(tmp_path / "r.jsonl"), "--space", "learning_rate=0.1",
                        "--dry-run"]) == 0


def test_a_trial_the_pruner_stops_ends_at_that_validation_and_is_recorded_as_pruned(tmp_path):
    # A pruner that prunes every reported value: the 3-epoch trial stops after its first validation.
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.0))
    args = SimpleNamespace(study_name="s", model="IDTransformer", dataset="ml-100k", preset=None, data_path=None,
                           metric="ndcg@5", keep_checkpoints=False)
    space = search_optuna.from_cli_space(search.parse_space(["learning_rate=1e-3"]))
    fixed = {**dict(item.split("=", 1) for item in TINY[1::2]), "epochs": "3", "stopping_step": "~"}
    record, valid = search_optuna.run_trial(study.ask(), args, space, fixed, str(tmp_path / "runs"))
    assert record["status"] == "pruned" and record["stopped_by"] == "pruned"
    assert [h["epoch"] for h in record["history"]] == [0] and valid == record["best_valid_result"]["ndcg@5"]
    assert "test_result" in record  # tested like any trial, recorded beside, never used to choose
    assert not [n for n in os.listdir(tmp_path / "runs" / "s-0") if n.endswith((".pth", ".safetensors"))]


@pytest.mark.slow
def test_two_processes_on_one_sqlite_study_run_the_grid_once(tmp_path):
    """The same command twice at once against one storage: 4 grid points, 4 trials in all, none twice."""
    results, storage = tmp_path / "grid.jsonl", f"sqlite:///{tmp_path / 'study.db'}"
    command = [sys.executable, "-m", "recbole_srt.search", "--model=IDTransformer", "--dataset=ml-100k",
               f"--results={results}", "--sampler=grid", f"--storage={storage}",
               "--space", "learning_rate=1e-3,2e-3,3e-3,4e-3", *TINY]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=900)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), "\n".join(o[-2000:] for o in outputs)
    assert all("trial " in o for o in outputs), outputs  # both workers trained
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert sorted(r["trial"] for r in records) == [0, 1, 2, 3]
    assert sorted(r["options"]["learning_rate"] for r in records) == ["1e-3", "2e-3", "3e-3", "4e-3"]
    study = optuna.load_study(study_name="grid", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 4
    best = json.loads((tmp_path / "grid.best.json").read_text())
    assert best["selected_on"] == "validation" and best["trials_planned"] == 4
    assert best["best"]["valid"] == max(r["best_valid_result"]["ndcg@5"] for r in records)


def test_a_worker_that_loses_the_race_to_create_the_study_opens_it(tmp_path, monkeypatch):
    # Two workers started together on a new sqlite file: one lost the race to create the tables (IntegrityError on
    # alembic_version) and died, leaving the study to the other. Now the loser opens the study a moment later.
    from sqlalchemy.exc import IntegrityError

    storage, calls, real = f"sqlite:///{tmp_path / 'study.db'}", [], optuna.create_study

    def racing(**options):
        calls.append(options["study_name"])
        if len(calls) == 1:
            real(**options)  # the other worker wins ...
            raise IntegrityError("INSERT INTO alembic_version", {}, Exception("UNIQUE constraint failed"))
        return real(**options)  # ... and this one finds its study

    monkeypatch.setattr(optuna, "create_study", racing)
    monkeypatch.setattr(search_optuna.time, "sleep", lambda seconds: None)
    study = search_optuna.open_study(optuna, study_name="s", storage=storage, direction="maximize")
    assert calls == ["s", "s"] and study.study_name == "s"
    with pytest.raises(ValueError):  # anything else is not a race: it stops at once
        search_optuna.open_study(optuna, study_name="t", storage=storage, direction="sideways")
