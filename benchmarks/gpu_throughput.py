"""SRT training throughput and model-FLOPs utilisation on a GPU (bf16 autocast, fp32 weights).

    python benchmarks/gpu_throughput.py [--sizes L24-H4-D256,L8-H8-D1024] [--dataset ml-100k]
                                        [--batch 128] [--negatives 1000] [--quick] [--allow-cpu]

For each size: one warm-up epoch, then one timed epoch of SRT on all positions (the paper's loss,
K negatives), synchronised before and after. Reports seconds per epoch, training targets (tokens)
per second, FLOPs per second from the model's own count (recbole_srt/scaling/flops.py: forward and
backward, attention included), MFU against the device's dense bf16 peak from its spec sheet and
against a bf16 matmul measured in the same process, and the host-device synchronisations of one
step (torch.cuda sync debug mode). The paper's authors report 262 s per epoch at 100K interactions
for their 24-layer model on one 16 GB GPU; ml-100k has 100K interactions.

On a machine without CUDA the benchmark writes that it skipped (``--allow-cpu`` runs it on the CPU,
with ``--quick`` for a small size: a check of the script, not a GPU figure). Writes
benchmarks/results/gpu_throughput.json and .md (``--quick``: gpu_throughput-quick.*).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import recbole_srt  # noqa: E402,F401  (compatibility shims first)
import torch  # noqa: E402

from recbole_srt.build import build_run, load_config  # noqa: E402
from recbole_srt.scaling.presets import parameter_counts  # noqa: E402

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' spec sheets, FLOP/s.
BF16_PEAK = {"H200": 989e12, "H100 SXM": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
             "L40S": 362e12, "L4": 121e12, "A10G": 70e12, "A10": 125e12, "V100": 0.0, "T4": 0.0}
AUTHORS_SECONDS_PER_EPOCH = 262.0


def spec_peak(name):
    for key, value in BF16_PEAK.items():
        if key in name:
            return value or None  # V100 / T4: no bf16 tensor cores
    return None


def matmul_rate(device, dtype, n=8192, seconds=2.0):
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    sync(device)
    return 2 * n ** 3 * count / (time.perf_counter() - start)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def syncs_in_one_step(trainer, batch):
    """Host-device synchronisations of one training step (CUDA only): each is a stall of the GPU queue."""
    if trainer.device.type != "cuda":
        return None
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer.train_epoch([batch], 0)
            sync(trainer.device)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def measure(size, args, device, workdir):
    config = load_config("SRT", args.dataset, config_dict={
        "preset": size, "enable_amp": True, "amp_dtype": "bfloat16", "train_batch_size": args.batch,
        "num_negatives": args.negatives, "use_gpu": device.type == "cuda", "show_progress": False,
        "state": "ERROR", "log_dir": None, "checkpoint_dir": workdir, "tokenizer_dir": os.path.join(ROOT, "saved", "tokenizers"),
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"}})
    run = build_run(config)
    trainer, train = run.trainer, run.train_data
    trainer.train_epoch(train, 0)  # warm-up: allocator, kernels, lazy initialisation
    sync(device)
    targets, flops = trainer.seen_targets, trainer.train_flops
    start = time.perf_counter()
    trainer.train_epoch(train, 1)
    sync(device)
    seconds = time.perf_counter() - start
    targets, flops = trainer.seen_targets - targets, trainer.train_flops - flops
    syncs = syncs_in_one_step(trainer, next(iter(train)))
    counts = parameter_counts(run.model)
    peak_memory = torch.cuda.max_memory_allocated(device) / 2 ** 30 if device.type == "cuda" else None
    return {"size": size, "seconds_per_epoch": seconds, "targets_per_second": targets / seconds,
            "flops_per_second": flops / seconds, "train_flops_per_epoch": flops, "targets_per_epoch": targets,
            "parameters": counts["total"], "non_embedding_parameters": counts["non_embedding"],
            "syncs_per_step": syncs, "peak_memory_gib": peak_memory}


def markdown(result):
    if result.get("skipped"):
        return f"# GPU throughput\n\nSkipped: {result['skipped']} ({result['machine']}, {result['date']}).\n"
    lines = [f"# GPU throughput: SRT, bf16 autocast ({result['device']}, {result['date']})", "",
             f"`{result['command']}`; {result['dataset']}, batch {result['batch']} windows, K = {result['negatives']}; "
             f"spec bf16 peak {result['spec_peak_tflops'] or 'unknown'} TFLOP/s, measured bf16 matmul "
             f"{result['matmul_tflops']:.1f} TFLOP/s.", "",
             "| size | non-emb. params | s / epoch | targets / s | TFLOP/s | MFU (spec) | MFU (matmul) | "
             "× authors' 262 s | syncs / step | peak GiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        spec = f"{r['mfu_spec']:.1%}" if r.get("mfu_spec") is not None else ""
        memory = f"{r['peak_memory_gib']:.1f}" if r["peak_memory_gib"] is not None else ""
        lines.append(f"| {r['size']} | {r['non_embedding_parameters']:,} | {r['seconds_per_epoch']:.1f} | "
                     f"{r['targets_per_second']:,.0f} | {r['flops_per_second'] / 1e12:.2f} | {spec} | "
                     f"{r['mfu_matmul']:.1%} | {AUTHORS_SECONDS_PER_EPOCH / r['seconds_per_epoch']:.1f} | "
                     f"{'' if r['syncs_per_step'] is None else r['syncs_per_step']} | {memory} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="L24-H4-D256,L8-H8-D1024")
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--negatives", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="one small size (L2-H2-D64)")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU when there is no GPU")
    args = parser.parse_args(argv)
    out = os.path.join(ROOT, "benchmarks", "results", "gpu_throughput-quick" if args.quick else "gpu_throughput")
    base = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
            f"torch {torch.__version__}", "command": "python benchmarks/gpu_throughput.py " + " ".join(argv or sys.argv[1:])}
    if not torch.cuda.is_available() and not args.allow_cpu:
        result = {**base, "skipped": "no CUDA device (torch.cuda.is_available() is False)"}
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        peak = spec_peak(name) if device.type == "cuda" else None
        rate = matmul_rate(device, torch.bfloat16, n=8192 if device.type == "cuda" else 1024)
        rows = []
        with tempfile.TemporaryDirectory() as workdir:
            for size in (["L2-H2-D64"] if args.quick else args.sizes.split(",")):
                row = measure(size, args, device, workdir)
                row["mfu_spec"] = row["flops_per_second"] / peak if peak else None
                row["mfu_matmul"] = row["flops_per_second"] / rate
                rows.append(row)
                print(json.dumps(row))
        result = {**base, "device": name, "dataset": args.dataset, "batch": args.batch, "negatives": args.negatives,
                  "spec_peak_tflops": peak / 1e12 if peak else None, "matmul_tflops": rate / 1e12, "rows": rows}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    text = markdown(result)
    with open(out + ".md", "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
