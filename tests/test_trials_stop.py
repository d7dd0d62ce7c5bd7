"""A runner stopped with SIGTERM stops its running trial too (recbole_srt.trials.trials_stop_with_the_runner)."""

import os
import signal
import subprocess
import sys
import time

import pytest

RUNNER = """
import concurrent.futures, sys
from recbole_srt import trials

def trial(n):  # writes its pid, then trains for two minutes
    return [sys.executable, "-c", "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
            "time.sleep(120)", f"{sys.argv[1]}.{n}"]

with trials.trials_stop_with_the_runner():
    %s
"""
WAYS = {  # how a runner waits for its children
    "a trial": "trials._wait(trial(0), None, None)",
    "a tracked command (benchmarks' sweeps)": "trials.run_tracked(trial(0))",
    "a measured child (harness, wait4)": "from benchmarks.harness.trial import child; child(trial(0))",
    "two trials at once (--jobs 2)": "list(concurrent.futures.ThreadPoolExecutor(2).map("
                                     "lambda n: trials._wait(trial(n), None, None), range(2)))",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("way", WAYS)
def test_sigterm_to_the_runner_stops_its_trials(tmp_path, way):
    pid_file = tmp_path / "trial.pid"
    children = 2 if "two" in way else 1
    runner = subprocess.Popen([sys.executable, "-c", RUNNER % WAYS[way], str(pid_file)], cwd=ROOT)
    trials = []
    try:
        deadline = time.time() + 120
        files = [tmp_path / f"trial.pid.{n}" for n in range(children)]
        while not all(f.exists() and f.read_text() for f in files) and time.time() < deadline:
            time.sleep(0.2)
        trials = [int(f.read_text()) for f in files]
        assert all(alive(t) for t in trials)
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=30) == 128 + signal.SIGTERM  # the runner's own exit, not death by the signal
        assert not any(alive(t) for t in trials)  # killed and reaped by the runner before it exited
    finally:
        runner.kill()
        for t in trials:
            if alive(t):
                os.kill(t, signal.SIGKILL)


def test_a_trial_past_its_timeout_is_killed_and_recorded(tmp_path):
    from recbole_srt import trials

    spec = {"run_id": "slow", "model": "SRT", "dataset": "ml-100k", "preset": None, "options": {}}
    record = trials.run_one(spec, None, str(tmp_path), timeout=1)  # importing torch alone takes longer
    assert record["status"] == "failed (timeout after 1 s)" and "log_tail" in record
    assert not trials._RUNNING  # killed and forgotten
