import json
import os
import subprocess
import sys

from recbole_srt.quick_start import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_small_srt_beats_most_popular_on_ml100k(tmp_path):
    """The README's main command, shortened to fit CI: 20 epochs at lr 1e-3 instead of 50 at 1e-4."""
    results = tmp_path / "srt.json"
    command = [
        sys.executable, "run_recbole_srt.py", "--model=SRT", "--epochs=20", "--eval_step=5",
        "--learning_rate=0.001", "--show_progress=False", f"--checkpoint_dir={tmp_path}",
        f"--tokenizer_dir={tmp_path}", f"--results_file={results}",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == f"results written to {results}"
    srt = json.loads(results.read_text())
    assert set(srt) >= {"test_result", "best_valid_result", "config"}
    assert set(srt["test_result"]) == {"ndcg@5", "hit@5"}
    assert srt["config"]["eval_args"]["mode"] == {"valid": "uni10000", "test": "uni10000"} and srt["config"]["model"] == "SRT"
    assert "test result" in done.stderr + done.stdout  # RecBole's log line
    assert srt["stopped_by"] == "epochs" and [h["epoch"] for h in srt["history"]] == [4, 9, 14, 19]

    pop = run("MostPop", "ml-100k", config_dict={
        "show_progress": False, "checkpoint_dir": str(tmp_path), "results_file": str(tmp_path / "pop.json"),
    })
    srt_ndcg, pop_ndcg = srt["test_result"]["ndcg@5"], pop["test_result"]["ndcg@5"]
    assert pop_ndcg > 0.005  # the baseline is a real ranking, not a broken one
    assert srt_ndcg > 1.5 * pop_ndcg, (srt_ndcg, pop_ndcg)


def test_time_budget_stops_at_an_epoch_boundary_and_tests_the_best_checkpoint(tmp_path):
    result = run("SRT", "ml-100k", config_dict={
        "epochs": 5, "time_budget": 1e-6, "learning_rate": 0.001, "show_progress": False, "state": "ERROR",
        "checkpoint_dir": str(tmp_path), "tokenizer_dir": str(tmp_path), "results_file": str(tmp_path / "r.json"),
    })
    # The budget is spent during the first epoch; that epoch is validated, saved and tested.
    assert result["stopped_by"] == "time_budget"
    assert [h["epoch"] for h in result["history"]] == [0]
    assert result["test_result"]["ndcg@5"] > 0
