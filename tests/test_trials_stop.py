"""A runner stopped with SIGTERM stops its running trial too (recbole_srt.trials.trials_stop_with_the_runner)."""

import os
import signal
import subprocess
import sys
import time

RUNNER = """
import sys
from recbole_srt import trials

trial = [sys.executable, "-c", "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
         "time.sleep(120)", sys.argv[1]]  # writes its pid, then trains for two minutes
with trials.trials_stop_with_the_runner():
    trials._wait(trial, None, None)
"""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_the_runner_stops_its_trial(tmp_path):
    pid_file = tmp_path / "trial.pid"
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(pid_file)])
    trial = None
    try:
        deadline = time.time() + 120
        while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
            time.sleep(0.2)
        trial = int(pid_file.read_text())
        assert alive(trial)
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=30) == 128 + signal.SIGTERM  # the runner's own exit, not death by the signal
        assert not alive(trial)  # killed and reaped by the runner before it exited
    finally:
        runner.kill()
        if trial and alive(trial):
            os.kill(trial, signal.SIGKILL)


def test_a_trial_past_its_timeout_is_killed_and_recorded(tmp_path):
    from recbole_srt import trials

    spec = {"run_id": "slow", "model": "SRT", "dataset": "ml-100k", "preset": None, "options": {}}
    record = trials.run_one(spec, None, str(tmp_path), timeout=1)  # importing torch alone takes longer
    assert record["status"] == "failed (timeout after 1 s)" and "log_tail" in record
    assert not trials._RUNNING  # killed and forgotten
