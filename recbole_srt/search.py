"""Hyper-parameter search on the validation split: a grid, or a seeded random sample of it.

    python -m recbole_srt.search --model=SRT --dataset=beauty --results=saved/search/beauty.jsonl \\
        --space learning_rate=3e-4,1e-3,3e-3 --space hidden_dropout_prob+attn_dropout_prob=0.2,0.5 \\
        [--set num_negatives=1000] [--trials 12 --seed 0] [--jobs 2] [--metric ndcg@5]

Each trial is one run of ``python -m recbole_srt`` in its own process (:mod:`recbole_srt.trials`), so a
trial is exactly what a user gets from the same command line. ``KEY1+KEY2=v1,v2`` sets both keys to
each value (tied dropouts). With ``--trials`` below the grid's size, that many settings are drawn
without replacement by a random.Random(seed): the same command draws the same trials, and finished
trials are skipped when it runs again. Trials are ranked by the best validation value of --metric
only; their test results are recorded beside it but never used to choose. Writes the trials as JSON
lines to --results and the ranking to <results stem>.best.json.

With --sampler (tpe, grid or random), the search is an Optuna study (recbole_srt/search_optuna.py; pip install
'recbole_srt[search]'): --pruner median|halving stops poor trials at a validation, --params-file reads RecBole's
hyper-parameter file (key choice [v1,v2] / uniform low,high / loguniform low,high / quniform low,high,q), and
--storage sqlite:///study.db (any RDB URL) lets the same command on several processes or machines share the study:

    python -m recbole_srt.search --dataset=ml-100k --results=saved/s.jsonl --sampler=tpe --pruner=median \
        --space learning_rate=3e-4,1e-3,3e-3 --trials 12 --storage sqlite:///saved/s.db
"""

import argparse
import hashlib
import itertools
import json
import os
import random
import sys

import recbole_srt  # noqa: F401  (compatibility shims before RecBole is imported anywhere)
from recbole_srt import trials as runner


def parse_space(items):
    """['lr=1e-4,1e-3', 'a+b=0.2,0.5'] -> [(('lr',), ['1e-4', '1e-3']), (('a', 'b'), ['0.2', '0.5'])]."""
    space = []
    for item in items:
        keys, sep, values = item.partition("=")
        names = tuple(k.strip() for k in keys.split("+"))
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not all(names) or not choices:
            raise ValueError(f"--space: expected KEY=V1,V2 or KEY1+KEY2=V1,V2, got '{item}'")
        space.append((names, choices))
    return space


def trials(space, fixed, n_trials=None, seed=0):
    """The settings to train: every combination of ``space`` (over ``fixed``), or ``n_trials`` of
    them drawn without replacement with ``seed``; in the grid's order either way."""
    grid = []
    for combo in itertools.product(*(choices for _, choices in space)):
        settings = dict(fixed)
        for (names, _), value in zip(space, combo):
            settings.update({name: value for name in names})
        grid.append(settings)
    if n_trials is None or n_trials >= len(grid):
        return grid
    chosen = sorted(random.Random(seed).sample(range(len(grid)), n_trials))
    return [grid[i] for i in chosen]


def spec(model, dataset, options, preset=None):
    key = json.dumps([model, dataset, preset, sorted(options.items())])
    return {"run_id": f"{model}-{dataset}-{hashlib.sha1(key.encode()).hexdigest()[:8]}", "model": model,
            "dataset": dataset, "preset": preset, "options": options}


def ranking(specs, results_file, metric, searched=()):
    """Finished trials of ``specs``, best validation ``metric`` first; ``searched``: the keys of the space,
    whose values are the trial's choice (the rest were set for every trial)."""
    latest = {r["run_id"]: r for r in runner.records(results_file) if r.get("status") == "ok"}
    rows = []
    for item in specs:
        record = latest.get(item["run_id"])
        if record is None:
            continue
        valid = record["best_valid_result"]
        if metric not in valid:
            raise ValueError(f"--metric: '{metric}' is not among the validation metrics {sorted(valid)} of "
                             f"{item['run_id']}; set valid_metric/metrics to include it")
        history = record["history"]
        best_epoch = max(range(len(history)), key=lambda e: history[e].get(metric, float("-inf")), default=-1)
        rows.append({"run_id": item["run_id"], "options": item["options"],
                     "searched": {k: v for k, v in item["options"].items() if k in searched}, "valid": valid[metric],
                     "test": record["test_result"], "epochs_run": history[-1]["epoch"] + 1 if history else 0,
                     "best_epoch": history[best_epoch]["epoch"] + 1 if history else 0,
                     "wall_seconds": record["wall_seconds"]})
    return sorted(rows, key=lambda row: -row["valid"])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recbole_srt.search", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="SRT")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--data_path", default=None, help="folder holding <dataset>/ atomic files")
    parser.add_argument("--preset", default=None, help="a model size, e.g. L2-H2-D64 (else the model's yaml)")
    parser.add_argument("--results", required=True, help="JSON-lines file of the trials (appended to; resumes)")
    parser.add_argument("--space", action="append", default=[], metavar="KEY=V1,V2",
                        help="values to search for a key (repeatable); KEY1+KEY2=... ties keys")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a value for every trial")
    parser.add_argument("--trials", type=int, default=None, help="draw this many settings (default: the whole grid)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw (not of the training)")
    parser.add_argument("--metric", default="ndcg@5", help="validation metric that ranks the trials")
    parser.add_argument("--jobs", type=int, default=1, help="trials at a time; each gets cpu_count/jobs threads")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per trial")
    parser.add_argument("--dry-run", action="store_true", help="list the trials and exit")
    optuna = parser.add_argument_group("Optuna (with --sampler; pip install 'recbole_srt[search]')")
    optuna.add_argument("--sampler", choices=("tpe", "grid", "random"), default=None,
                        help="an Optuna study with this sampler; without it, the built-in grid / seeded draw")
    optuna.add_argument("--pruner", choices=("none", "median", "halving"), default="none",
                        help="stop a trial at a validation where it trails (median) or loses its rung (halving)")
    optuna.add_argument("--storage", default=None, help="an RDB URL (sqlite:///study.db, postgresql://...) shared by "
                        "every process of the study; default: in memory, this process alone")
    optuna.add_argument("--study-name", default=None, help="default: the stem of --results")
    optuna.add_argument("--params-file", default=None, help="RecBole's hyper-parameter file (instead of or with --space)")
    optuna.add_argument("--direction", choices=("maximize", "minimize"), default="maximize",
                        help="of --metric (minimize for a loss such as cross_entropy)")
    optuna.add_argument("--keep-checkpoints", action="store_true", help="keep each trial's checkpoint")
    args = parser.parse_args(argv)
    try:
        space = parse_space(args.space)
        fixed = runner.parse_assignments(args.set)
    except ValueError as error:
        parser.error(str(error))
    if args.sampler is not None:
        from recbole_srt import search_optuna

        try:
            full = search_optuna.from_cli_space(space)
            if args.params_file:
                full += search_optuna.read_params_file(args.params_file)
        except (ValueError, OSError) as error:
            parser.error(f"--params-file: {error}")
        if not full:
            parser.error("--space or --params-file: give at least one key to search")
        args.study_name = args.study_name or os.path.splitext(os.path.basename(args.results))[0]
        args.argv = list(argv if argv is not None else sys.argv[1:])
        return search_optuna.main(args, full, fixed)
    if args.params_file or args.storage or args.pruner != "none":
        parser.error("--params-file, --storage and --pruner work on an Optuna study: add --sampler tpe|grid|random")
    if not space:
        parser.error("--space: give at least one key to search")
    specs = [spec(args.model, args.dataset, options, args.preset)
             for options in trials(space, fixed, args.trials, args.seed)]
    if args.dry_run:
        for item in specs:
            print(item["run_id"], json.dumps(item["options"]))
        return 0
    if args.jobs > 1 and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.jobs))
    with runner.trials_stop_with_the_runner():
        runner.run_all(specs, args.results, args.data_path, args.jobs, args.timeout)
    try:
        rows = ranking(specs, args.results, args.metric, [name for names, _ in space for name in names])
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = {"command": ["python", "-m", "recbole_srt.search"] + list(argv if argv is not None else sys.argv[1:]),
               "metric": args.metric, "selected_on": "validation", "trials_planned": len(specs),
               "trials_finished": len(rows), "best": rows[0] if rows else None, "trials": rows}
    best_file = os.path.splitext(args.results)[0] + ".best.json"
    with open(best_file, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    for row in rows:
        print(f"valid {args.metric} {row['valid']:.4f} (epoch {row['best_epoch']} of {row['epochs_run']})  "
              f"{json.dumps(row['options'])}")
    print(f"ranking written to {best_file}")
    failed = len(specs) - len(rows)
    if failed:
        print(f"error: {failed} of {len(specs)} trials did not finish; their logs are under "
              f"{runner.runs_dir_of(args.results)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
