"""The plugin's training loop, for SRT, the plugin's other models and RecBole's sequential models.

Plain torch, no private RecBole method: an optimizer step per ``gradient_accumulation_steps``
batches under autocast (``enable_amp``) and a GradScaler (``enable_scaler``, GPUs), gradient
clipping, the one-cycle schedule, validation every ``eval_step`` epochs with RecBole's metrics,
and callbacks for early stopping, the best checkpoint, logging and the time budget. The step
goes through :class:`TrainingStep`, a module that ``DistributedDataParallel`` can wrap.

Under torchrun (:mod:`recbole_srt.distributed`) every rank trains on its share of the
batches and DDP averages the gradients; rank 0 alone runs the callbacks (logs, validation,
checkpoints, stop decisions) and the other ranks follow its decision to stop.
"""

import math
from contextlib import nullcontext
from logging import getLogger
from time import time

import torch
from recbole.data.interaction import Interaction
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from recbole_srt.checkpoint import load_training_state, load_weights, save_training_state, unique_checkpoint_path
from recbole_srt.data.schema import StepResult
from recbole_srt.logs import progress_lines, progress_log, show_progress
from recbole_srt.model import is_plugin_model
from recbole_srt import distributed
from recbole_srt.training.callbacks import BestCheckpoint, EarlyStopping, LogMetrics, TimeBudget
from recbole_srt.training.tracking import Tracking
from recbole_srt.evaluation.ranking import RankingEvaluation
from recbole_srt.training.ewc import EWC, fisher_path
from recbole_srt.training.optim import build_optimizer, build_scheduler


class TrainingStep(nn.Module):
    """One batch -> :class:`StepResult`; RecBole's models report their rows as targets."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, interaction):
        if is_plugin_model(self.model):
            return self.model.training_step(interaction)
        loss = self.model.calculate_loss(interaction)
        if isinstance(loss, tuple):  # RecBole models may return several losses to be summed
            loss = sum(loss)
        return StepResult(loss, len(interaction), 0)


def to_device(interaction, device):
    """A batch on ``device``; to a GPU through pinned memory, so the copy does not block the host."""
    if device.type != "cuda":
        return interaction.to(device)
    return Interaction({k: v.pin_memory().to(device, non_blocking=True) for k, v in interaction.interaction.items()})


class Trainer:
    def __init__(self, config, model, callbacks=None, epochs=None):
        self.config, self.model = config, model
        self.logger = getLogger()
        self.device = config["device"]
        self.epochs = config["epochs"] if epochs is None else epochs  # a fine-tuning stage has its own
        self.stage_epochs = epochs is not None
        self.eval_step = min(config["eval_step"], self.epochs)  # <= 0: never validate (RecBole's rule)
        self.accumulation = config["gradient_accumulation_steps"] or 1
        self.clip_grad_norm = config["clip_grad_norm"]
        self.valid_metric = config["valid_metric"].lower()
        self.bigger = config["valid_metric_bigger"] is not False
        self.main = distributed.is_main()
        self.progress = show_progress(config) and self.main
        self.progress_lines = progress_lines(config) and self.main  # off a terminal: a line per ~10 % or 60 s
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(config, self.params) if self.params else None
        self.scheduler = None
        # bf16 keeps fp32's range, so it needs no loss scaling; fp16 does (enable_scaler)
        self.amp_dtype = getattr(torch, config["amp_dtype"] or "bfloat16")
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=bool(config["enable_scaler"])
                                           and self.device.type == "cuda")
        if config["torch_compile"] and is_plugin_model(model):
            # In place: parameter names, checkpoints and DDP see the same module.
            model.backbone.compile()
        self.step_module = distributed.wrap(TrainingStep(model), config)
        self.ddp = isinstance(self.step_module, DistributedDataParallel)
        self.evaluation = RankingEvaluation(config)
        # Fine-tuning: the pull towards the pre-trained weights (not part of the logged loss)
        self.ewc = EWC(model, fisher_path(config), config["ewc_lambda"], self.logger) if config["ewc_lambda"] else None
        self.saved_model_file = unique_checkpoint_path(config["checkpoint_dir"], config["model"], config["dataset"])
        self.callbacks = callbacks if callbacks is not None else default_callbacks(config)
        self.start_epoch, self.cur_step = 0, 0
        self.best_valid_score, self.best_valid_result = (-math.inf if self.bigger else math.inf), None
        self._scheduler_state = None  # from resume(), loaded once the schedule is built
        self.validates = False
        self.stopped_by = None  # after fit: "epochs", "early_stopping", "time_budget" or "nothing_to_train"
        self.history = []  # one dict per validation: epoch, seen targets, FLOPs, time, loss, metrics
        self.seen_targets, self.train_flops, self.train_seconds = 0, 0, 0.0

    # ----- training --------------------------------------------------------------------
    def horizon(self, steps_per_epoch):
        """Epochs of this fit: ``epochs``, or more where ``min_train_steps`` asks for more optimizer steps. A
        catalog of a few thousand users takes a few optimizer steps an epoch, and a schedule fixed in epochs would
        anneal to zero long before the model converged. Fine-tuning stages keep the epochs they were given, and
        ``epochs: 0`` (test the starting weights) stays 0."""
        min_steps = self.config["min_train_steps"]
        if not min_steps or self.stage_epochs or not self.epochs or self.epochs * steps_per_epoch >= min_steps:
            return self.epochs
        epochs = math.ceil(min_steps / steps_per_epoch)
        self.logger.info(f"min_train_steps {min_steps}: {epochs} epochs of {steps_per_epoch} steps instead of "
                         f"{self.epochs}")
        return epochs

    def fit(self, train_data, valid_data=None, saved=True):
        self.validates = bool(valid_data) and self.eval_step > 0 and self.main
        callbacks = [c for c in self.callbacks if saved or not isinstance(c, BestCheckpoint)] if self.main else []
        self.evaluation.prepare(train_data)  # training counts (ItemCoverage), mean feedback per item
        if self.optimizer is None:
            self.logger.info(f"{self.config['model']} has no trainable parameters: nothing to train")
            self.stopped_by = "nothing_to_train"
            if saved and self.main:
                self.save_checkpoint(-1)
            return None, None
        steps_per_epoch = math.ceil(len(train_data) / self.accumulation)
        self.epochs = self.horizon(steps_per_epoch)
        world = distributed.world_size()
        if world > 1 or self.accumulation > 1:
            batch = self.config["train_batch_size"]
            self.logger.info(f"global batch = per-rank batch {batch} x world size {world} x "
                             f"gradient_accumulation_steps {self.accumulation} = {batch * world * self.accumulation}")
        self.scheduler = build_scheduler(self.config, self.optimizer, self.epochs * steps_per_epoch)
        if self._scheduler_state is not None and self.scheduler is not None:
            self.scheduler.load_state_dict(self._scheduler_state)
        for callback in callbacks:
            callback.on_fit_start(self)
        self.stopped_by = "epochs"
        for epoch in range(self.start_epoch, self.epochs):
            start = time()
            loss = self.train_epoch(train_data, epoch)
            for callback in callbacks:
                callback.on_epoch_end(self, epoch, loss, time() - start)
            # The last epoch is validated too: a horizon stretched by min_train_steps (53 epochs on ml-100k) need
            # not be a multiple of eval_step, and the annealed end of the schedule is often the best model.
            if self.validates and ((epoch + 1) % self.eval_step == 0 or epoch == self.epochs - 1):
                self.validate(valid_data, epoch, loss, callbacks)
            reason = next((r for r in (c.stop_reason(self, epoch) for c in callbacks) if r), None)
            reason = distributed.agree(reason)  # every rank leaves the loop at rank 0's epoch
            if reason and epoch < self.epochs - 1:
                if self.validates and (not self.history or self.history[-1]["epoch"] != epoch):
                    # The best checkpoint must know the epochs trained since the last validation.
                    self.validate(valid_data, epoch, loss, callbacks)
                self.stopped_by = reason
                break
        for callback in callbacks:
            callback.on_fit_end(self)
        return self.best_valid_score, self.best_valid_result

    def train_epoch(self, train_data, epoch):
        self.model.train()
        batches = tqdm(train_data, total=len(train_data), ncols=100, desc=f"Train {epoch:>5}") \
            if self.progress else progress_log(train_data, f"Train {epoch:>5}") if self.progress_lines else train_data
        # Sums stay on the device until the epoch ends: reading one per step would make the host wait.
        total, targets, flops = torch.zeros((), device=self.device), 0, 0
        start = time()
        for k, interaction in enumerate(batches):
            interaction = to_device(interaction, self.device)
            last_micro_step = (k + 1) % self.accumulation == 0 or k + 1 == len(train_data)
            # DDP averages the gradients across ranks during backward: only before an optimizer step.
            with self.step_module.no_sync() if self.ddp and not last_micro_step else nullcontext():
                with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype,
                                    enabled=bool(self.config["enable_amp"])):
                    step = self.step_module(interaction)
                objective = step.loss + self.ewc.penalty() if self.ewc is not None else step.loss
                self.scaler.scale(objective / self.accumulation).backward()
            if last_micro_step:
                self.optimizer_step()
            total += step.loss.detach()
            targets += step.targets
            flops += step.flops
        self.train_seconds += time() - start
        if self.ddp:
            # Targets and FLOPs of all ranks; the loss as a sum over global batches of their mean over ranks,
            # so that it reads like the loss of one process with the global batch.
            total, targets, flops = distributed.all_sum([float(total), float(targets), float(flops)], self.device)
            total = total / distributed.world_size()
        self.seen_targets += int(targets)
        self.train_flops += int(flops)
        loss = float(total)
        if not math.isfinite(loss):
            raise ValueError(f"training loss is {loss} in epoch {epoch}: lower learning_rate or check the data")
        return loss

    def optimizer_step(self):
        if self.clip_grad_norm:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.params, **self.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.scheduler is not None:
            self.scheduler.step()
        self.cur_step += 1

    def validate(self, valid_data, epoch, train_loss, callbacks):
        start = time()
        result = self.evaluate(valid_data, load_best_model=False)
        score = float(result[self.valid_metric])
        # A tie counts as progress, as in RecBole's early_stopping: the later checkpoint is kept.
        improved = score >= self.best_valid_score if self.bigger else score <= self.best_valid_score
        if improved:
            self.best_valid_score, self.best_valid_result = score, result
        self.history.append({
            "epoch": epoch, "seen_targets": self.seen_targets, "train_flops": self.train_flops,
            "train_seconds": self.train_seconds, "train_loss": train_loss, **{k: float(v) for k, v in result.items()},
        })
        for callback in callbacks:
            callback.on_validation_end(self, epoch, score, result, improved, time() - start)

    # ----- evaluation ------------------------------------------------------------------
    def evaluate(self, eval_data, load_best_model=True, model_file=None):
        if not eval_data:
            return None
        if load_best_model:
            path = model_file or self.saved_model_file
            load_weights(self.model, path, self.device)
            self.logger.info(f"Loading model parameters from {path}")
        progress = (lambda batches, desc: tqdm(batches, total=len(batches), ncols=100, desc=desc)) \
            if self.progress else (lambda batches, desc: batches)
        return self.evaluation(self.model, eval_data, progress)

    # ----- checkpoints -----------------------------------------------------------------
    def save_checkpoint(self, epoch):
        save_training_state(self.saved_model_file, self, epoch)

    def resume(self, path):
        """Continue a run from a checkpoint saved with ``checkpoint_optimizer: True``."""
        # With min_train_steps the run's epochs are known once the data is (fit): not checked here
        state = load_training_state(path, self.device, epochs=None if self.config["min_train_steps"] else self.epochs)
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.start_epoch, self.cur_step = state["epoch"] + 1, state["cur_step"]
        self.best_valid_score = state["best_valid_score"]
        self._scheduler_state = state.get("scheduler")
        # Later checkpoints go to a file of their own: the resumed one stays resumable.
        self.logger.info(f"Resuming from {path} at epoch {self.start_epoch}; checkpoints go to {self.saved_model_file}")


def default_callbacks(config):
    callbacks = [LogMetrics(), EarlyStopping(config["stopping_step"]), BestCheckpoint()]
    if config["tensorboard_dir"] or config["log_wandb"] or config["log_mlflow"]:
        callbacks.append(Tracking(config))
    if config["time_budget"]:
        callbacks.append(TimeBudget(config["time_budget"]))
    return callbacks
