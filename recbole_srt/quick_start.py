"""The plugin's driver: train and test one model, write the results as JSON.

RecBole's own quick_start imports ray, which fails on numpy 2, and builds runs its own way;
this one goes through :func:`recbole_srt.build.build_run`.
"""

import json
import math
import os
from logging import getLogger

import torch

import recbole_srt.compat  # noqa: F401  (before recbole)
from recbole.utils import dict2str, get_local_time, set_color

from recbole_srt.build import build_run, eval_loader, load_config
from recbole_srt.compat import loader_dataset, loader_sampler
from recbole_srt.checkpoint import config_dict as resolved_config, jsonable, tokenizer_of
from recbole_srt.logs import FILE_ONLY, init_logging
from recbole_srt.training.tracking import run_tracking
from recbole_srt.results import write_results
from recbole_srt.model.sizes import parameter_counts
from recbole_srt import distributed


def plain(result):
    """RecBole's metric dict with plain floats: ``{'ndcg@5': 0.0345, ...}``."""
    return {name: float(value) for name, value in (result or {}).items()}


def fit_in_stages(run, saved=True):
    """Progressive unfreezing (training/unfreezing.py): one trainer per stage, each starting from the
    previous stage's best weights. Returns (trainer of the best stage, its score and result, stage records)."""
    from recbole_srt.checkpoint import load_weights
    from recbole_srt.training.trainer import Trainer
    from recbole_srt.training.unfreezing import set_trainable, stages

    logger, best, records, history, offset = getLogger(), None, [], [], 0
    for name, top, item_encoder, epochs in stages(run.model, run.config):
        set_trainable(run.model, top, item_encoder)
        trainer = Trainer(run.config, run.model, epochs=epochs)
        trainable = sum(p.numel() for p in run.model.parameters() if p.requires_grad)
        logger.info(f"fine-tuning stage '{name}': {trainable:,} trainable parameters, up to {epochs} epochs")
        score, result = trainer.fit(run.train_data, run.valid_data, saved=saved)
        history += [{**h, "epoch": h["epoch"] + offset, "stage": name} for h in trainer.history]
        offset += trainer.history[-1]["epoch"] + 1 if trainer.history else epochs
        records.append({"stage": name, "trainable_parameters": trainable, "best_valid_score": score,
                        "stopped_by": trainer.stopped_by, "checkpoint": trainer.saved_model_file if saved else None})
        better = best is None or (score is not None and (score > best[1] if trainer.bigger else score < best[1]))
        if better:
            best = (trainer, score, result)
        if saved and distributed.is_main() and score is not None:
            load_weights(run.model, trainer.saved_model_file, trainer.device)  # the next stage starts here
    set_trainable(run.model, None)
    best[0].history = history
    return best[0], best[1], best[2], records


def train_and_test(run, saved=True):
    """Fit, test the best checkpoint, and return the result dict (also written as JSON);
    None on the ranks other than 0 under torchrun: rank 0 tests and writes alone."""
    config, trainer, logger = run.config, run.trainer, getLogger()
    stage_records = None
    if config["epochs"] == 0:
        # Zero-shot: test the weights as they are (init_from: a model pre-trained elsewhere)
        if not config["init_from"]:
            logger.warning("epochs: 0 without init_from tests an untrained model")
        saved = False
        best_valid_result = trainer.evaluate(run.valid_data, load_best_model=False) if distributed.is_main() else None
        best_valid_score = float(best_valid_result[trainer.valid_metric]) if best_valid_result else None
        trainer.stopped_by = "zero_shot"
    elif config["unfreeze_stage_epochs"]:
        trainer, best_valid_score, best_valid_result, stage_records = fit_in_stages(run, saved)
    else:
        best_valid_score, best_valid_result = trainer.fit(run.train_data, run.valid_data, saved=saved)
    if not distributed.is_main():
        return None
    test_result = trainer.evaluate(run.test_data, load_best_model=saved)
    test_ranks = held_out_ranks(run, trainer) if config["test_ranks"] else None
    logger.info(set_color("best valid ", "yellow") + f": {dict2str(plain(best_valid_result))}")
    logger.info(set_color("test result", "yellow") + f": {dict2str(plain(test_result))}")
    by_item_group = test_by_item_group(run, trainer)
    for group, (rows, group_result) in by_item_group.items():
        logger.info(set_color(f"test result, {group} items ({rows} users)", "yellow")
                    + f": {dict2str(plain(group_result))}")
    counts = parameter_counts(run.model)
    result = {
        "model": config["model"],
        "dataset": config["dataset"],
        # None when nothing was validated (RecBole's initial -inf is not valid JSON)
        "best_valid_score": float(best_valid_score) if best_valid_score is not None and math.isfinite(best_valid_score) else None,
        "best_valid_result": plain(best_valid_result),
        "test_result": plain(test_result),
        **{f"test_result_{group}": plain(group_result) for group, (_, group_result) in by_item_group.items()},
        **{f"test_users_{group}": rows for group, (rows, _) in by_item_group.items()},
        **({"test_ranks": test_ranks} if test_ranks is not None else {}),
        "parameters": counts["total"],
        "non_embedding_parameters": counts["non_embedding"],
        "history": trainer.history,
        "stopped_by": trainer.stopped_by,
        "stages": stage_records,
        "notes": run.notes,
        "checkpoint": trainer.saved_model_file if saved else None,
        "tokenizer": tokenizer_of(run.model),
        "config": resolved_config(config),
    }
    # A new file per run, never over another run's (recbole_srt/results.py)
    result["results_file"] = write_results(config, jsonable(result))
    return result


def held_out_ranks(run, trainer):
    """``test_ranks``: {"user": tokens, "item": tokens, "rank": ints} of the test just run, one entry per held-out
    interaction, in user order, and with ``cold_start_items`` "cold": whether each held-out item was withheld from
    training; None (with a note) where the model is evaluated by a trainer of its own."""
    ranks = getattr(getattr(trainer, "evaluation", None), "ranks", None)
    if ranks is None:
        run.notes.append("test_ranks: this model's test was not ranked by the plugin's evaluation; no ranks written")
        return None
    dataset = loader_dataset(run.test_data)
    users, items, rank = ranks
    order = torch.argsort(users, stable=True)
    cold = getattr(dataset, "cold_items", None)
    return {"user": [str(t) for t in dataset.id2token(dataset.uid_field, users[order].numpy())],
            "item": [str(t) for t in dataset.id2token(dataset.iid_field, items[order].numpy())],
            "rank": rank[order].tolist(), **({"cold": cold[items[order]].tolist()} if cold is not None else {})}


def test_by_item_group(run, trainer):
    """``cold_start_items``: {"cold" | "warm": (test users, metrics)} of the test users whose held-out item
    was withheld from training (scored from its text alone) or not; {} otherwise."""
    dataset = loader_dataset(run.test_data)
    cold = getattr(dataset, "cold_items", None)
    if cold is None:
        return {}
    is_cold = cold[dataset.inter_feat[dataset.iid_field]]
    groups = {}
    for group, rows in (("cold", is_cold), ("warm", ~is_cold)):
        if rows.any():
            subset = dataset.copy(dataset.inter_feat[rows])
            loader = eval_loader(run.config, "test", subset, loader_sampler(run.test_data))
            groups[group] = (int(rows.sum()), trainer.evaluate(loader, load_best_model=False))
    return groups


def run(model=None, dataset=None, config_file_list=None, config_dict=None, argv=(), saved=True, verbose=False,
        callbacks=()):
    """Train and test one model; returns the result dict that is also written as JSON
    (None on the ranks other than 0 under torchrun). ``verbose``: the config and model dumps on the console
    too (else in the log file only); ``callbacks``: more training callbacks (e.g. a search's pruning)."""
    config = load_config(model, dataset, config_file_list, config_dict, argv)
    distributed.setup(config)
    try:
        init_logging(config, main=distributed.is_main(), verbose=verbose)
        getLogger().info(config, extra=FILE_ONLY)
        with run_tracking(config, enabled=distributed.is_main()) as tracker:
            built = build_run(config)
            if callbacks and hasattr(built.trainer, "callbacks"):
                built.trainer.callbacks += list(callbacks)
            result = train_and_test(built, saved)
            if tracker is not None and result is not None:
                tracker.summary({f"test/{name}": value for name, value in result["test_result"].items()})
            return result
    finally:
        # Also when this rank raises: leaving the group fails the others' next collective at once
        # (gloo) instead of at ddp_timeout, and torchrun stops the remaining ranks when one exits non-zero.
        distributed.cleanup()
