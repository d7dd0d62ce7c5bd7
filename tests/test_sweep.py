"""The sweep runner end to end on ml-100k: runs in their own processes, a failure recorded and
survived, resumption without redoing finished runs, then fit and plot from the CLI."""

import json
import os
import re
import subprocess
import sys

from recbole_srt.scaling import __main__ as scaling_cli
from recbole_srt import trials as trials_module
from recbole_srt.scaling import sweep as sweep_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "recbole_srt.scaling", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def test_sweep_resumes_survives_failures_and_feeds_fit_and_plot(tmp_path):
    results = str(tmp_path / "runs.jsonl")
    common = ["sweep", "--datasets", "ml-100k", "--presets", "L4-H2-D64,L2-H2-D128", "--results", results,
              "--set", "epochs=2", "--set", "eval_args={'mode': 'full'}",
              "--set", f"tokenizer_dir={tmp_path}/tok",
              "--set", "MAX_ITEM_LIST_LENGTH=10",  # short windows: CI's time; the runner does not depend on them
              "--grid", "num_negatives=50,0"]  # 0 negatives is rejected by SRT.check_config
    done = cli(*common)
    assert done.returncode == 1, done.stderr[-3000:]  # the two rejected runs
    records = [json.loads(line) for line in open(results, encoding="utf-8")]
    assert len(records) == 4
    ok = [r for r in records if r["status"] == "ok"]
    failed = [r for r in records if r["status"] != "ok"]
    assert len(ok) == 2 and len(failed) == 2
    assert "error: 2 of 4 runs failed" in done.stderr
    assert os.listdir(tmp_path / "tok")  # the runs' tokenizer went where --set put it
    assert all(os.path.join(r["run_dir"], "log.txt") in done.stderr for r in failed)
    assert all("num_negatives must be an integer >= 1" in r["log_tail"] for r in failed)
    for r in ok:
        flops = [h["train_flops"] for h in r["history"]]
        assert len(flops) == 2 and 0 < flops[0] < flops[1]
        assert r["history"][1]["seen_targets"] == 2 * r["train_interactions"]
        assert 0 < r["non_embedding_parameters"] < r["parameters"]
        assert not [f for f in os.listdir(r["run_dir"]) if f.endswith(".pth")]  # checkpoints removed by default

    again = cli(*common)  # finished runs are skipped; failed ones are tried again
    assert "4 runs, 2 already finished, 2 to go" in again.stdout
    assert again.returncode == 1 and "error: 2 of 4 runs failed" in again.stderr
    assert sum(1 for _ in open(results, encoding="utf-8")) == 6

    fit = cli("fit", "--results", results, "--out", str(tmp_path / "laws.json"), "--bootstrap", "5")
    assert fit.returncode == 0, fit.stderr
    laws = json.loads((tmp_path / "laws.json").read_text())
    assert set(laws) == {"ndcg@5", "hit@5"} and laws["ndcg@5"]["evaluations"] == 4
    assert laws["ndcg@5"]["nt"] == "needs 6 runs, has 2"  # says what is missing instead of a bad fit
    plot = cli("plot", "--results", results, "--out", str(tmp_path / "figs"), "--metrics", "ndcg@5")
    assert plot.returncode == 0, plot.stderr
    assert len([f for f in os.listdir(tmp_path / "figs") if f.endswith(".png")]) == 5


def test_sweep_exits_1_naming_failed_runs_and_their_logs(tmp_path):
    """Real run processes that fail at once (no such dataset): a few seconds each."""
    results = str(tmp_path / "runs.jsonl")
    done = cli("sweep", "--datasets", "no-such-a,no-such-b", "--data_path", str(tmp_path / "none"),
               "--presets", "L2-H2-D128", "--results", results)
    assert done.returncode == 1, done.stderr[-3000:]
    records = [json.loads(line) for line in open(results, encoding="utf-8")]
    assert [r["dataset"] for r in records] == ["no-such-a", "no-such-b"]
    assert "error: 2 of 2 runs failed:" in done.stderr
    for r in records:
        log = os.path.join(r["run_dir"], "log.txt")
        assert re.search(rf"{r['run_id']}: failed \(exit code \d+\); log: {re.escape(log)}\n", done.stderr)
        assert "no-such-" in open(log, encoding="utf-8").read()
    assert "Traceback" not in done.stderr  # the runs' tracebacks stay in their logs


def test_sweep_judges_only_the_runs_it_planned(tmp_path, monkeypatch, capsys):
    results = str(tmp_path / "runs.jsonl")

    def fake_run_one(spec, data_path, runs_dir, timeout=None, keep_checkpoints=False):
        status = "failed (exit code 3)" if spec["dataset"] == "bad" else "ok"
        return {**spec, "run_dir": os.path.join(runs_dir, spec["run_id"]), "wall_seconds": 0.0, "status": status}

    monkeypatch.setattr(trials_module, "run_one", fake_run_one)
    args = ["sweep", "--presets", "L2-H2-D128", "--results", results]

    assert scaling_cli.main([*args, "--datasets", "good,bad"]) == 1
    err = capsys.readouterr().err
    assert "error: 1 of 2 runs failed:" in err
    bad = next(r["run_id"] for r in sweep_module.plan(["bad"], ["L2-H2-D128"]))
    assert f"{bad}: failed (exit code 3); log: {tmp_path / 'runs.runs' / bad / 'log.txt'}" in err
    assert "-good-" not in err

    # The failure of 'bad' stays in the results file, but this sweep did not plan it.
    assert scaling_cli.main([*args, "--datasets", "good,other"]) == 0
    assert "error" not in capsys.readouterr().err
