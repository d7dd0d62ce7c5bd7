"""`python -m recbole_srt.scaling laws` on a results file whose runs follow known laws."""

import json
import os
import subprocess
import sys

import numpy as np

from recbole_srt.scaling import loss_law, performance_law

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [(1, 16), (1, 32), (2, 32), (2, 64), (4, 64), (4, 128)]


def fake_run(backbone, seed, layers, hidden, offset):
    n = layers * (4 * hidden ** 2 + 2 * 256 * hidden)
    noise = 1 + 0.002 * np.random.default_rng(seed * 100 + layers * hidden).standard_normal()
    ce = float(loss_law.size_law(n, 5.0 - offset, 2e3, 0.4) * noise)
    hit = float(performance_law.performance_law(layers, hidden, 1.0, {"c": 0.3 + offset, "w1": 0.01, "a": 0.3,
                                                                      "w2": 0.02, "b": 0.25}) * noise)
    flops = np.geomspace(1e9, 1e10, 5) * n / 1e4
    history = [{"train_flops": float(f), "seen_targets": 1e5 * (k + 1), "ndcg@10": hit / 2 * (1 - 0.5 / (k + 1))}
               for k, f in enumerate(flops)]
    return {"run_id": f"{backbone}-{seed}-{layers}-{hidden}", "status": "ok", "model": "IDTransformer",
            "dataset": "ml-100k", "preset": f"L{layers}-H1-D{hidden}", "options": {"backbone": backbone, "seed": seed},
            "command": [], "parameters": n + 1682 * hidden, "non_embedding_parameters": n, "train_interactions": 1e5,
            "history": history, "test_result": {"cross_entropy": ce, "hit@10": hit, "ndcg@10": hit / 2}}


def test_laws_command_groups_runs_and_fits_each_law(tmp_path):
    results = tmp_path / "runs.jsonl"
    with open(results, "w") as f:
        for backbone, offset in (("sasrec", 0.0), ("hstu", 0.05)):
            for seed in (1, 2):
                for layers, hidden in SIZES:
                    f.write(json.dumps(fake_run(backbone, seed, layers, hidden, offset)) + "\n")
    # 10 resamples: the intervals' path at a tenth of the default's time
    done = subprocess.run([sys.executable, "-m", "recbole_srt.scaling", "laws", "--results", str(results), "--by",
                           "backbone", "--out", str(tmp_path / "out"), "--bootstrap", "10"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "laws.json").read_text())
    assert report["by"] == "backbone" and set(report["groups"]) == {"sasrec", "hstu"}
    hstu, sasrec = report["groups"]["hstu"], report["groups"]["sasrec"]
    assert hstu["test"]["ml-100k"]["hit@10"]["runs"] == 12
    assert hstu["test"]["ml-100k"]["hit@10"]["mean"] > sasrec["test"]["ml-100k"]["hit@10"]["mean"]
    ce = sasrec["size_laws"]["ml-100k"]["cross_entropy"]
    assert len(ce["extrapolation"]["held_out_sizes"]) == 2 and ce["extrapolation"]["max_rel_error"] < 0.01
    assert set(ce["fit_ci95"]) >= {"limit", "N0", "alpha"} and len(sasrec["performance_law"]["hit@10"]["fit_ci95"]) > 0
    law = sasrec["performance_law"]["hit@10"]
    assert law["fit"]["terms"] == ["layers", "hidden"] and law["holdout"]["max_rel_error"] < 0.03
    assert sasrec["performance_law"]["data"]["ml-100k"]["interactions"] == 100_000  # RecBole's bundled file
    assert isinstance(sasrec["envelope"]["sigmoid"], dict)
    (hit,) = report["comparisons"]["ml-100k"]["hit@10"]
    assert hit["group"] == "hstu" and hit["baseline"] == "sasrec" and hit["difference"] > 0 and hit["p_value"] < 0.05
    text = (tmp_path / "out" / "laws.md").read_text()
    assert "| hstu | ml-100k | 12 |" in text and "| sasrec | ml-100k | cross_entropy |" in text
    assert {"envelopes.png", "size_laws.png", "performance_law.png"} <= set(os.listdir(tmp_path / "out"))
