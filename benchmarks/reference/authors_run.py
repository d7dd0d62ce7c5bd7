"""Runs inside the authors' environment (their checkout's srt/ and MyRecbole/ on PYTHONPATH, after stubs/):
``train`` one row of their from-scratch recipe, or ``check``: score files through their trainer's evaluation.

    python authors_run.py train --dataset amazon-beauty --negatives 1000 --epochs 50 --seed 2020 --device cpu
        --recipe confs/fine_tune/from_scratch.json --out result.json [--scores scores.npz]
    python authors_run.py check --dataset amazon-beauty --recipe ... --out check.json --files a.npz b.npz

Their code is called as it is: ``get_from_scratch_config_dict`` builds the config and ``run_experiment`` trains
and tests, as their ``from_scratch`` does; the only keys set on top are K (``nce_num_negatives``, which their
from-scratch config fixes at 300), or ``loss_type: CE`` for the full-catalog row, the seed, the device and where
files go. The trainer's epochs and validations are timed by wrapping its methods from outside.
"""

import argparse
import json
import os
import re
import sys
import time


def recipe(path):
    """Their from-scratch JSON; the file has a trailing comma (invalid JSON, which json.load in their
    scripts/fine_tune.py rejects): read leniently."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return json.loads(re.sub(r",\s*([}\]])", r"\1", text))


def config_dict(args, run_name):
    from srt.fine_tune.fine_tune_utils import get_from_scratch_config_dict

    r = recipe(args.recipe)
    epochs = args.epochs or r["epochs"]
    config = get_from_scratch_config_dict(epochs, "reference", r["hidden_size"], r["learning_rate"], r["n_layers"],
                                          run_name, args.dataset, r["train_batch_size"])
    if args.negatives == "ce":
        config["loss_type"] = "CE"
    else:
        config["nce_num_negatives"] = int(args.negatives)
    config.update({"seed": args.seed, "data_path": args.data_path, "checkpoint_dir": os.path.abspath("saved"),
                   "use_gpu": args.device == "cuda", "show_progress": False, "log_wandb": False})
    if args.device == "cpu":
        config["gpu_id"] = ""
    return config, r


def timed(cls, name, bucket):
    original = getattr(cls, name)

    def wrapper(self, *a, **k):
        start = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            bucket.append(time.perf_counter() - start)

    setattr(cls, name, wrapper)


def metrics_of(path):
    out = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r["kind"] == "metric":
                    out.setdefault(r["key"], []).append((r["step"], r["value"]))
    return out


def train(args):
    import torch
    from recbole.trainer import trainer as trainer_module
    from srt.fine_tune.fine_tune_utils import run_experiment

    torch.set_num_threads(args.threads) if args.threads else None
    os.environ["REFERENCE_METRICS"] = os.path.abspath("metrics.jsonl")
    if os.path.exists("metrics.jsonl"):
        os.remove("metrics.jsonl")
    config, r = config_dict(args, run_name=f"{args.dataset}-{args.negatives}-{args.seed}")
    train_s, valid_s = [], []
    timed(trainer_module.Trainer, "_train_epoch", train_s)
    timed(trainer_module.Trainer, "_valid_epoch", valid_s)
    start = time.perf_counter()
    trainer = run_experiment("SASRecF2", args.dataset, config, os.path.abspath("best.pth"))
    wall = time.perf_counter() - start
    m = metrics_of("metrics.jsonl")
    valid = [v for _, v in sorted(m.get("valid/ndcg_at_5", []))]
    best = max(range(len(valid)), key=valid.__getitem__) if valid else -1
    model = trainer.model
    result = {
        "test": {"ndcg@5": m["test/ndcg_at_5"][-1][1], "hit@5": m["test/hit_at_5"][-1][1]},
        "valid_ndcg@5": valid[best] if valid else None, "valid_hit@5_at_best": (
            [v for _, v in sorted(m.get("valid/hit_at_5", []))][best] if valid else None),
        "valid_ndcg@5_by_epoch": [round(v, 4) for v in valid],
        "epochs_run": len(train_s), "epochs_to_best": best + 1,
        "seconds_per_epoch": round(sum(train_s) / max(1, len(train_s)), 2),
        "validation_seconds_per_epoch": round(sum(valid_s) / max(1, len(valid_s)), 2),
        "train_seconds": round(sum(train_s), 1), "wall_seconds": round(wall, 1),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "device": str(config["device"]) if "device" in config else args.device, "torch": torch.__version__,
        "settings": {k: trainer.config[k] for k in (
            "loss_type", "nce_num_negatives", "nce_sampling_strategy", "nce_global_negatives", "learning_rate",
            "train_batch_size", "epochs", "stopping_step", "hidden_size", "inner_size", "n_layers", "n_heads",
            "hidden_dropout_prob", "attn_dropout_prob", "MAX_ITEM_LIST_LENGTH", "weight_decay", "scheduler",
            "selected_features", "eval_batch_size", "seed") if trainer.config[k] is not None},
    }
    if args.scores:
        result["scores_file"] = dump_scores(trainer, config, args.scores)
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, default=str)
    os.replace(args.out + ".tmp", args.out)


def build_data(config):
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import init_seed
    from srt.fine_tune.fine_tune_utils import config_file_list

    config = Config(model="SASRecF2", dataset=config["dataset"], config_file_list=config_file_list,
                    config_dict=config)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    return config, dataset, data_preparation(config, dataset)


def dump_scores(trainer, config, path):
    """The best checkpoint's scores of every test user over the whole catalog, by raw user and item token."""
    import numpy as np
    import torch

    _, dataset, (_, _, test_data) = build_data(dict(config, mlflow={"enable": False}))
    trainer.model.eval()
    users, rows = [], []
    with torch.no_grad():
        for interaction, _, _, _ in test_data:
            interaction = interaction.to(trainer.device)
            rows.append(trainer.model.full_sort_predict(interaction).float().cpu().numpy())
            users.append(interaction["user_id"].cpu().numpy())
    users = np.concatenate(users)
    np.savez(path, users=dataset.field2id_token["user_id"][users].astype(str),
             items=dataset.field2id_token["item_id"].astype(str), scores=np.concatenate(rows).astype(np.float32))
    return path


def check(args):
    """Their Trainer.evaluate on each score file, through a model that returns the file's rows."""
    from recbole.trainer.trainer import Trainer
    from score_file import FileScores  # beside this script, on its sys.path

    config, _ = config_dict(args, run_name="check")
    config["mlflow"] = {"enable": False}
    config, dataset, (_, _, test_data) = build_data(config)
    user_tokens = dataset.field2id_token["user_id"]
    item_tokens = dataset.field2id_token["item_id"]
    out = {}
    for path in args.files:
        model = FileScores(path, user_tokens, item_tokens, "user_id")
        trainer = Trainer(config, model)
        result = trainer.evaluate(test_data, phase="test", load_best_model=False)
        out[os.path.basename(path)] = {"ndcg@5": float(result["ndcg@5"]), "hit@5": float(result["hit@5"]),
                                       "users": len(model.seen), "catalog": int(dataset.item_num)}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("train", "check"))
    p.add_argument("--dataset", required=True)
    p.add_argument("--data_path", required=True)
    p.add_argument("--recipe", required=True)
    p.add_argument("--negatives", default="300")
    p.add_argument("--epochs", type=int, default=0)
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--scores", default="")
    p.add_argument("--out", required=True)
    p.add_argument("--files", nargs="+", default=[])
    args = p.parse_args(argv)
    (train if args.mode == "train" else check)(args)


if __name__ == "__main__":
    sys.exit(main())
