"""The search on Optuna: TPE, grid or random sampling, median or successive-halving pruning, one study shared by
any number of processes or machines through an RDB storage (``--storage sqlite:///study.db``).

Trials run **in this process**, through :func:`recbole_srt.quick_start.run` (the same build and loop as
``python -m recbole_srt``), with a callback of the loop that reports the validation ``--metric`` after every
validation (``trial.report``) and asks ``trial.should_prune()``: a pruned trial stops at that epoch boundary, is
tested like any other and recorded as pruned. In-process trials make the report a function call at the moment the
loop validates; subprocess trials would need a per-epoch file protocol and a polling parent, for the same decision
taken later. Parallelism is by processes: run the same command several times (here or on other machines) against
one ``--storage``; each asks the study for its next trial, and trial numbers, which the storage hands out once,
decide the grid points, so no setting is trained twice.

Each finished trial appends one JSON line to ``--results`` (its options, history, best validation and test
metrics, status ok or pruned); trials are chosen on validation only, test figures are recorded beside.
"""

import ast
import fcntl
import json
import math
import os
import sys
import time

from recbole_srt.training.callbacks import Callback

SAMPLERS = ("tpe", "grid", "random")
PRUNERS = ("none", "median", "halving")


def optuna_or_exit():
    try:
        import optuna
    except ImportError:
        raise SystemExit("error: --sampler needs Optuna, which is not installed: pip install 'recbole_srt[search]' "
                         "(without --sampler, the built-in grid / random search needs nothing more)") from None
    return optuna


# ----- the space ------------------------------------------------------------------------------------------------
def plain(value):
    """A categorical choice as Optuna stores it (None, bool, int, float or str): lists and dicts as their repr."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def read_params_file(path):
    """RecBole's hyper-parameter file (recbole/trainer/hyper_tuning.py), one key a line:
    ``key choice [v1,v2]``, ``key uniform low,high``, ``key quniform low,high,q``, ``key loguniform low,high``
    (hyperopt's: exp of a uniform draw in [low, high]). Returns [(keys, kind, args)]."""
    space = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.strip().split(" ")
            if len(parts) < 3 or line.lstrip().startswith("#"):
                continue
            name, kind, value = parts[0], parts[1], "".join(parts[2:])
            where = f"{path}:{line_no}"
            try:
                if kind == "choice":
                    choices = ast.literal_eval(value)
                    if not isinstance(choices, (list, tuple)) or not choices:
                        raise ValueError
                    space.append(((name,), "choice", [plain(c) for c in choices]))
                elif kind in ("uniform", "loguniform"):
                    low, high = (float(v) for v in value.split(","))
                    space.append(((name,), kind, (low, high)))
                elif kind == "quniform":
                    low, high, q = (float(v) for v in value.split(","))
                    space.append(((name,), kind, (low, high, q)))
                else:
                    raise ValueError(f"{where}: unknown type '{kind}' (choice, uniform, quniform, loguniform)")
            except ValueError as error:
                raise ValueError(str(error) if str(error).startswith(where) else
                                 f"{where}: cannot read '{line.strip()}' as '{kind}'") from None
    return space


def from_cli_space(space):
    """search.parse_space's [(keys, [values])] as choices (values stay the command line's strings)."""
    return [(names, "choice", list(values)) for names, values in space]


def grid_of(space):
    """Every combination of a space of choices, in order: [{param name: value}]."""
    import itertools

    if any(kind != "choice" for _, kind, _ in space):
        raise ValueError("--sampler grid: every key needs a list of values (choice); uniform ranges need tpe or random")
    names = ["+".join(keys) for keys, _, _ in space]
    return [dict(zip(names, combo)) for combo in itertools.product(*(values for _, _, values in space))]


def suggest(trial, space):
    """The trial's options {key: value} (tied keys share one suggestion)."""
    options = {}
    for keys, kind, args in space:
        name = "+".join(keys)
        if kind == "choice":
            value = trial.suggest_categorical(name, args)
        elif kind == "uniform":
            value = trial.suggest_float(name, args[0], args[1])
        elif kind == "loguniform":
            value = trial.suggest_float(name, math.exp(args[0]), math.exp(args[1]), log=True)
        else:
            value = trial.suggest_float(name, args[0], args[1], step=args[2])
        options.update({key: value for key in keys})
    return options


def make_sampler(optuna, name, space, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    grid = grid_of(space)

    class NumberedGrid(optuna.samplers.BaseSampler):
        """Trial number k takes the grid's k-th point: the storage numbers trials once across processes, so two
        workers never train the same point (Optuna's GridSampler may, when they ask at the same moment)."""

        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, param_name, param_distribution):
            return grid[trial.number % len(grid)][param_name]

    return NumberedGrid(), len(grid)


def make_pruner(optuna, name):
    if name == "median":  # a trial below the median of the others at the same epoch stops (after 2 full trials)
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


# ----- the loop's side ------------------------------------------------------------------------------------------
class ReportToTrial(Callback):
    """After each validation: report ``metric`` to the trial; stop the fit at this epoch if the pruner says so."""

    def __init__(self, trial, metric):
        self.trial, self.metric, self.pruned_at = trial, metric, None

    def on_validation_end(self, trainer, epoch, score, result, improved, seconds):
        value = float(result[self.metric]) if self.metric in result else float(score)
        self.trial.report(value, epoch)
        if self.pruned_at is None and self.trial.should_prune():
            self.pruned_at = epoch

    def stop_reason(self, trainer, epoch):
        return "pruned" if self.pruned_at is not None else None


def append_locked(path, record):
    """One JSON line, under an exclusive lock: workers on one file write whole lines."""
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
        fcntl.flock(f, fcntl.LOCK_UN)


def run_trial(trial, args, space, fixed, runs_dir):
    """Train and test one trial in this process; returns its JSON-lines record."""
    from recbole_srt.quick_start import run

    options = {**fixed, **suggest(trial, space)}
    run_id = f"{args.study_name}-{trial.number}"
    run_dir = os.path.join(runs_dir, run_id)
    os.makedirs(run_dir, exist_ok=True)
    argv = [f"--{k}={v}" for k, v in options.items()]
    argv += [f"--checkpoint_dir={run_dir}", f"--log_dir={run_dir}", f"--tensorboard_dir={run_dir}",
             f"--results_file={os.path.join(run_dir, 'result.json')}", "--show_progress=False"]
    if args.preset:
        argv.append(f"--preset={args.preset}")
    if args.data_path:
        argv.append(f"--data_path={args.data_path}")
    reporter = ReportToTrial(trial, args.metric)
    record = {"run_id": run_id, "trial": trial.number, "study": args.study_name, "model": args.model,
              "dataset": args.dataset, "preset": args.preset, "options": options, "run_dir": run_dir}
    start = time.time()
    try:
        result = run(args.model, args.dataset, argv=argv, callbacks=[reporter])
    except Exception as error:  # noqa: BLE001  (the study goes on; the record says why)
        record.update(status=f"failed ({type(error).__name__}: {error})", wall_seconds=round(time.time() - start, 1))
        return record, None
    record["wall_seconds"] = round(time.time() - start, 1)
    record.update({k: result[k] for k in ("parameters", "non_embedding_parameters", "history", "best_valid_result",
                                          "test_result", "stopped_by")})
    record["status"] = "pruned" if reporter.pruned_at is not None else "ok"
    if not args.keep_checkpoints:
        for name in os.listdir(run_dir):
            if name.endswith((".pth", ".pth.json", ".safetensors", ".safetensors.json")):
                os.remove(os.path.join(run_dir, name))
    valid = result["best_valid_result"].get(args.metric)
    return record, valid


def open_study(optuna, attempts=5, **options):
    """Create the study, or load it if it exists. Workers started at once on a new database race to create its
    tables and the study; the losers get an IntegrityError (or "database is locked") although the study is there a
    moment later: they try again. Measured: of two workers started together on a new sqlite file, one died so."""
    retry = (optuna.exceptions.DuplicatedStudyError,)
    if options.get("storage"):
        from sqlalchemy.exc import IntegrityError, OperationalError

        retry += (IntegrityError, OperationalError)
    for attempt in range(attempts):
        try:
            return optuna.create_study(load_if_exists=True, **options)
        except retry:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def optimize(args, space, fixed):
    """Run trials of the study until it holds ``args.trials`` (the grid's size by default); returns the summary."""
    optuna = optuna_or_exit()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = make_sampler(optuna, args.sampler, space, args.seed)
    budget = args.trials
    if isinstance(sampler, tuple):
        sampler, size = sampler
        budget = min(budget or size, size)
    if budget is None:
        raise SystemExit("error: --trials N is needed with --sampler tpe or random (the grid's size is the default "
                         "for --sampler grid only)")
    study = open_study(optuna, study_name=args.study_name, storage=args.storage, sampler=sampler,
                       pruner=make_pruner(optuna, args.pruner), direction=args.direction)
    runs_dir = f"{os.path.splitext(args.results)[0]}.runs"
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    from optuna.trial import TrialState

    while True:
        trial = study.ask()
        if trial.number >= budget:
            # Another worker took the last trial in the meantime: this one is closed unrun (FAIL, marked so).
            trial.set_user_attr("unrun", "the study's --trials were all taken")
            study.tell(trial, state=TrialState.FAIL)
            break
        record, valid = run_trial(trial, args, space, fixed, runs_dir)
        append_locked(args.results, record)
        print(f"trial {trial.number}: {record['status']} in {record['wall_seconds']} s, valid {args.metric} "
              f"{valid if valid is not None else '-'}  {json.dumps(record['options'])}", flush=True)
        if record["status"].startswith("failed"):
            study.tell(trial, state=TrialState.FAIL)
        elif record["status"] == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, valid)
    return summary(args, budget)


def summary(args, budget):
    """The study's finished trials from the results file (this worker's and the others'), best validation first."""
    from recbole_srt.trials import records

    rows = {}
    for record in records(args.results):
        if record.get("study") == args.study_name and record.get("status") in ("ok", "pruned"):
            rows[record["trial"]] = record
    sign = -1 if args.direction == "maximize" else 1
    ranked = sorted((r for r in rows.values() if args.metric in r["best_valid_result"]),
                    key=lambda r: sign * r["best_valid_result"][args.metric])
    trials = [{"trial": r["trial"], "run_id": r["run_id"], "status": r["status"], "options": r["options"],
               "valid": r["best_valid_result"].get(args.metric), "test": r["test_result"],
               "epochs_run": r["history"][-1]["epoch"] + 1 if r["history"] else 0,
               "wall_seconds": r["wall_seconds"]} for r in ranked]
    return {"command": ["recbole-srt", "search"] + list(args.argv), "study": args.study_name,
            "storage": args.storage, "sampler": args.sampler, "pruner": args.pruner, "metric": args.metric,
            "selected_on": "validation", "trials_planned": budget, "trials_finished": len(trials),
            "best": trials[0] if trials else None, "trials": trials}


def main(args, space, fixed):
    """search.main's Optuna branch: returns the exit code."""
    try:
        result = optimize(args, space, fixed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    best_file = os.path.splitext(args.results)[0] + ".best.json"
    with open(best_file, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(f"{result['trials_finished']} of {result['trials_planned']} trials finished in study {args.study_name}; "
          f"ranking written to {best_file}")
    return 0
