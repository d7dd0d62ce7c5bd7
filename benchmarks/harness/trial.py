"""A trial three ways: in this process (the plugin's build path), as ``python -m recbole_srt`` with its result
kept (recbole_srt.trials), or any command as a child process whose own time and peak memory are measured."""

import json
import os
import subprocess
import tempfile
import time

from recbole_srt.trials import tracked

from . import paths


def fit(model, dataset, config_dict, config_files=None):
    """Build a run as run_recbole_srt.py does and train it (best checkpoint saved); returns the built run."""
    from recbole_srt.build import build_run, load_config

    run = build_run(load_config(model, dataset, config_file_list=config_files, config_dict=config_dict))
    run.trainer.fit(run.train_data, run.valid_data, saved=True)
    return run


def trial(run_id, dataset, options, runs_dir, data_path=None):
    """One ``python -m recbole_srt`` run (checkpoints kept: other runs start from them); returns its result
    JSON with the run's wall seconds. A failed run stops the study with the end of its log."""
    from recbole_srt.trials import run_one

    options = dict(options)
    spec = {"run_id": run_id, "model": options.pop("model", "SRT"), "dataset": dataset,
            "preset": options.pop("preset", None), "options": options}
    record = run_one(spec, data_path, runs_dir, keep_checkpoints=True)
    if record["status"] != "ok":
        raise SystemExit(f"{run_id}: {record['status']}\n{record.get('log_tail', '')}")
    with open(os.path.join(record["run_dir"], "result.json"), encoding="utf-8") as f:
        return {**json.load(f), "wall_seconds": record["wall_seconds"]}


def child(command, env=None):
    """Run ``command`` from the repository root; (wall seconds, its own peak resident MiB, its stdout).
    ``wait4`` reads the child's own peak, which a pipe's reader would lose by reaping it first."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        with tracked(subprocess.Popen(command, cwd=paths.ROOT, stdout=out, stderr=err, env=env)) as process:
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if process.returncode:
            raise SystemExit(f"{' '.join(command)} failed (exit code {process.returncode}):\n"
                             f"{err.read().decode(errors='replace')[-3000:]}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()
