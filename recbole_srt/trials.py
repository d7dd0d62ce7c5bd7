"""Trials: one run of ``python -m recbole_srt`` per setting, each in its own process, recorded as a JSON line.

The runner under the hyper-parameter search (``recbole_srt.search``), the scaling sweep and the benchmarks:
a trial is exactly what a user gets from the same command line. Each finished trial appends one line to the
results file (settings, parameter counts, the per-evaluation history, best validation and test metrics); a
failed one appends its status and the end of its log. Running the same trials again skips the finished
ones, so an interrupted search or sweep resumes where it stopped.
"""

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

# The trial processes of this process that are still running: a stopped runner stops them too. Re-entrant: the
# SIGTERM handler runs on the main thread, which may hold the lock when the signal arrives.
_RUNNING = set()
_RUNNING_LOCK = threading.RLock()
_STOPPING = threading.Event()  # set by the handler: a trial another thread starts after it is stopped at once


def parse_assignments(items, grid=False):
    """['key=value', ...] -> {key: value} (grid: {key: [v1, v2, ...]} from 'key=v1,v2')."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got '{item}'")
        out[key] = value.split(",") if grid else value
    return out


def records(results_file):
    """The results file's records in file order (none when it does not exist yet)."""
    if not os.path.isfile(results_file):
        return
    with open(results_file, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                raise ValueError(f"{results_file}:{line_no}: not a JSON line; fix or remove it") from None


def finished(results_file):
    """Run ids already in the results file with status ok."""
    return {r["run_id"] for r in records(results_file) if r.get("status") == "ok"}


def failures(runs, results_file):
    """The latest record of each of ``runs`` that has no ok record, in the order of ``runs``.

    Only ``runs`` are judged: a results file shared by several sweeps may hold failures of runs
    this sweep never planned. A run with an ok record counts as done even if a later record
    failed (two sweeps on one file), as for resumption and for fit/plot."""
    latest, ok = {}, set()
    for record in records(results_file):
        latest[record["run_id"]] = record
        if record.get("status") == "ok":
            ok.add(record["run_id"])
    missing = {"status": "no record in the results file"}
    return [{"run_dir": os.path.join(runs_dir_of(results_file), spec["run_id"]), **spec,
             **latest.get(spec["run_id"], missing)}
            for spec in runs if spec["run_id"] not in ok]


def runs_dir_of(results_file):
    """The folder of the runs' logs and checkpoints, beside the results file."""
    return f"{os.path.splitext(results_file)[0]}.runs"


def append(results_file, record):
    """One line per run, written in one call and flushed: a killed sweep leaves whole lines."""
    with open(results_file, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run_one(spec, data_path, runs_dir, timeout=None, keep_checkpoints=False):
    """Train one run in its own process; returns the record appended to the results file."""
    run_dir = os.path.join(runs_dir, spec["run_id"])
    os.makedirs(run_dir, exist_ok=True)
    result_json = os.path.join(run_dir, "result.json")
    # ``python -m recbole_srt``: the installed package's entry point, so a trial runs outside the source tree too.
    command = [sys.executable, "-m", "recbole_srt", f"--model={spec['model']}",
               f"--dataset={spec['dataset']}", f"--results_file={result_json}",
               "--overwrite_results=True",  # a retried trial replaces its own result.json
               f"--checkpoint_dir={run_dir}", f"--log_dir={run_dir}", f"--tensorboard_dir={run_dir}",
               "--show_progress=False"]
    if spec["preset"]:
        command.append(f"--preset={spec['preset']}")
    if data_path:
        command.append(f"--data_path={data_path}")
    command += [f"--{k}={v}" for k, v in spec["options"].items()]
    record = {**spec, "command": command, "run_dir": run_dir}
    start = time.time()
    with open(os.path.join(run_dir, "log.txt"), "w", encoding="utf-8") as log:
        try:
            code = _wait(command, log, timeout)
            status = "ok" if code == 0 else f"failed (exit code {code})"
        except subprocess.TimeoutExpired:
            status = f"failed (timeout after {timeout} s)"
    record["wall_seconds"] = round(time.time() - start, 1)
    if status == "ok":
        with open(result_json, encoding="utf-8") as f:
            result = json.load(f)
        record.update({k: result[k] for k in ("parameters", "non_embedding_parameters", "history",
                                              "best_valid_result", "test_result")})
        record["train_interactions"] = result["history"][0]["seen_targets"] if result["history"] else 0
    else:
        with open(os.path.join(run_dir, "log.txt"), encoding="utf-8", errors="replace") as f:
            record["log_tail"] = f.read()[-3000:]
    record["status"] = status
    if status == "ok" and not keep_checkpoints:
        for name in os.listdir(run_dir):
            if name.endswith((".pth", ".pth.json", ".safetensors", ".safetensors.json", ".optim.pt")):
                os.remove(os.path.join(run_dir, name))
    return record


def _wait(command, log, timeout):
    """The trial's exit code; the trial is killed if this wait ends any other way (a timeout, an exception)."""
    with tracked(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)) as process:
        return process.wait(timeout=timeout)


@contextlib.contextmanager
def tracked(process):
    """Within it, ``process`` (a started Popen) stops with the runner (:func:`trials_stop_with_the_runner`), and is
    killed if the block ends by an exception: a child that outlived its runner would go on writing unseen."""
    try:
        with _RUNNING_LOCK:
            _RUNNING.add(process)
            if _STOPPING.is_set():  # stopped while it was being started
                process.terminate()
        yield process
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)


def run_tracked(command, check=False, **popen):
    """``subprocess.run`` without output capture, the child :func:`tracked`; returns its exit code."""
    with tracked(subprocess.Popen(command, **popen)) as process:
        code = process.wait()
    if check and code:
        raise subprocess.CalledProcessError(code, command)
    return code


@contextlib.contextmanager
def trials_stop_with_the_runner():
    """Within it, SIGTERM to the runner (``kill PID``, a scheduler's stop) also stops its running trials. By default
    only the runner would exit: its trials would go on training, unseen, and a resumed runner would start the same
    trials again beside them, in the same folders. (Ctrl-C already reaches the whole foreground group.)"""
    if threading.current_thread() is not threading.main_thread():  # signals are the main thread's
        yield
        return

    def stop(signum, frame):
        with _RUNNING_LOCK:
            _STOPPING.set()
            for process in list(_RUNNING):
                process.terminate()
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _STOPPING.clear()


def run_all(specs, results_file, data_path=None, jobs=1, timeout=None, keep_checkpoints=False, log=print):
    """Train the specs not yet finished in ``results_file``, ``jobs`` processes at a time; each finished
    (or failed) trial appends its record. Returns the run ids finished so far."""
    runs_dir = runs_dir_of(results_file)
    os.makedirs(os.path.dirname(os.path.abspath(results_file)), exist_ok=True)
    done = finished(results_file)
    todo = [s for s in specs if s["run_id"] not in done]
    log(f"{len(specs)} runs, {len(specs) - len(todo)} already finished, {len(todo)} to go"
        + (f", {jobs} at a time" if jobs > 1 else ""))
    lock, counter = threading.Lock(), iter(range(1, len(todo) + 1))

    def one(spec):
        record = run_one(spec, data_path, runs_dir, timeout, keep_checkpoints)
        with lock:  # whole lines from concurrent trials
            append(results_file, record)
            best = record.get("best_valid_result", {})
            log(f"[{next(counter)}/{len(todo)}] {spec['run_id']} {spec['options']}: {record['status']} in "
                f"{record['wall_seconds']} s" + (f", valid {best}" if best else ""))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(one, todo))
    if os.path.isdir(runs_dir) and not keep_checkpoints and not os.listdir(runs_dir):
        shutil.rmtree(runs_dir)
    return finished(results_file)
