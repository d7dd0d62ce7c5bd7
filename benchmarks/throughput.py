"""SRT training throughput and model-FLOPs utilisation: on a GPU (bf16 autocast, fp32 weights) or on the CPU (float32).

    python benchmarks/throughput.py [--device auto|cuda|cpu] [--sizes S,...] [--batches B,...] [--quick] [--render]
        GPU: [--dataset ml-100k] [--compile off,on] [--negatives 1000] [--epochs N] [--profile DIR] [--out NAME]
        CPU: [--threads 2] [--steps 10] [--label NAME]

GPU (gpu_throughput.json): per size, batch and compile setting, a warm-up epoch then --epochs timed ones: targets
and model FLOPs (recbole_srt/model/flops.py) per second, MFU against the card's spec bf16 peak and a bf16 matmul
measured here, host-device syncs per step, and one full step repeated (the loop's steady rate); a command's rows
replace the file's rows of the same size, batch and compile setting, and another card, dataset or K needs its own
--out. The paper's authors report 262 s per epoch on ml-100k (100K interactions) for their 24-layer model on one
16 GB GPU.
CPU (cpu_throughput.json, rows by --label): one full step repeated --steps times, MFU against float32 matmuls of
the step's largest shape and of a 1024³ square, torch.profiler's table of a step beside the results. Run it alone on
an idle machine.
"""

import json
import os
import sys
import tempfile
import time
import warnings

import harness
from harness.speed import matmul_rate, profile_table, steady_step, sync

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' spec sheets, FLOP/s (V100, T4: no bf16 cores).
BF16_PEAK = {"H200": 989e12, "H100 SXM": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
             "L40S": 362e12, "L4": 121e12, "A10G": 70e12, "A10": 125e12, "V100": 0.0, "T4": 0.0}
AUTHORS_SECONDS_PER_EPOCH = 262.0
GRID = ("device", "dataset", "negatives")  # rows of one GPU file compare only under the same of these
RUN = ("date", "machine", "command", "matmul_tflops")  # what each GPU row keeps of the command that measured it


def build(args, size, batch, workdir, **options):
    from recbole_srt.build import build_run, load_config

    return build_run(load_config("SRT", args.dataset, config_dict={
        "preset": size, "train_batch_size": batch, "show_progress": False, "state": "ERROR", "log_dir": None,
        "tensorboard_dir": None, "checkpoint_dir": workdir,
        "tokenizer_dir": os.path.join(harness.paths.SAVED, "tokenizers"), **options}))


def largest(run):
    """A full batch of full-length windows, for the per-step figures."""
    return max(iter(run.train_data), key=lambda b: b[run.model.ITEM_SEQ].numel())


def cpu_row(args, size, batch, steps):
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as workdir:
        run = build(args, size, batch, workdir, use_gpu=False, seed=0)
        step = largest(run)
        seconds, step_flops = steady_step(run.trainer, step, steps)
        profile = profile_table(run.trainer, step)
    model, tokens = run.model, step[run.model.ITEM_SEQ].numel()
    # Two references: the step's own largest product, and a 1024^3 square.
    rate, square = matmul_rate(tokens, model.hidden_size, model.backbone.inner_size), matmul_rate(1024, 1024, 1024)
    return {"size": size, "batch": batch, "tokens": tokens, "threads": args.threads, "step_seconds": seconds,
            "step_flops": step_flops, "flops_per_second": step_flops / seconds, "matmul_flops_per_second": rate,
            "mfu": step_flops / seconds / rate, "square_matmul_flops_per_second": square,
            "mfu_square": step_flops / seconds / square}, profile


def syncs_per_step(trainer, batch):
    """Host-device synchronisations of one training step: each stalls the host until the GPU queue drains.
    Epochs of 4 and of 1 step are compared, so the epoch's own closing read is left out."""
    import torch

    counts = []
    for steps in (4, 1):
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                trainer.train_epoch([batch] * steps, 0)
                sync(trainer.device)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        counts.append(sum("synchroniz" in str(w.message) for w in caught))
    return (counts[0] - counts[1]) / 3


def gpu_row(args, size, batch, compiled, device, workdir):
    import torch

    from recbole_srt.model.sizes import parameter_counts

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    run = build(args, size, batch, workdir, torch_compile=compiled, enable_amp=True, amp_dtype="bfloat16",
                num_negatives=args.negatives, use_gpu=True,
                eval_args={"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"})
    trainer, train = run.trainer, run.train_data
    trainer.train_epoch(train, 0)  # warm-up: allocator, kernels, lazy initialisation
    sync(device)
    targets, flops, start = trainer.seen_targets, trainer.train_flops, time.perf_counter()
    for epoch in range(args.epochs):
        trainer.train_epoch(train, 1 + epoch)
    sync(device)
    seconds = (time.perf_counter() - start) / args.epochs
    targets, flops = (trainer.seen_targets - targets) / args.epochs, (trainer.train_flops - flops) / args.epochs
    step = largest(run)
    syncs = syncs_per_step(trainer, step)
    step_seconds, step_flops = steady_step(trainer, step)
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        tag = "-compiled" if compiled else ""
        with open(os.path.join(args.profile, f"profile-{size}-b{batch}{tag}.txt"), "w", encoding="utf-8") as f:
            f.write(profile_table(trainer, step, rows=40))
    counts = parameter_counts(run.model)
    return {"size": size, "batch": batch, "compiled": compiled, "step_seconds": step_seconds,
            "step_flops_per_second": step_flops / step_seconds, "step_tokens": step[run.model.ITEM_SEQ].numel(),
            "seconds_per_epoch": seconds, "targets_per_second": targets / seconds,
            "flops_per_second": flops / seconds, "train_flops_per_epoch": flops, "targets_per_epoch": targets,
            "parameters": counts["total"], "non_embedding_parameters": counts["non_embedding"],
            "syncs_per_step": syncs, "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2 ** 30,
            "max_length": run.config["MAX_ITEM_LIST_LENGTH"]}


def gpu_grid(args, sizes, batches):
    import torch

    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    peak = next((value for key, value in BF16_PEAK.items() if key in name), None) or None
    rate = matmul_rate(8192, 8192, 8192, device, torch.bfloat16, seconds=2.0)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for size, batch, mode in [(s, b, m) for s in sizes for b in batches for m in args.compile.split(",")]:
            row = gpu_row(args, size, batch, mode == "on", device, workdir)
            row["mfu_spec"] = row["flops_per_second"] / peak if peak else None
            row["step_mfu_spec"] = row["step_flops_per_second"] / peak if peak else None
            row["mfu_matmul"] = row["flops_per_second"] / rate
            rows.append(row)
            print(json.dumps(row), flush=True)
    return {"device": name, "dataset": args.dataset, "max_length": rows[0]["max_length"] if rows else None,
            "negatives": args.negatives, "spec_peak_tflops": peak / 1e12 if peak else None,
            "matmul_tflops": rate / 1e12, "rows": rows}


def same_grid(name, args):
    """Stops before any GPU time when results/<name>.json holds another card's, dataset's or K's rows: merged, they
    would read as one grid."""
    import torch

    path = os.path.join(harness.paths.RESULTS, f"{name}.json")
    old = harness.load(path) if os.path.isfile(path) else {}
    here = {"device": torch.cuda.get_device_name(), "dataset": args.dataset, "negatives": args.negatives}
    differs = [k for k in GRID if k in old and old[k] != here[k]]
    if differs:
        raise SystemExit(f"--out: {name}.json holds {', '.join(f'{k} {old[k]}' for k in differs)}, this run "
                         f"{', '.join(f'{k} {here[k]}' for k in differs)}: name another file "
                         f"(--out {name}-<what differs>)")


def gpu_merged(old, new):
    """``old``'s rows with this command's in place of the same size, batch and compile setting: --sizes L8-H8-D1024
    keeps the other sizes. Each row names the command that measured it (older rows: the file's)."""
    key = lambda r: (r["size"], r["batch"], r.get("compiled", False))  # noqa: E731
    return {**new, "rows": harness.stamped_merge(old, new["rows"], key, {k: new[k] for k in RUN})}


def run_line(run):
    return f"`{run['command']}` ({run['date']}); measured bf16 matmul {run['matmul_tflops']:.1f} TFLOP/s."


def gpu_markdown(result):
    runs = harness.runs_of(result, RUN)
    # rows of several commands (some sizes run again): each command is listed, and a column says which measured a row
    header, numbers = harness.runs_section(runs, run_line)
    grid = (f"{result['dataset']}, K = {result['negatives']}, batch in windows of up to {result['max_length']} "
            f"items; spec bf16 peak {result['spec_peak_tflops'] or 'unknown'} TFLOP/s")
    intro = ([f"`{result['command']}`; {grid}, measured bf16 matmul {result['matmul_tflops']:.1f} TFLOP/s."]
             if numbers is None else [f"{grid}. Rows from:", ""] + header)
    lines = [f"# GPU throughput: SRT, bf16 autocast ({result['device']}, {result['date']})", "", *intro, ""]
    percent = lambda key: lambda r: "" if r.get(key) is None else f"{r[key]:.1%}"  # noqa: E731
    # (header, the row key it needs, cell): results of earlier versions lack the later columns, left out
    columns = [("size", "size", lambda r: r["size"]), ("batch", "batch", lambda r: r["batch"]),
               ("compiled", "compiled", lambda r: "yes" if r["compiled"] else "no"),
               ("non-emb. params", "size", lambda r: f"{r['non_embedding_parameters']:,}"),
               ("s / epoch", "size", lambda r: f"{r['seconds_per_epoch']:.1f}"),
               ("targets / s", "size", lambda r: f"{r['targets_per_second']:,.0f}"),
               ("TFLOP/s", "size", lambda r: f"{r['flops_per_second'] / 1e12:.2f}"),
               ("MFU (spec)", "size", percent("mfu_spec")), ("MFU (matmul)", "size", percent("mfu_matmul")),
               ("× authors' 262 s", "size", lambda r: f"{AUTHORS_SECONDS_PER_EPOCH / r['seconds_per_epoch']:.1f}"),
               ("full step ms", "step_seconds", lambda r: f"{r['step_seconds'] * 1e3:.1f}"),
               ("step MFU (spec)", "step_seconds", percent("step_mfu_spec")),
               ("syncs / step", "size", lambda r: "" if r["syncs_per_step"] is None else r["syncs_per_step"]),
               ("peak GiB", "size", lambda r: "" if r["peak_memory_gib"] is None else f"{r['peak_memory_gib']:.1f}")]
    columns = [c for c in columns if any(c[1] in r for r in result["rows"])]
    cells = [[c[2](r) for c in columns] for r in result["rows"]]
    lines += harness.table(*harness.run_column([c[0] for c in columns], cells, numbers))
    hosts = dict.fromkeys(harness.describe(r["machine"]) for r in runs)
    return "\n".join(lines + ["", f"Host: {'; '.join(hosts)}."]) + "\n"


def cpu_markdown(rows, name):
    lines = ["# SRT training step on the CPU: float32 MFU", "",
             "MFU = the model's FLOPs per second (forward + backward, analytic) over a float32 matmul measured "
             "in the same process: of the step's largest shape (tokens x hidden x inner), and a 1024³ square. One full batch "
             "of full-length windows, repeated; warm-up step left out. Profiles: "
             f"`{name}-profile-<label>.txt`.", ""]
    lines += harness.table(["label", "size", "tokens / step", "threads", "s / step", "GFLOP/s",
                            "matmul GFLOP/s (step shape / 1024³)", "MFU (step shape / 1024³)", "load before", "date",
                            "command"],
                           [[r["label"], r["size"], f"{r['tokens']:,}", r["threads"], f"{r['step_seconds']:.3f}",
                             f"{r['flops_per_second'] / 1e9:.1f}", f"{r['matmul_flops_per_second'] / 1e9:.1f} / "
                             f"{r['square_matmul_flops_per_second'] / 1e9:.1f}", f"{r['mfu']:.1%} / {r['mfu_square']:.1%}",
                             f"{r['load_before']:.2f}", r["date"], f"`{r['command']}`"] for r in rows])
    machines = dict.fromkeys(harness.describe(r["machine"]) for r in rows)
    return "\n".join(lines + ["", "Machine: " + "; ".join(machines) + "."]) + "\n"


def pages(results=None):
    return {**harness.rendered(cpu_markdown, ["cpu_throughput", "cpu_throughput-quick"], results, named=True),
            **harness.rendered(gpu_markdown, ["gpu_throughput*"], results)}


def run(args, argv):
    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device (torch.cuda.is_available() is False)")
    sizes = ["L2-H2-D64"] if args.quick else (args.sizes or ("L8-H4-D256" if device == "cpu" else
                                                             "L24-H4-D256,L8-H8-D1024")).split(",")
    batches = [int(b) for b in args.batches.split(",")]
    if device == "cuda":
        name = args.out or ("gpu_throughput-quick" if args.quick else "gpu_throughput")
        if not name.startswith("gpu_throughput"):
            raise SystemExit("--out: a name starting gpu_throughput (its page is rendered from that name)")
        same_grid(name, args)
        result = {**harness.stamp(__file__, argv), **gpu_grid(args, sizes, batches)}
        return {name: lambda old: gpu_merged(old, result)}
    name, load_before = "cpu_throughput-quick" if args.quick else "cpu_throughput", os.getloadavg()[0]
    row, profile = cpu_row(args, sizes[0], batches[0], 3 if args.quick else args.steps)
    row = {"label": args.label, **row, **harness.stamp(__file__, argv), "load_before": load_before}
    with open(os.path.join(harness.paths.RESULTS, f"{name}-profile-{args.label}.txt"), "w", encoding="utf-8") as f:
        f.write(profile)
    print(json.dumps(row), profile, sep="\n")
    return {name: lambda rows: [r for r in rows or [] if r["label"] != args.label] + [row]}


def main(argv=None):
    parser = harness.parser(__doc__, quick="one small size (L2-H2-D64; CPU: 3 steps): a check of the script")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto", help="auto: cuda when there is one")
    parser.add_argument("--sizes", "--size", help="default L24-H4-D256,L8-H8-D1024 (CPU: L8-H4-D256, the first only)")
    parser.add_argument("--batches", "--batch", default="128", help="windows per step, one row each (CPU: the first)")
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--negatives", type=int, default=1000)
    parser.add_argument("--compile", default="off", help="torch_compile: off, on, or off,on (a row each)")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per row (after one warm-up epoch)")
    parser.add_argument("--profile", metavar="DIR", help="write a torch.profiler table of one step per row here")
    parser.add_argument("--out", help="results name under benchmarks/results (default gpu_throughput)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--label", default="current", help="the CPU row's name (e.g. the commit measured)")
    return harness.run(parser, argv, lambda args: run(args, argv), pages)


if __name__ == "__main__":
    sys.exit(main())
