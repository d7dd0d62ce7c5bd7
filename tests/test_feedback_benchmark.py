"""benchmarks/feedback.py: its results file keeps every finished run, and a command adds to the study."""

import json

import pytest
import torch

from benchmarks import feedback
from benchmarks.harness import paths


@pytest.fixture
def study(monkeypatch, tmp_path):
    """feedback.main on a fake project whose runs take no time: each run's test NDCG is ``values[(dataset,
    variant, seed)]`` (0.1 unless set; an exception set there is raised); returns (values, the results file's
    content as a function)."""
    for name in ("RESULTS", "DOCS", "SAVED", "DATA"):
        monkeypatch.setattr(paths, name, str(tmp_path / name.lower()))
    values = {}

    def train_one(dataset, variant, seed, budget, scratch):
        value = values.get((dataset, variant, seed), 0.1)
        if isinstance(value, BaseException):
            raise value
        return {"dataset": dataset, "variant": variant, "seed": seed, "test": {"ndcg@10": value}}

    monkeypatch.setattr(feedback, "train_one", train_one)
    threads = torch.get_num_threads()  # run() sets the process's threads: restored after the test
    yield values, lambda: json.loads((tmp_path / "results" / "feedback.json").read_text())
    torch.set_num_threads(threads)


def runs(result):
    return sorted((r["dataset"], r["variant"], r["seed"], r["test"]["ndcg@10"]) for r in result["runs"])


def test_a_stopped_study_keeps_the_runs_it_finished(study):
    values, result = study
    values["ml-100k", "both", 1] = SystemExit(143)  # what SIGTERM raises in the runner, during the second run
    with pytest.raises(SystemExit):
        feedback.main(["--datasets", "ml-100k", "--variants", "both", "--seeds", "0,1"])
    assert runs(result()) == [("ml-100k", "both", 0, 0.1)]


def test_a_command_replaces_its_own_runs_and_keeps_the_others(study):
    values, result = study
    feedback.main(["--datasets", "ml-100k", "--variants", "next-item,both", "--seeds", "0,1"])
    with open(paths.RESULTS + "/feedback.json") as f:  # a sweep from an earlier command
        content = json.load(f)
    with open(paths.RESULTS + "/feedback.json", "w") as f:
        json.dump({**content, "sweep": {"points": [], "fits": {}, "command": "python -m recbole_srt.scaling sweep"}}, f)
    values["ml-100k", "both", 0] = 0.3
    feedback.main(["--datasets", "ml-100k", "--variants", "both", "--seeds", "0", "--merge"])  # --merge: still taken
    # seed 0 once, in its place
    assert [(r["variant"], r["seed"], r["test"]["ndcg@10"]) for r in result()["runs"]] == [
        ("next-item", 0, 0.1), ("next-item", 1, 0.1), ("both", 0, 0.3), ("both", 1, 0.1)]
    feedback.main(["--datasets", "gift_cards", "--variants", "both", "--seeds", "0"])
    # (ml-100k, both, 0) counted once, with its new value; the other variant, seed and dataset kept, and the sweep
    assert runs(result()) == [("gift_cards", "both", 0, 0.1), ("ml-100k", "both", 0, 0.3), ("ml-100k", "both", 1, 0.1),
                              ("ml-100k", "next-item", 0, 0.1), ("ml-100k", "next-item", 1, 0.1)]
    assert "sweep" in result() and result()["seeds"] == [0, 1]
    assert result()["command"].count("--variants both --seeds 0 --merge") == 1  # once, though it wrote twice

    feedback.main(["--datasets", "ml-100k", "--variants", "plain", "--seeds", "2", "--replace"])
    assert runs(result()) == [("ml-100k", "plain", 2, 0.1)] and "sweep" not in result()
    assert result()["command"] == ("python benchmarks/feedback.py --datasets ml-100k --variants plain --seeds 2 "
                                   "--replace")  # the earlier commands dropped too


def test_a_variant_of_fewer_seeds_says_so_and_each_run_names_its_command(study):
    """A command that adds a seed to one variant: the other variants' means are of fewer seeds than the header's."""
    feedback.main(["--datasets", "ml-100k", "--variants", "next-item,both", "--seeds", "0,1,2"])
    feedback.main(["--datasets", "ml-100k", "--variants", "both", "--seeds", "3"])
    content = study[1]()
    assert {r["run"]["command"] for r in content["runs"] if r["seed"] == 3} == {
        "python benchmarks/feedback.py --datasets ml-100k --variants both --seeds 3"}
    page = feedback.markdown(content)
    assert "mean ± sd over seeds 0,1,2,3. Runs from:" in page
    assert "\n1. " in page and "`python benchmarks/feedback.py --datasets ml-100k --variants next-item,both --seeds " \
        "0,1,2`." in page
    assert "| next-item (3 of 4 seeds) | 0.1000 ± 0.0000 |" in page
    assert "| both | 0.1000 ± 0.0000 |" in page and page.count(" | 1, 2 |\n") == 1 and page.count(" | 1 |\n") == 1


def test_runs_written_before_runs_named_their_command_keep_the_files(study):
    """The committed file's runs name no command of their own: each gets the file's when a command adds to it."""
    feedback.main(["--datasets", "ml-100k", "--variants", "plain", "--seeds", "0"])
    path = paths.RESULTS + "/feedback.json"
    with open(path) as f:
        content = json.load(f)
    earlier = {"date": "2026-11-29", "machine": "host", "command": "python benchmarks/feedback.py; python x"}
    content = {**content, **earlier, "runs": [{k: v for k, v in r.items() if k != "run"} for r in content["runs"]]}
    with open(path, "w") as f:
        json.dump(content, f)
    assert feedback.markdown(content).startswith(
        "# Next-item + feedback (ARGUS) on ratings data\n\nhost; 2026-11-29; full mode; "
        "`python benchmarks/feedback.py; python x`; 0 min.")
    feedback.main(["--datasets", "ml-100k", "--variants", "both", "--seeds", "0"])
    runs = {r["variant"]: r["run"] for r in study[1]()["runs"]}
    assert runs["plain"] == earlier and runs["both"]["command"].endswith("--variants both --seeds 0")


def test_merge_and_replace_together_are_refused_by_name(study, capsys):
    with pytest.raises(SystemExit):
        feedback.main(["--merge", "--replace"])
    assert "argument --replace: not allowed with argument --merge" in capsys.readouterr().err
