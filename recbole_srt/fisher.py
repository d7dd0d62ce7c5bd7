"""Estimate the diagonal Fisher of a pre-trained model once, for EWC fine-tuning.

    python -m recbole_srt.fisher --model=SRT --dataset=pretrain-beauty --checkpoint=saved/SRT-....pth \\
        [--fisher_windows=1000] [the options the model was trained with]

Writes ``<checkpoint>.fisher.pt``: {"fisher": {name: F}, "anchor": {name: pre-trained weights},
"windows": n, "estimator": ...}; a fine-tuning run with ``init_from: <checkpoint>`` and
``ewc_lambda > 0`` reads it. See ``recbole_srt/training/ewc.py`` for the estimator.
"""

import argparse
import sys

import torch

import recbole_srt  # noqa: F401  (RecBole compatibility shims first)
from recbole_srt.config_check import ConfigError


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", "-m", default="SRT")
    parser.add_argument("--dataset", "-d", default="ml-100k", help="the pre-training dataset")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", default=None, help="default: <checkpoint>.fisher.pt")
    parser.add_argument("--config_files", default=None)
    parser.add_argument("--debug", action="store_true")
    args, properties = parser.parse_known_args(argv)
    from recbole_srt.build import build_run, load_config
    from recbole_srt.training.ewc import estimate_fisher

    try:
        files = [f for f in (args.config_files or "").split(",") if f]
        config = load_config(args.model, args.dataset, config_file_list=files or None,
                             argv=[*properties, f"--init_from={args.checkpoint}", "--state=ERROR"])
        run = build_run(config, evaluates=False)
        fisher, used = estimate_fisher(run.model, run.train_data, config["fisher_windows"])
    except (ConfigError, FileNotFoundError, ValueError) as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or f"{args.checkpoint}.fisher.pt"
    anchor = {name: p.detach().cpu() for name, p in run.model.named_parameters() if name in fisher}
    torch.save({"fisher": {k: v.cpu() for k, v in fisher.items()}, "anchor": anchor, "windows": used,
                "checkpoint": args.checkpoint, "dataset": args.dataset,
                "estimator": "mean over windows of the squared gradient of the window's summed training loss "
                             "(empirical Fisher, observed targets, dropout off)"}, out)
    total = sum(float(v.sum()) for v in fisher.values())
    print(f"Fisher of {len(fisher)} tensors from {used} windows of {args.dataset} (sum {total:.4g}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
