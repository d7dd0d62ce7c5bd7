"""benchmarks/table1.py keeps what it measured: a run of some models or seeds keeps the file's others, a seed of
other settings is refused from a row, smoke runs have a file of their own, and each finished seed is written at
once. Training is replaced by a stand-in; everything is written under a temporary folder."""

import itertools
import json
import os
import types

import pytest

from benchmarks import table1
from benchmarks.harness import paths


def project_in(monkeypatch, tmp_path):
    for name in ("RESULTS", "DOCS", "SAVED", "DATA"):
        monkeypatch.setattr(paths, name, str(tmp_path / name.lower()))
    monkeypatch.setattr(table1.harness, "prepare", lambda *args: None)


def trained(trainings):
    """A stand-in for train_one that records each (model, seed) and returns a row whose settings follow its
    arguments, as train_one's do."""
    def train_one(name, dataset, data_path, quick, checkpoint_dir, seed=2020, epochs=None, time_budget=None,
                  overrides=None):
        trainings.append((name, seed))
        metric = {"ndcg@5": 0.01 + seed % 7 / 1000, "hit@5": 0.02}
        settings = {"epochs": epochs or 200, **({"time_budget": time_budget} if time_budget else {}),
                    **(overrides or {})}
        return {"seed": seed, "full": metric, "full_masked": metric, "sampled_10k": metric, "valid_ndcg@5": 0.02,
                "epochs_run": 3, "epochs_to_best": 2, "stopped_by": "epochs", "valid_ndcg@5_by_epoch": [0.01, 0.02],
                "seconds_per_epoch": 1.0, "train_seconds": 3.0, "parameters": 10, "non_embedding_parameters": 5,
                "settings": settings}
    return train_one


@pytest.fixture
def trainings(monkeypatch, tmp_path):
    project_in(monkeypatch, tmp_path)
    done = []
    monkeypatch.setattr(table1, "train_one", trained(done))
    return done


def table(name="beauty"):
    with open(os.path.join(paths.RESULTS, f"{name}.json"), encoding="utf-8") as f:
        return json.load(f)["models"]


def seeds(models, name):
    return [s["seed"] for s in models[name]["seeds"]]


def test_a_run_of_some_models_or_seeds_keeps_the_files_other_rows_and_seeds(trainings):
    table1.main(["--models", "SRT-1K,MostPop", "--seeds", "2020,2021"])
    table1.main(["--models", "SRT-1K-id"])  # a row run only on request: the others stay
    table1.main(["--models", "SRT-1K", "--seeds", "2022", "--merge"])  # --merge: still accepted
    models = table()
    assert list(models) == ["MostPop", "SRT-1K", "SRT-1K-id"]
    assert seeds(models, "SRT-1K") == [2020, 2021, 2022] and seeds(models, "MostPop") == [2020, 2021]
    assert models["SRT-1K"]["mean"] == table1.aggregate(models["SRT-1K"]["seeds"])  # over all three seeds
    assert models["SRT-1K"]["run"]["command"].count("--seeds 2020,2021") == 1  # each process's command once
    table1.main(["--models", "SRT-1K-id", "--replace"])
    assert list(table()) == ["SRT-1K-id"]
    with pytest.raises(SystemExit):
        table1.main(["--models", "SRT-1K-id", "--replace", "--merge"])


@pytest.mark.parametrize("flags, key", [(["--set", "tau=0.5"], "tau"), (["--time_budget", "5"], "time_budget")])
def test_a_seed_of_other_settings_is_refused_before_it_trains(trainings, capsys, flags, key):
    table1.main(["--models", "SRT-1K"])
    before = table()
    with pytest.raises(SystemExit, match=f"--suffix: 'SRT-1K' holds seeds trained with another {key}; "):
        table1.main(["--models", "SRT-1K", "--seeds", "2023", *flags])
    assert trainings == [("SRT-1K", 2020)] and table() == before
    table1.main(["--models", "SRT-1K", "--seeds", "2023", *flags, "--suffix", "other"])  # a variant: its own row
    assert seeds(table(), "SRT-1K") == [2020] and seeds(table(), "SRT-1K other") == [2023]


def test_a_seed_whose_recorded_settings_differ_is_not_pooled(trainings, monkeypatch):
    table1.main(["--models", "SRT-1K"])
    before = table()
    train_one = table1.train_one

    def drifted(*args, **kwargs):  # the same command, trained with another value (a changed default, say)
        row = train_one(*args, **kwargs)
        return {**row, "settings": {**row["settings"], "learning_rate": 0.003}}
    monkeypatch.setattr(table1, "train_one", drifted)
    with pytest.raises(SystemExit, match="another learning_rate; name this run's variant with --suffix"):
        table1.main(["--models", "SRT-1K", "--seeds", "2021"])
    assert table() == before


def test_a_smoke_run_has_a_file_of_its_own(trainings):
    table1.main(["--models", "SRT-1K"])
    before = table()
    table1.main(["--models", "SRT-1K", "--epochs", "2"])
    assert table() == before
    assert table("beauty-e2")["SRT-1K"]["seeds"][0]["settings"]["epochs"] == 2
    assert not os.path.exists(os.path.join(paths.DOCS, "beauty-e2.md"))  # no page shows it


def test_each_finished_seed_is_in_the_file_before_the_next_trains(trainings, monkeypatch):
    train_one = table1.train_one

    def stopped(name, *args, **kwargs):
        if len(trainings) == 2:  # the third training: killed hours into the run
            raise SystemExit(143)
        return train_one(name, *args, **kwargs)
    monkeypatch.setattr(table1, "train_one", stopped)
    with pytest.raises(SystemExit):
        table1.main(["--models", "SRT-1K,MostPop", "--seeds", "2020,2021"])
    models = table()
    assert seeds(models, "SRT-1K") == [2020, 2021] and "MostPop" not in models

    monkeypatch.setattr(table1, "train_one", train_one)
    clock = itertools.count(0, 600)  # each reading ten minutes on: rows written at different minutes
    monkeypatch.setattr(table1, "time", types.SimpleNamespace(time=lambda: next(clock)))
    table1.main(["--models", "SRT-10,SRT-100", "--seeds", "2020,2021"])
    runs = {json.dumps(table()[name]["run"]) for name in ("SRT-10", "SRT-100")}
    assert len(runs) == 1  # one process, one run on the page, whatever its rows' minutes were when written
