"""Optimizers by RecBole's ``learner`` names, and the paper's one-cycle schedule."""

import math

import torch
from recbole_srt.config_check import ConfigError

LEARNERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD,
            "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop}


def check_learner(config):
    learner = str(config["learner"]).lower()
    if learner not in LEARNERS:
        shown = str(config["learner"]) if len(str(config["learner"])) <= 40 else str(config["learner"])[:37] + "..."
        raise ConfigError(f"learner: unknown '{shown}'; choose one of {', '.join(sorted(LEARNERS))}")
    return learner


def build_optimizer(config, params):
    learner = check_learner(config)
    options = {"lr": config["learning_rate"], "weight_decay": config["weight_decay"] or 0.0}
    if learner in ("adam", "adamw") and params and all(p.is_cuda for p in params):
        options["fused"] = True  # one kernel for all parameters instead of several per tensor
    return LEARNERS[learner](params, **options)


def one_cycle(optimizer, total_steps, warmup_ratio):
    """Linear warm-up over ``warmup_ratio`` of the steps, then cosine decay to zero."""
    warmup = max(1, int(round(total_steps * warmup_ratio)))

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_scheduler(config, optimizer, total_steps):
    name = config["lr_scheduler"]
    if name in (None, "none"):
        return None
    if name != "one_cycle":
        raise ConfigError(f"lr_scheduler must be 'one_cycle' or ~ (none), got {name!r}")
    return one_cycle(optimizer, total_steps, config["warmup_ratio"])
