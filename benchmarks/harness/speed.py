"""What the throughput studies share: a matmul's rate (the MFU reference), the steady rate of one repeated
training step, and torch.profiler's table of one step."""

import time


def sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(m, k, n, device=None, dtype=None, seconds=3.0):
    """FLOP/s of an [m, k] x [k, n] product on ``device`` (CPU float32 by default), timed for ``seconds``."""
    import torch

    device = torch.device(device or "cpu")
    a = torch.randn(m, k, device=device, dtype=dtype or torch.float32)
    b = torch.randn(k, n, device=device, dtype=dtype or torch.float32)
    a @ b
    sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    sync(device)
    return 2 * m * k * n * count / (time.perf_counter() - start)


def steady_step(trainer, batch, steps=10):
    """(seconds, model FLOPs) per step of one batch repeated after a warm-up step: the loop's own rate,
    without an epoch's short last batches."""
    trainer.train_epoch([batch], 0)
    sync(trainer.device)
    flops, start = trainer.train_flops, time.perf_counter()
    trainer.train_epoch([batch] * steps, 0)
    sync(trainer.device)
    return (time.perf_counter() - start) / steps, (trainer.train_flops - flops) / steps


def profile_table(trainer, batch, rows=25):
    """torch.profiler's operator table of one training step, by device time (CPU time on a CPU)."""
    import torch

    cuda = trainer.device.type == "cuda"
    activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
    with torch.profiler.profile(activities=activities) as prof:
        trainer.train_epoch([batch], 0)
        sync(trainer.device)
    return prof.key_averages().table(sort_by="cuda_time_total" if cuda else "self_cpu_time_total", row_limit=rows)
