"""Data-parallel training under torchrun: one process per rank, gradients averaged by DDP.

    torchrun --nproc_per_node=N run_recbole_srt.py --model=SRT --dataset=ml-100k [--key=value ...]

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them nothing
here does anything and a run is the one process it always was. RecBole 1.2.1's own multi-process
path (``nproc``, its own NCCL init, a DistributedSampler that divides ``train_batch_size``) is not
used: ``train_batch_size`` stays per rank and evaluation stays on rank 0.
"""

import inspect
import os
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from recbole_srt.config_check import ConfigError


def launched():
    """Started by torchrun (or any launcher that sets its variables)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def active():
    return dist.is_available() and dist.is_initialized()


def rank():
    return dist.get_rank() if active() else 0


def world_size():
    return dist.get_world_size() if active() else 1


def is_main():
    return rank() == 0


def setup(config):
    """Join torchrun's process group (gloo on CPU, NCCL on GPUs) and point ``config["device"]`` at
    this rank's GPU. Returns whether a group was joined; without torchrun, changes nothing."""
    if not launched():
        return False
    if not config["train_all_positions"]:
        # RecBole's training loaders would give every rank the same batches (or, with its own
        # DDP switch, split train_batch_size); only the plugin's window loader is sharded here.
        raise ConfigError(f"torchrun: {config['model']} does not train on the plugin's windows, and RecBole's "
                          "training loaders are not sharded across processes: data-parallel training is for SRT "
                          "and IDTransformer with train_all_positions: True")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = config["device"]
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"torchrun: local rank {local_rank} needs GPU {local_rank}, but this process sees "
                              f"{torch.cuda.device_count()} (CUDA_VISIBLE_DEVICES, gpu_id): one GPU per process")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    # A finite timeout: a rank stuck in a collective fails after it instead of hanging for ever.
    # It also bounds how long the other ranks wait while rank 0 validates.
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                            timeout=timedelta(seconds=float(config["ddp_timeout"])))
    config["device"], config["local_rank"], config["world_size"] = device, local_rank, world_size()
    return True


def cleanup():
    if active():
        dist.destroy_process_group()


@contextmanager
def main_first():
    """Rank 0 runs the block first, the others after it: files it caches (a trained tokenizer) are
    then read by the others instead of being written by every rank at once."""
    if not is_main():
        dist.barrier()
    yield
    if is_main() and active():
        dist.barrier()


def agree(value):
    """Rank 0's ``value`` on every rank (a stop decision): ranks that leave the loop at different
    epochs would wait for each other's gradients until the timeout."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_sum(values, device):
    """Sum of a few per-rank numbers over the ranks, as floats."""
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    if active():
        dist.all_reduce(tensor)
    return tensor.tolist()


def shard(items, rank, world):
    """This rank's share of ``items``: every ``world``-th, from ``rank``. Each rank gets the same count
    (DDP steps in lockstep), the short ranks one item from the start again, so nothing is dropped."""
    if world <= 1:
        return list(items)
    per_rank = -(-len(items) // world)
    padded = list(items) + list(items[: per_rank * world - len(items)])
    return padded[rank::world]


def wrap(module, config):
    """``module`` under DistributedDataParallel when a group is active, else ``module`` itself."""
    if not active() or not any(p.requires_grad for p in module.parameters()):
        return module
    device = config["device"]
    # Buffers here are constants (token tables, masks, rotary tables), equal on every rank: broadcasting
    # them before each step would copy the token tables for nothing (torch 2.13 renamed the switch).
    no_buffer_sync = "forward_sync_buffers" if "forward_sync_buffers" in _DDP_OPTIONS else "broadcast_buffers"
    return _DDP(module, device_ids=[device] if device.type == "cuda" else None, **{no_buffer_sync: False},
                # Off unless asked: every parameter of the plugin's parts gets a gradient each step, and
                # the search for unused ones walks the autograd graph on every step.
                find_unused_parameters=bool(config["ddp_find_unused_parameters"]))


_DDP_OPTIONS = inspect.signature(DistributedDataParallel).parameters


class _DDP(DistributedDataParallel):
    def forward(self, *args, **kwargs):
        try:
            return super().forward(*args, **kwargs)
        except RuntimeError as error:
            if "find_unused_parameters" not in str(error):
                raise
            raise RuntimeError(f"{error}\nrecbole_srt: some parameters get no gradient in a step; "
                               "set ddp_find_unused_parameters: True") from error
