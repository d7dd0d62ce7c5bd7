"""benchmarks/table1.py keeps what it measured: a run of some models or seeds keeps the file's others, a seed of
other settings is refused from a row before it trains (and kept beside the results if refused after), smoke runs
have a file of their own, and each finished seed is written at once. Training is replaced by a stand-in whose
settings come from the row's real config, on a tiny dataset; everything is written under a temporary folder."""

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
    folder = tmp_path / "data" / "beauty"  # a few users and items with texts: enough to resolve each row's config
    folder.mkdir(parents=True)
    (folder / "beauty.inter").write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                                         + "".join(f"{u}\t{i}\t1\t{i}\n" for u in range(1, 4) for i in range(1, 6)))
    (folder / "beauty.item").write_text("item_id:token\ttitle:token\tbrand:token\n"
                                        + "".join(f"{i}\tt{i}\tb\n" for i in range(1, 6)))
    monkeypatch.setattr(table1.harness, "prepare", lambda *args: None)


def trained(trainings):
    """A stand-in for train_one that records each (model, seed) and returns a row with the settings its config
    resolves to, as train_one's are."""
    def train_one(name, dataset, data_path, quick, checkpoint_dir, seed=2020, epochs=None, time_budget=None,
                  overrides=None):
        trainings.append((name, seed))
        metric = {"ndcg@5": 0.01 + seed % 7 / 1000, "hit@5": 0.02}
        settings = table1.planned_settings(name, dataset, data_path, quick, checkpoint_dir, seed, epochs,
                                           time_budget, overrides)
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


@pytest.mark.parametrize("flags, key, old, new", [(["--set", "tau=0.5"], "tau", "1.0", "0.5"),
                                                (["--time_budget", "5"], "time_budget", "None", "300.0")])
def test_a_seed_of_other_settings_is_refused_before_it_trains(trainings, flags, key, old, new):
    table1.main(["--models", "SRT-1K"])
    before = table()
    with pytest.raises(SystemExit, match=f"{key}: the row's seeds ran with {old}, this run would use {new}. "
                                         f"To add seeds to it: --set {key}={old}; for a new row: --suffix NAME"):
        table1.main(["--models", "SRT-1K", "--seeds", "2023", *flags])
    assert trainings == [("SRT-1K", 2020)] and table() == before
    table1.main(["--models", "SRT-1K", "--seeds", "2023", *flags, "--suffix", "other"])  # a variant: its own row
    assert seeds(table(), "SRT-1K") == [2020] and seeds(table(), "SRT-1K other") == [2023]


def recorded_with(name, **settings):
    """The results file as if the row's seeds had run with other values (a default changed since, say)."""
    path = os.path.join(paths.RESULTS, "beauty.json")
    data = table()
    for seed in data[name]["seeds"]:
        seed["settings"].update(settings)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"dataset": "beauty", "models": data}, f)


def test_a_changed_default_is_refused_before_training_and_matched_with_set(trainings):
    table1.main(["--models", "SRT-1K,MostPop"])
    recorded_with("SRT-1K", neg_sampling_scope="batch")  # as every committed SRT seed records it
    before = table()
    # every row is checked before any trains: MostPop, which could join its row, does not train either
    with pytest.raises(SystemExit, match="neg_sampling_scope: the row's seeds ran with 'batch', this run would use "
                                         "'sequence'. To add seeds to it: --set neg_sampling_scope=batch;"):
        table1.main(["--models", "MostPop,SRT-1K", "--seeds", "2023"])
    assert len(trainings) == 2 and table() == before
    table1.main(["--models", "SRT-1K", "--seeds", "2023", "--set", "neg_sampling_scope=batch"])
    assert seeds(table(), "SRT-1K") == [2020, 2023]
    assert {s["settings"]["neg_sampling_scope"] for s in table()["SRT-1K"]["seeds"]} == {"batch"}


def test_a_seed_refused_after_training_is_kept_beside_the_results(trainings, monkeypatch):
    train_one = table1.train_one

    def meanwhile(name, *args, **kwargs):  # another process fills the row with other settings while this one trains
        if not trainings:
            monkeypatch.setattr(table1, "train_one", train_one)
            table1.main(["--models", "SRT-1K", "--seeds", "2021", "--set", "tau=0.5"])
            monkeypatch.setattr(table1, "train_one", meanwhile)
        return train_one(name, *args, **kwargs)
    monkeypatch.setattr(table1, "train_one", meanwhile)
    with pytest.raises(SystemExit, match=r"tau: the row's seeds ran with 0.5, this run would use 1.0.* \(this "
                                         r"finished seed is kept in .*beauty-refused-SRT-1K-2020.json\)"):
        table1.main(["--models", "SRT-1K", "--seeds", "2020,2022"])
    assert trainings == [("SRT-1K", 2021), ("SRT-1K", 2020)]  # not 2022: the row is known to refuse it
    assert seeds(table(), "SRT-1K") == [2021]
    with open(os.path.join(paths.RESULTS, "beauty-refused-SRT-1K-2020.json"), encoding="utf-8") as f:
        kept = json.load(f)["refused"]
    assert [s["seed"] for s in kept[0]["seeds"]] == [2020] and kept[0]["seeds"][0]["settings"]["tau"] == 1.0
    assert kept[0]["reason"].startswith("'SRT-1K' in ")


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
