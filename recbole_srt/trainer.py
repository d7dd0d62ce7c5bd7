"""Trainer for every sequential model run through the plugin (SRT and RecBole's built-ins).

On top of RecBole's Trainer: sampled evaluation that encodes each sequence once instead of
once per candidate, the one-cycle schedule of the paper, checkpoints that load with
``weights_only=True``, and a per-evaluation history for scaling studies.
"""

import math
import os
from time import time

import numpy as np
import torch
from recbole.trainer import Trainer
from recbole.utils import EvaluatorType, get_local_time, set_color
from torch.nn.utils import clip_grad_norm_
from tqdm import tqdm

from recbole_srt.checkpoint import load_checkpoint, save_checkpoint


def one_cycle(optimizer, total_steps, warmup_ratio):
    """Linear warm-up over ``warmup_ratio`` of the steps, then cosine decay to zero."""
    warmup = max(1, int(round(total_steps * warmup_ratio)))

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class _TimeBudgetSpent(Exception):
    pass


class SequentialTrainer(Trainer):
    def __init__(self, config, model):
        super().__init__(config, model)
        self.scheduler = None
        self.time_budget = config["time_budget"]
        self.saved_model_file = unique_checkpoint_path(self.checkpoint_dir, config["model"])
        self.stopped_by = None  # after fit: "epochs", "early_stopping" or "time_budget"
        self.history = []  # one dict per evaluation: epoch, seen targets, time, loss, metrics
        self.seen_targets = 0
        self.train_flops = 0  # analytic, for models that report step_flops() (SRT)
        self.train_seconds = 0.0
        self._last_loss = None
        self._epoch = -1

    # ----- training --------------------------------------------------------------------
    def fit(self, train_data, valid_data=None, verbose=True, saved=True, show_progress=False, callback_fn=None):
        if self.config["lr_scheduler"] == "one_cycle":
            self.scheduler = one_cycle(self.optimizer, self.epochs * len(train_data), self.config["warmup_ratio"])
        elif self.config["lr_scheduler"] not in (None, "none"):
            raise ValueError(f"lr_scheduler must be 'one_cycle' or none, got {self.config['lr_scheduler']!r}")
        self._fit_start = time()
        try:
            result = super().fit(train_data, valid_data, verbose, saved, show_progress, callback_fn)
        except _TimeBudgetSpent:
            self.stopped_by = "time_budget"
            self.logger.info(f"time_budget of {self.time_budget} s spent after epoch {self._epoch}: training stops")
            return self.best_valid_score, self.best_valid_result
        # _epoch stays -1 when a resumed run had no epoch left to train
        self.stopped_by = "early_stopping" if 0 <= self._epoch < self.epochs - 1 else "epochs"
        return result

    def _train_epoch(self, train_data, epoch_idx, loss_func=None, show_progress=False):
        # Checked between epochs so that the best checkpoint so far is complete and kept.
        if self.time_budget and self._epoch >= 0 and time() - self._fit_start >= self.time_budget:
            raise _TimeBudgetSpent()
        self.model.train()
        self._epoch = epoch_idx
        loss_func = loss_func or self.model.calculate_loss
        batches = tqdm(train_data, total=len(train_data), ncols=100,
                       desc=set_color(f"Train {epoch_idx:>5}", "pink")) if show_progress else train_data
        total, start = 0.0, time()
        for interaction in batches:
            interaction = interaction.to(self.device)
            self.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=self.device.type, enabled=self.enable_amp):
                loss = loss_func(interaction)
            self._check_nan(loss)
            loss.backward()
            if self.clip_grad_norm:
                clip_grad_norm_(self.model.parameters(), **self.clip_grad_norm)
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            total += loss.item()
            self.seen_targets += count_targets(self.model, interaction)
            if hasattr(self.model, "step_flops"):
                self.train_flops += self.model.step_flops()
        self.train_seconds += time() - start
        self._last_loss = total
        return total

    def _valid_epoch(self, valid_data, show_progress=False):
        valid_score, valid_result = super()._valid_epoch(valid_data, show_progress)
        self.history.append({
            "epoch": self._epoch, "seen_targets": self.seen_targets, "train_flops": self.train_flops,
            "train_seconds": self.train_seconds, "train_loss": self._last_loss, **{k: float(v) for k, v in valid_result.items()},
        })
        return valid_score, valid_result

    # ----- checkpoints -----------------------------------------------------------------
    def _save_checkpoint(self, epoch, verbose=True, **kwargs):
        path = kwargs.pop("saved_model_file", self.saved_model_file)
        state = {
            "epoch": epoch, "cur_step": self.cur_step, "best_valid_score": float(self.best_valid_score),
            "state_dict": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
        }
        save_checkpoint(path, state, self.config)
        if verbose:
            self.logger.info(set_color("Saving current", "blue") + f": {path}")

    def resume_checkpoint(self, resume_file):
        state, _ = load_checkpoint(str(resume_file), self.device)
        self.saved_model_file = str(resume_file)
        self.start_epoch = state["epoch"] + 1
        self.cur_step = state["cur_step"]
        self.best_valid_score = state["best_valid_score"]
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.logger.info(f"Checkpoint loaded. Resume training from epoch {self.start_epoch}")

    @torch.no_grad()
    def evaluate(self, eval_data, load_best_model=True, model_file=None, show_progress=False):
        if not eval_data:
            return None
        if load_best_model:
            path = model_file or self.saved_model_file
            state, _ = load_checkpoint(path, self.device)
            self.model.load_state_dict(state["state_dict"])
            self.logger.info(f"Loading model structure and parameters from {path}")
        return super().evaluate(eval_data, load_best_model=False, show_progress=show_progress)

    # ----- fast sampled evaluation -----------------------------------------------------
    def _neg_sample_batch_eval(self, batched_data):
        """Score the candidates of each distinct history with one sequence encoding.

        RecBole's loader repeats a user's row once per candidate (10,001 rows for uni10000)
        and the stock path runs the transformer on every copy. Scores, and so metrics, are
        those of the stock path.
        """
        interaction, row_idx, positive_u, positive_i = batched_data
        if self.config["eval_type"] != EvaluatorType.RANKING:
            return super()._neg_sample_batch_eval(batched_data)
        model = self.model
        interaction = interaction.to(self.device)
        key_fields = [model.ITEM_SEQ, model.ITEM_SEQ_LEN] + ([model.USER_ID] if hasattr(model, "USER_ID") and model.USER_ID in interaction else [])
        key = torch.cat([interaction[f].reshape(len(interaction), -1) for f in key_fields], dim=1)
        first, inverse = unique_rows(key)
        histories = interaction[first]
        items = interaction[self.config["ITEM_ID_FIELD"]]
        if hasattr(model, "score_candidates"):
            seq_output = model(histories[model.ITEM_SEQ], histories[model.ITEM_SEQ_LEN])
            origin_scores = model.score_candidates(seq_output[inverse], items)
        else:
            try:
                origin_scores = model.full_sort_predict(histories)[inverse, items]
            except NotImplementedError:
                return super()._neg_sample_batch_eval(batched_data)
        scores = torch.full((int(positive_u[-1]) + 1, self.tot_item_num), -np.inf, device=self.device)
        scores[row_idx.to(self.device), items] = origin_scores
        return interaction, scores, positive_u, positive_i


_claimed_paths = set()


def unique_checkpoint_path(folder, model):
    """RecBole names checkpoints <model>-<time to the second>.pth: two runs started in the same second (parallel
    processes, or quick runs in one process) overwrite each other's best model and test the wrong one."""
    stem = os.path.join(folder, f"{model}-{get_local_time()}-{os.getpid()}")
    path, n = stem + ".pth", 1
    while path in _claimed_paths or os.path.exists(path):
        n += 1
        path = f"{stem}-{n}.pth"
    _claimed_paths.add(path)
    return path


def count_targets(model, interaction):
    """Targets (seen interactions) in a training batch, for the scaling study's T."""
    target_field = getattr(model, "TARGET_SEQ", None)
    if target_field and target_field in interaction:
        return int((interaction[target_field] > 0).sum())
    return len(interaction)


def unique_rows(key):
    """(index of the first occurrence of each distinct row, row -> distinct index).

    ``torch.unique(dim=0)`` sorts whole rows and costs ~20 ms per user at 10,001 rows;
    a random 64-bit projection reduces rows to scalars first. Collisions are checked
    and fall back to the exact method.
    """
    weights = torch.randint(-(2**62), 2**62, (key.shape[1],), generator=_HASH_GENERATOR).to(key.device)
    hashes = (key * weights).sum(1)  # wraps modulo 2**64: a universal hash of the row
    unique, inverse = torch.unique(hashes, return_inverse=True)
    rows = torch.arange(len(key), device=key.device)
    first = torch.full((len(unique),), len(key), device=key.device).scatter_reduce(0, inverse, rows, "amin")
    if not torch.equal(key[first][inverse], key):
        unique, inverse = torch.unique(key, dim=0, return_inverse=True)
        first = torch.full((len(unique),), len(key), device=key.device).scatter_reduce(0, inverse, rows, "amin")
    return first, inverse


_HASH_GENERATOR = torch.Generator().manual_seed(0x5EED)
