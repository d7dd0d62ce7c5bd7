"""Data-parallel training under torchrun: two gloo processes on CPU against one process with the same global batch."""

import glob
import json
import os
import subprocess
import sys
import time

import pytest

from recbole_srt.build import load_config
from recbole_srt.compat import loader_dataset
from recbole_srt.config_check import ConfigError
from recbole_srt.data.dataloader import AllPositionsDataLoader
from recbole_srt import distributed

from conftest import QUIET, make_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# IDTransformer (no tokenizer to train), 6 epochs at its lr 1e-3, one validation, full ranking: ~30 s a run on 2 cores.
OPTIONS = ("--epochs=6", "--eval_step=6", "--stopping_step=~", "--eval_args={'mode': 'full'}", "--seed=1")


def launch(folder, processes, script, *args, timeout=300):
    """``run_recbole_srt.py`` (or a script that runs it) in one process, or in two under torchrun; one thread each."""
    launcher = [sys.executable] if processes == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command = [*launcher, script, "--model=IDTransformer", f"--checkpoint_dir={folder}", f"--log_dir={folder}",
               f"--tensorboard_dir={folder}", "--show_progress=False", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def results_of(folder):
    """The results JSON files a run wrote to its checkpoint folder (not the checkpoints' sidecars)."""
    return [p for p in glob.glob(str(folder / "*.json")) if not p.endswith((".pth.json", ".safetensors.json"))]


def test_each_rank_trains_on_a_disjoint_equal_share_of_the_batches_reshuffled_every_epoch():
    run_ = make_run("IDTransformer", epochs=1, train_batch_size=100)
    config, dataset = run_.config, loader_dataset(run_.train_data)
    ranks = [AllPositionsDataLoader(config, dataset, rank=r, world_size=2) for r in (0, 1)]
    whole = AllPositionsDataLoader(config, dataset)
    assert len(whole) % 2 == 1 and len(ranks[0]) == len(ranks[1]) == (len(whole) + 1) // 2
    epochs = []
    for _ in range(2):
        shares = [[b.tolist() for b in loader.batches()] for loader in ranks]
        assert len(shares[0]) == len(shares[1]) == len(ranks[0])
        # An odd count: rank 1 repeats one batch of the epoch, nothing is dropped.
        windows = [w for share in shares for b in share for w in b]
        assert sorted(set(windows)) == list(range(len(whole.inputs)))
        assert len(windows) - len(set(windows)) <= config["train_batch_size"]
        assert not set(w for b in shares[0] for w in b) & set(w for b in shares[1][:-1] for w in b)
        epochs.append(shares)
    assert epochs[0] != epochs[1]


def test_two_processes_match_one_process_with_the_same_global_batch_and_only_rank_0_writes(tmp_path):
    two = tmp_path / "two"
    done = launch(two, 2, "run_recbole_srt.py", "--train_batch_size=64", *OPTIONS)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test result:") == 1  # printed by rank 0 only
    assert "global batch = per-rank batch 64 x world size 2 x gradient_accumulation_steps 1 = 128" in done.stderr
    assert len(results_of(two)) == 1 and len(glob.glob(str(two / "*.safetensors"))) == 1
    assert len(os.listdir(two / "IDTransformer")) == 1  # one log file
    with open(results_of(two)[0]) as f:
        two_proc = json.load(f)

    one = tmp_path / "one"
    done = launch(one, 1, "run_recbole_srt.py", "--train_batch_size=128", *OPTIONS)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(results_of(one)[0]) as f:
        one = json.load(f)
    # Both see every training target once per epoch (rank 1 repeats a batch when the count is odd).
    assert 0 <= two_proc["history"][-1]["seen_targets"] - one["history"][-1]["seen_targets"] <= 6 * 64 * 50
    # Seed noise, measured with these options (one thread a process): one process at seeds 1-5 gives test NDCG@5
    # 0.0247 0.0207 0.0218 0.0179 0.0187 (sd 0.0027), two processes 0.0216 0.0213 0.0219 0.0204 0.0204, at most
    # 0.0031 from one process at the same seed. Two runs that differ only by seed differ by sd 0.0027 x 1.41 = 0.0038;
    # 0.011 is 3 of those. The last epoch's loss (a sum over the global batches) spans 115.1-122.5 over the same
    # seeds in one process, two processes are within 2.1 of it: 5% is within that spread.
    assert abs(two_proc["history"][-1]["train_loss"] / one["history"][-1]["train_loss"] - 1) < 0.05
    assert abs(two_proc["test_result"]["ndcg@5"] - one["test_result"]["ndcg@5"]) < 0.011, \
        (two_proc["test_result"], one["test_result"])


SAME_WEIGHTS = '''
import os, runpy
import torch
import torch.distributed as dist
from recbole_srt.training import trainer

fit = trainer.Trainer.fit


def checked_fit(self, *args, **kwargs):
    result = fit(self, *args, **kwargs)
    weights = torch.cat([p.detach().flatten() for p in self.model.parameters()])
    copies = [torch.empty_like(weights) for _ in range(dist.get_world_size())]
    dist.all_gather(copies, weights)
    same = all(torch.equal(copy, copies[0]) for copy in copies)
    print(f"rank {dist.get_rank()}: weights {'identical' if same else 'DIFFER'} on every rank", flush=True)
    return result


trainer.Trainer.fit = checked_fit
runpy.run_path(os.path.join(ROOT, "run_recbole_srt.py"), run_name="__main__")
'''


def test_ranks_keep_the_same_weights_through_accumulation_and_stop_at_rank_0s_epoch(tmp_path):
    """Micro-steps skip DDP's gradient averaging (no_sync) and the optimizer steps after a synchronised one,
    so the weights stay equal on every rank. The time budget runs out on rank 0 after epoch 0: rank 1, which
    decides nothing, must stop too (it would otherwise wait for rank 0's gradients of epoch 1)."""
    script = tmp_path / "same_weights.py"
    script.write_text(f"ROOT = {ROOT!r}\n" + SAME_WEIGHTS)
    done = launch(tmp_path, 2, str(script), "--epochs=3", "--time_budget=1e-6", "--gradient_accumulation_steps=2",
                  "--train_batch_size=32", "--eval_args={'mode': 'full'}", f"--results_file={tmp_path / 'r.json'}",
                  "--ddp_timeout=60", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "per-rank batch 32 x world size 2 x gradient_accumulation_steps 2 = 128" in done.stderr
    assert sorted(done.stdout.count(f"rank {r}: weights identical") for r in (0, 1)) == [1, 1], done.stdout
    with open(tmp_path / "r.json") as f:
        result = json.load(f)
    assert result["stopped_by"] == "time_budget" and [h["epoch"] for h in result["history"]] == [0]


FAIL_ON_RANK_1 = '''
import os, runpy
from recbole_srt.training import trainer

forward = trainer.TrainingStep.forward
calls = []


def failing(self, interaction):
    calls.append(1)
    if os.environ["RANK"] == "1" and len(calls) == 3:
        raise RuntimeError("injected failure on rank 1")
    return forward(self, interaction)


trainer.TrainingStep.forward = failing
runpy.run_path(os.path.join(ROOT, "run_recbole_srt.py"), run_name="__main__")
'''


def test_a_rank_that_fails_stops_the_job_with_its_error(tmp_path):
    """Rank 1 raises in its third training step, while rank 0 waits for its gradients."""
    script = tmp_path / "fail_on_rank_1.py"
    script.write_text(f"ROOT = {ROOT!r}\n" + FAIL_ON_RANK_1)
    start = time.time()
    done = launch(tmp_path, 2, str(script), "--epochs=2", "--eval_args={'mode': 'full'}", "--ddp_timeout=60",
                  timeout=120)
    assert done.returncode != 0
    assert "RuntimeError: injected failure on rank 1" in done.stderr
    assert time.time() - start < 60  # well before ddp_timeout: rank 0 did not wait for it
    assert not glob.glob(str(tmp_path / "*.pth")) and "test result" not in done.stdout


def test_recbole_models_are_refused_under_torchrun(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = load_config("SASRec", "ml-100k", config_dict=QUIET)
    with pytest.raises(ConfigError, match="RecBole's training loaders are not sharded"):
        distributed.setup(config)
    assert not distributed.active()
