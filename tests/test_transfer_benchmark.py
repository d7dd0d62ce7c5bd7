"""benchmarks/transfer.py: the arguments that choose the pre-training corpus are checked before any work."""

import json
import re

import pytest

from benchmarks import transfer
from benchmarks.harness import paths


def project_in(monkeypatch, tmp_path):
    """The harness's folders moved aside: a check that failed late would write there, not into the project."""
    for name in ("RESULTS", "DOCS", "SAVED", "DATA"):
        monkeypatch.setattr(paths, name, str(tmp_path / name.lower()))


def test_an_unknown_source_is_refused_by_name(monkeypatch, tmp_path):
    project_in(monkeypatch, tmp_path)
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


def fake_runs(monkeypatch, tmp_path, kept):
    """transfer.main on a fake project: the runs in ``kept`` exist; returns the runs trained and the seeds
    pre-trained (as lists that fill as main runs)."""
    project_in(monkeypatch, tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # main() sets it: restored after the test
    trained, pretrained = [], []

    def fake_run(name, dataset, options, workdir, log, train=True):
        if name not in kept and not train:
            return None
        if name not in kept:
            trained.append(name)
        return {"test_result": {"ndcg@5": 0.01, "hit@5": 0.02}, "history": [], "wall_seconds": 1.0,
                "checkpoint": None}

    monkeypatch.setattr(transfer, "run", fake_run)
    monkeypatch.setattr(transfer, "prepare", lambda target, log: (target, f"pretrain-{target}", "tok.model"))
    monkeypatch.setattr(transfer, "sub_corpus", lambda target, sources, tokenizer, log:
                        f"pretrain-{target}-" + "+".join(sources))
    monkeypatch.setattr(transfer, "corpus_size", lambda corpus: (100, 10))
    monkeypatch.setattr(transfer, "pretrain", lambda corpus, label, seed, *rest: pretrained.append((label, seed))
                        or "x.pth")
    return trained, pretrained


def test_only_trains_the_named_variants_and_still_reports_the_kept_runs(monkeypatch, tmp_path):
    with pytest.raises(SystemExit, match="--only: unknown variant 'finetuned-no-ewc'; choose from most-popular"):
        transfer.main(["--only", "finetuned-no-ewc"])
    with pytest.raises(SystemExit, match="--only: unknown variant 'finetuned-no_EWC-books'"):
        transfer.main(["--only", "finetuned-no_EWC-books"])
    kept = {"most-popular-s0", "scratch-s0", "scratch-e14-s0", "finetuned-toys-s0", "finetuned-no_EWC-toys-s0"}
    trained, pretrained = fake_runs(monkeypatch, tmp_path, kept)
    transfer.main(["--target", "sports", "--trend", "--sources", "toys", "--seeds", "0,1", "--pretrain_epochs", "6",
                   "--epochs", "10", "--stage_epochs", "2", "--only", "scratch-as_many_epochs,finetuned-no_EWC"])
    # Seed 0's two selected variants were kept; seed 1's are trained, after its pre-training. Nothing else is.
    assert trained == ["scratch-e14-s1", "finetuned-no_EWC-toys-s1"]
    assert pretrained == [("-toys", 0), ("-toys", 1)]
    with open(tmp_path / "results" / "transfer-sports-p6e10s2-trend-toys.json") as f:
        rows = [(r["variant"], r["seed"]) for r in json.load(f)["rows"]]
    assert sorted(rows) == sorted([("most-popular", 0), ("scratch", 0), ("scratch, as many epochs", 0),
                                   ("finetuned", 0), ("finetuned, no EWC", 0),
                                   ("scratch, as many epochs", 1), ("finetuned, no EWC", 1)])


def test_only_a_variant_on_one_trend_corpus_pretrains_that_corpus_alone(monkeypatch, tmp_path):
    trained, pretrained = fake_runs(monkeypatch, tmp_path, kept=set())
    transfer.main(["--trend", "--sources", "office,toys", "--seeds", "1", "--pretrain_epochs", "6", "--epochs", "6",
                   "--stage_epochs", "2", "--only", "finetuned-encoder_first-no_EWC-office+toys"])
    assert trained == ["finetuned-encoder_first-no_EWC-office+toys-s1"]
    assert pretrained == [("-office+toys", 1)]


def test_only_refuses_keys_that_name_no_run_of_the_command(monkeypatch, tmp_path):
    fake_runs(monkeypatch, tmp_path, kept=set())
    trend = ["--trend", "--sources", "office,toys", "--seeds", "0"]
    for key in ("scratch-toys", "finetuned-toys+office", "finetuned-no_unfreezing"):
        with pytest.raises(SystemExit, match=re.escape(f"--only: '{key}' names no run of this command")):
            transfer.main(trend + ["--only", key])


def test_gains_are_paired_on_the_seeds_both_variants_ran():
    assert transfer.gain({0: 0.02, 1: 0.03}, {0: 0.01, 1: 0.02, 2: 0.03}, 3) == "+66.7 % (2 of 3 seeds)"
    # three seeds of the variant against one of the base: paired on that one, and said so
    assert transfer.gain({0: 0.02, 1: 0.05, 2: 0.05}, {0: 0.02}, 3) == "+0.0 % (1 of 3 seeds)"
    assert transfer.gain({0: 0.02}, {0: 0.01}, 1) == "+100.0 %"
    assert transfer.gain({5: 0.02}, {0: 0.02}, 3) == ""


def kept_study(monkeypatch, tmp_path):
    """transfer.main on a fake project whose runs are kept as real ones are (<workdir>/<run>.json, by transfer.run),
    each trained at once; a run named in the returned set stops the study as SIGTERM does (SystemExit)."""
    project_in(monkeypatch, tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # main() sets it: restored after the test
    monkeypatch.setattr(transfer, "RUN_SECONDS", type(transfer.RUN_SECONDS)())  # this invocation's
    stops = set()

    def trial(run_id, dataset, options, runs_dir, data_path=None):
        if run_id in stops:
            raise SystemExit(143)
        metrics = {"ndcg@5": 0.01, "hit@5": 0.02}
        return {"test_result": metrics, "test_result_cold": metrics, "test_result_warm": metrics, "history": [],
                "checkpoint": None, "wall_seconds": 60.0}

    monkeypatch.setattr(transfer.harness, "trial", trial)
    monkeypatch.setattr(transfer, "prepare", lambda target, log: (target, f"pretrain-{target}", "tok.model"))
    monkeypatch.setattr(transfer, "corpus_size", lambda corpus: (100, 10))
    monkeypatch.setattr(transfer, "pretrain", lambda *args: "x.pth")
    return stops


def seeds_of(path):
    with open(path) as f:
        result = json.load(f)
    return result["seeds"], sorted({r["seed"] for r in result["rows"]}), len(result["rows"]), result["run_minutes"]


def test_a_new_seed_adds_to_the_seeds_whose_runs_are_kept(monkeypatch, tmp_path):
    kept_study(monkeypatch, tmp_path)
    results = tmp_path / "results" / "transfer-beauty-quick.json"
    transfer.main(["--quick", "--seeds", "0,1"])
    rows = seeds_of(results)[2] // 2  # one seed's
    transfer.main(["--quick", "--seeds", "3"])
    assert seeds_of(results)[:3] == ([0, 1, 3], [0, 1, 3], 3 * rows)
    # Without the results file, a command trains only what it names and writes every seed's kept runs again,
    # each run's minute counted once though it was read twice
    results.unlink()
    monkeypatch.setattr(transfer, "RUN_SECONDS", type(transfer.RUN_SECONDS)())  # this invocation's
    transfer.main(["--quick", "--seeds", "3", "--only", "scratch"])
    workdir = tmp_path / "saved" / "transfer" / "beauty-quick"
    assert seeds_of(results) == ([0, 1, 3], [0, 1, 3], 3 * rows, len(list(workdir.glob("*.json"))))
    # Seed 1's runs gone from this machine (a fresh clone, or another machine ran them): its rows stay in the file
    for path in workdir.glob("*-s1*.json"):
        path.unlink()
    transfer.main(["--quick", "--seeds", "3", "--only", "scratch"])
    assert seeds_of(results)[:3] == ([0, 1, 3], [0, 1, 3], 3 * rows)


def test_a_stopped_study_has_written_the_rows_it_finished(monkeypatch, tmp_path):
    stops = kept_study(monkeypatch, tmp_path)
    stops.add("finetuned-s0")  # after most popular, scratch and the zero-shot rows
    with pytest.raises(SystemExit):
        transfer.main(["--quick", "--seeds", "0"])
    with open(tmp_path / "results" / "transfer-beauty-quick.json") as f:
        variants = [r["variant"] for r in json.load(f)["rows"]]
    assert variants == ["most-popular", "scratch", "zero-shot", *[f"zero-shot, popularity prior {b:g}"
                                                                  for b in transfer.PRIORS]]
    assert "| zero-shot |" in (tmp_path / "docs" / "transfer-beauty-quick.md").read_text()  # its page too


def test_a_seed_stopped_before_its_first_row_is_not_counted(monkeypatch, tmp_path):
    """The file is written before the named seed trains: a seed that finished no row would make every cell
    "(2 of 3 seeds)" though no variant ran it."""
    stops = kept_study(monkeypatch, tmp_path)
    results = tmp_path / "results" / "transfer-beauty-quick.json"
    transfer.main(["--quick", "--seeds", "0,1"])
    stops.add("most-popular-s3")  # seed 3's first run
    with pytest.raises(SystemExit):
        transfer.main(["--quick", "--seeds", "3"])
    assert seeds_of(results)[:2] == ([0, 1], [0, 1])
    assert "seeds [0, 1]" in (tmp_path / "docs" / "transfer-beauty-quick.md").read_text()
