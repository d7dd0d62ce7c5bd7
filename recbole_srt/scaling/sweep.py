"""The scaling sweep's plan: datasets x presets x options, each run a trial of :mod:`recbole_srt.trials`
(one process, one JSON line, resumable). A failed run does not stop the sweep; the command exits with
status 1 at the end, naming each failed run and its log."""

import hashlib
import itertools
import json

from recbole_srt import trials


def plan(datasets, presets, options=None, grid=None, model="SRT"):
    """Every run of the sweep as {run_id, model, dataset, preset, options}."""
    grid = grid or {}
    runs = []
    for dataset, preset, combo in itertools.product(datasets, presets, itertools.product(*grid.values())):
        settings = {**(options or {}), **dict(zip(grid, combo))}
        key = json.dumps([model, dataset, preset, sorted(settings.items())])
        run_id = f"{model}-{dataset}-{preset}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
        runs.append({"run_id": run_id, "model": model, "dataset": dataset, "preset": preset, "options": settings})
    return runs


def sweep(runs, results_file, data_path=None, timeout=None, keep_checkpoints=False, log=print):
    return trials.run_all(runs, results_file, data_path, 1, timeout, keep_checkpoints, log)
