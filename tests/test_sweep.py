"""The sweep runner end to end on ml-100k: runs in their own processes, a failure recorded and
survived, resumption without redoing finished runs, then fit and plot from the CLI."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "recbole_srt.scaling", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def test_sweep_resumes_survives_failures_and_feeds_fit_and_plot(tmp_path):
    results = str(tmp_path / "runs.jsonl")
    common = ["sweep", "--datasets", "ml-100k", "--presets", "L4-H2-D64,L2-H2-D128", "--results", results,
              "--set", "epochs=2", "--set", "eval_args={'mode': 'full'}", "--set", f"tokenizer_dir={tmp_path}/tok",
              "--grid", "num_negatives=50,0"]  # 0 negatives is rejected by SRT.check_config
    done = cli(*common)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in open(results, encoding="utf-8")]
    assert len(records) == 4
    ok = [r for r in records if r["status"] == "ok"]
    failed = [r for r in records if r["status"] != "ok"]
    assert len(ok) == 2 and len(failed) == 2
    assert all("num_negatives must be an integer >= 1" in r["log_tail"] for r in failed)
    for r in ok:
        flops = [h["train_flops"] for h in r["history"]]
        assert len(flops) == 2 and 0 < flops[0] < flops[1]
        assert r["history"][1]["seen_targets"] == 2 * r["train_interactions"]
        assert 0 < r["non_embedding_parameters"] < r["parameters"]
        assert not [f for f in os.listdir(r["run_dir"]) if f.endswith(".pth")]  # checkpoints removed by default

    again = cli(*common)  # finished runs are skipped; failed ones are tried again
    assert "4 runs, 2 already finished, 2 to go" in again.stdout
    assert sum(1 for _ in open(results, encoding="utf-8")) == 6

    fit = cli("fit", "--results", results, "--out", str(tmp_path / "laws.json"), "--bootstrap", "5")
    assert fit.returncode == 0, fit.stderr
    laws = json.loads((tmp_path / "laws.json").read_text())
    assert set(laws) == {"ndcg@5", "hit@5"} and laws["ndcg@5"]["evaluations"] == 4
    assert laws["ndcg@5"]["nt"] == "needs 6 runs, has 2"  # says what is missing instead of a bad fit
    plot = cli("plot", "--results", results, "--out", str(tmp_path / "figs"), "--metrics", "ndcg@5")
    assert plot.returncode == 0, plot.stderr
    assert len([f for f in os.listdir(tmp_path / "figs") if f.endswith(".png")]) == 5
