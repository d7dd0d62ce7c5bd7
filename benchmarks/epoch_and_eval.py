"""Seconds per training epoch and per evaluation on ml-100k, in one process.

    python benchmarks/epoch_and_eval.py [--epochs 2] [--hidden_size 64] [--n_layers 2]

Prints:
- SRT, all positions (windows of MAX_ITEM_LIST_LENGTH), seconds per epoch;
- RecBole's SASRec with CE loss on its augmented rows (one row per prefix), same size;
- one uni10000 evaluation of SRT through the plugin's trainer, one full-ranking evaluation,
  and RecBole's stock sampled path timed on a slice of users and extrapolated.
"""

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from recbole.trainer import Trainer  # noqa: E402

from recbole_srt.build import build_run, load_config  # noqa: E402
from recbole_srt.compat import loader_dataset  # noqa: E402
from recbole_srt.training.trainer import Trainer as PluginTrainer  # noqa: E402


def setup(model, mode, args):
    options = {
        "show_progress": False, "state": "ERROR", "log_dir": None, "hidden_size": args.hidden_size,
        "n_layers": args.n_layers, "n_heads": 2, "inner_size": 4 * args.hidden_size, "MAX_ITEM_LIST_LENGTH": 50,
        "checkpoint_dir": "saved/bench",
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": mode, "group_by": "user"},
    }
    if model == "SASRec":
        options.update({"loss_type": "CE", "train_neg_sample_args": None})
    built = build_run(load_config(model, "ml-100k", config_dict=options))
    return built.config, built.train_data, built.valid_data, built.model, built.trainer


def seconds_per_epoch(trainer, train, epochs):
    trainer.train_epoch(train, 0)  # warm-up epoch (allocator, lazy init) not counted
    start = time.perf_counter()
    for epoch in range(epochs):
        trainer.train_epoch(train, epoch + 1)
    return (time.perf_counter() - start) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--n_layers", type=int, default=2)
    parser.add_argument("--stock_users", type=int, default=20, help="users timed on RecBole's stock sampled path")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {time.strftime('%Y-%m-%d')}")
    print(f"size: hidden {args.hidden_size}, layers {args.n_layers}, heads 2, MAX_ITEM_LIST_LENGTH 50")

    config, train, valid, srt, trainer = setup("SRT", "uni10000", args)
    srt_epoch = seconds_per_epoch(trainer, train, args.epochs)
    print(f"SRT all positions: {srt_epoch:.2f} s/epoch ({len(train)} batches of {config['train_batch_size']} windows, "
          f"{train.n_targets} targets, K={config['num_negatives']})")

    start = time.perf_counter()
    trainer.evaluate(valid, load_best_model=False)
    sampled = time.perf_counter() - start
    print(f"SRT uni10000 evaluation (plugin trainer): {sampled:.2f} s for {len(valid)} users")

    stock = Trainer(config, srt)
    stock.tot_item_num = loader_dataset(valid).item_num
    srt.eval()
    start, users = time.perf_counter(), 0
    with torch.no_grad():
        for batch in valid:
            stock._neg_sample_batch_eval(batch)
            users += 1
            if users == args.stock_users:
                break
    per_user = (time.perf_counter() - start) / users
    print(f"SRT uni10000 evaluation (RecBole stock path): {per_user:.3f} s/user on {users} users "
          f"-> about {per_user * len(valid) / 60:.1f} min for {len(valid)} users")

    full_config, _, full_valid, _, _ = setup("SRT", "full", args)
    full_trainer = PluginTrainer(full_config, srt)
    start = time.perf_counter()
    full_trainer.evaluate(full_valid, load_best_model=False)
    print(f"SRT full-ranking evaluation: {time.perf_counter() - start:.2f} s")

    config, train, _, sasrec, sasrec_trainer = setup("SASRec", "uni10000", args)
    sasrec_epoch = seconds_per_epoch(sasrec_trainer, train, max(1, args.epochs // 2))
    print(f"SASRec CE, augmented rows: {sasrec_epoch:.2f} s/epoch ({len(train)} batches of "
          f"{config['train_batch_size']} rows, {len(loader_dataset(train))} rows)")
    print(f"speed-up of an SRT epoch over SASRec-CE: {sasrec_epoch / srt_epoch:.1f}x")


if __name__ == "__main__":
    main()
