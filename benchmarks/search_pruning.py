"""Pruning's gain: the 12-trial SRT-1K grid on Beauty (tau x lr x dropout) as an Optuna study, with and without
pruning, against the grid recorded by the built-in search on 2026-12-04 (benchmarks/results/search/).

    python benchmarks/search_pruning.py [--variants pruned,full] [--workers 2] [--data_path saved/data]
    python benchmarks/search_pruning.py --render

Each variant is ``python -m recbole_srt.search --sampler grid`` run by ``--workers`` processes against one sqlite
study (one torch thread each, as the recorded grid's two jobs had), so it also shows several workers sharing one
study. The goal: the pruned study's best validation NDCG@5 within one seed's standard deviation of the full grid's
best (the sd of "SRT-1K tuned"'s validation NDCG@5 over Beauty's seeds in beauty.json: the grid's neighbourhood,
tau 0.5), in at most half its wall time.
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time

import harness
from recbole_srt.trials import tracked

RECORDED = os.path.join(harness.paths.RESULTS, "search", "beauty-srt1k-tau")
# The recorded grid's settings; neg_sampling_scope: batch was the default then (sequence since).
FIXED = {"eval_args": "{'mode':'full'}", "num_negatives": "1000", "inner_size": "64", "epochs": "10",
         "neg_sampling_scope": "batch"}
SPACE = ["tau=0.15,0.25,0.5", "learning_rate=1e-3,2e-3", "hidden_dropout_prob+attn_dropout_prob=0.2,0.35"]
PRUNERS = {"pruned": "median", "full": "none"}
RECORDED_VARIANT = "recorded grid (built-in search, 2026-12-04)"


def study(variant, workers, data_path, folder):
    """Run one variant's study with ``workers`` processes; returns its record."""
    results = os.path.join(folder, f"{variant}.jsonl")
    command = [sys.executable, "-m", "recbole_srt.search", "--model=SRT", "--dataset=beauty", f"--data_path={data_path}",
               f"--results={results}", "--sampler=grid", f"--pruner={PRUNERS[variant]}",
               f"--storage=sqlite:///{os.path.join(folder, variant + '.db')}", f"--study-name=beauty-{variant}"]
    command += [f"--space={s}" for s in SPACE] + [f"--set={k}={v}" for k, v in FIXED.items()]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    before = len(read(results))
    start = time.time()
    with contextlib.ExitStack() as workers_running:  # a stopped study stops its workers, and they their trials
        processes = [workers_running.enter_context(tracked(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)))
                     for _ in range(workers)]
        if any([p.wait() for p in processes]):
            raise SystemExit(f"{variant}: a worker failed; its trials' logs are in {folder}")
    trials = read(results)
    # The wall time of this command only: a resumed study's earlier part is in the trials' seconds, not here, and
    # a study that was done ran nothing (its workers exit at once): it has no wall time to show.
    wall = round(time.time() - start, 1) if len(trials) > before else None
    return {"variant": variant, "pruner": PRUNERS[variant], "workers": workers, "wall_seconds": wall,
            "trials_run": len(trials) - before, **summary(trials),
            "command": " ".join(["python", "-m", "recbole_srt.search"] + command[3:])}


def read(results):
    """The trials a study's results file holds (none before its first)."""
    if not os.path.isfile(results):
        return []
    with open(results, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def summary(trials):
    ok = [t for t in trials if t.get("best_valid_result")]
    best = max(ok, key=lambda t: t["best_valid_result"]["ndcg@5"])
    return {"trials": len(trials), "pruned": sum(t.get("status") == "pruned" for t in trials),
            "trial_seconds": round(sum(t.get("wall_seconds", 0) for t in trials), 1),
            "best_valid": best["best_valid_result"]["ndcg@5"],
            "best_setting": {k: best["options"][k] for k in ("tau", "learning_rate", "hidden_dropout_prob")}}


def recorded():
    """The built-in search's grid of 2026-12-04 (two jobs): trial seconds summed; its wall time was not recorded."""
    trials = [json.loads(line) for line in open(RECORDED + ".jsonl", encoding="utf-8")]
    return {"variant": RECORDED_VARIANT, "pruner": "none", "workers": 2,
            "wall_seconds": None, **summary(trials),
            "command": " ".join(json.load(open(RECORDED + ".best.json", encoding="utf-8"))["command"])}


def seed_sd():
    """The sd of "SRT-1K tuned"'s validation NDCG@5 over Beauty's seeds (beauty.json)."""
    seeds = harness.load(os.path.join(harness.paths.RESULTS, "beauty.json"))["models"]["SRT-1K tuned"]["seeds"]
    return statistics.stdev([s["valid_ndcg@5"] for s in seeds]), len(seeds)


def measure(args):
    variants = harness.names(args.variants, list(PRUNERS), "--variants")
    # Kept (git-ignored): a study stopped half-way resumes from its sqlite file when the command runs again.
    folder = os.path.join(harness.paths.SAVED, "search_pruning")
    os.makedirs(folder, exist_ok=True)
    stamp = harness.stamp(__file__)
    rows = [study(v, args.workers, args.data_path, folder) for v in variants]
    sd, n = seed_sd()
    return {"search_pruning": lambda old: merged(old, [recorded()] + rows, stamp, sd, n)}


def merged(old, rows, stamp, sd, n):
    """The file with ``rows`` in place of the same studies' old rows, except where a study ran no trial (it was done):
    its old row, with the wall time of the command that ran it, is kept. Each row names its command (the studies of
    one file may come from several): a kept row written before rows named theirs, the old file's."""
    done = {r["variant"] for r in (old or {}).get("rows", [])}
    rows = [r for r in rows if r.get("trials_run", 1) or r["variant"] not in done]
    return {**stamp, "seed_sd": sd, "seed_sd_seeds": n,
            "rows": harness.stamped_merge(old, rows, lambda r: r["variant"], stamp)}


STAMP = ("date", "machine", "command")  # what each row keeps of the command that ran it


def run_line(run):
    return f"{run['date']}, {harness.describe(run['machine'])}. Command: `{run['command']}`."


def markdown(data):
    rows = data["rows"]
    full = next((r for r in rows if r["variant"] == "full"), rows[0])
    # the recorded grid names its own command (the built-in search's): no command of this study measured it
    header, numbers = harness.runs_section([None if r["variant"] == RECORDED_VARIANT else run
                                            for r, run in zip(rows, harness.runs_of(data, STAMP))], run_line)
    lines = ["# Pruning's gain: the 12-trial SRT-1K grid on Beauty", "", *header, "",
             "Each study is the grid of tau x learning rate x dropout (10 epochs, K = 1000, inner size 64, full "
             "ranking), run by its workers against one sqlite study, one torch thread each. Selected on validation "
             f"NDCG@5; one seed's standard deviation of SRT-1K (tuned)'s validation NDCG@5 on Beauty is "
             f"{data['seed_sd']:.4f} ({data['seed_sd_seeds']} seeds). Compared with: **{full['variant']}**.", ""]
    body = [[r["variant"], r["pruner"], r["workers"], r["trials"], r["pruned"], f"{r['trial_seconds']:.0f}",
             wall(r), f"{r['best_valid']:.4f}",
             f"{r['best_valid'] - full['best_valid']:+.4f}", ", ".join(f"{k} {v}" for k, v in r["best_setting"].items())]
            for r in rows]
    lines += harness.table(*harness.run_column(["study", "pruner", "workers", "trials", "pruned", "trial s (sum)",
                                                "wall s", "best valid NDCG@5", "vs compared", "best setting"],
                                               body, numbers))
    return "\n".join(lines + [""])


def wall(row):
    """A resumed study's wall time is the last command's part of it."""
    if row["wall_seconds"] is None:
        return ""
    part = row.get("trials_run", row["trials"]) < row["trials"]
    return f"{row['wall_seconds']:.0f}" + (f" ({row['trials_run']} of {row['trials']} trials)" if part else "")


def pages(results=None):
    return harness.rendered(markdown, ["search_pruning"], results)


def main(argv=None):
    parser = harness.parser(__doc__)
    parser.add_argument("--variants", default="pruned,full")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data_path", default="saved/data")
    return harness.run(parser, argv, measure, lambda: pages())


if __name__ == "__main__":
    sys.exit(main())
