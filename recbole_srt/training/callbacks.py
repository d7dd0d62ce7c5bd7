"""What the training loop does around its steps: each concern a small callback.

The loop calls ``on_epoch_end`` after every epoch, ``on_validation_end`` after every
validation, and asks ``stop_reason`` at every epoch boundary; the first reason stops it.
"""

from logging import getLogger
from time import time

from recbole.utils import dict2str, set_color


class Callback:
    def on_fit_start(self, trainer):
        pass

    def on_epoch_end(self, trainer, epoch, train_loss, seconds):
        pass

    def on_validation_end(self, trainer, epoch, score, result, improved, seconds):
        pass

    def stop_reason(self, trainer, epoch):
        return None

    def on_fit_end(self, trainer):
        pass


class EarlyStopping(Callback):
    """Stop after ``stopping_step`` validations in a row without improvement (RecBole's rule)."""

    def __init__(self, stopping_step):
        self.stopping_step = stopping_step
        self.bad_validations = 0

    def on_fit_start(self, trainer):
        self.bad_validations = 0

    def on_validation_end(self, trainer, epoch, score, result, improved, seconds):
        self.bad_validations = 0 if improved else self.bad_validations + 1

    def stop_reason(self, trainer, epoch):
        if self.stopping_step is not None and self.bad_validations > self.stopping_step:
            return "early_stopping"
        return None


class TimeBudget(Callback):
    """Stop at the first epoch boundary past ``seconds`` of training + validation."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.start = None

    def on_fit_start(self, trainer):
        self.start = time()

    def stop_reason(self, trainer, epoch):
        if time() - self.start >= self.seconds:
            getLogger().info(f"time_budget of {self.seconds} s spent after epoch {epoch}: training stops")
            return "time_budget"
        return None


class BestCheckpoint(Callback):
    """Keep the weights of the best validation (of every epoch when there is no validation data)."""

    def on_validation_end(self, trainer, epoch, score, result, improved, seconds):
        if improved:
            trainer.save_checkpoint(epoch)

    def on_epoch_end(self, trainer, epoch, train_loss, seconds):
        if not trainer.validates:
            trainer.save_checkpoint(epoch)


class LogMetrics(Callback):
    """RecBole's log lines (the scalars go to the trackers: training/tracking.py)."""

    def __init__(self):
        self.logger = getLogger()

    def on_epoch_end(self, trainer, epoch, train_loss, seconds):
        self.logger.info(set_color(f"epoch {epoch} training", "green")
                         + f" [time: {seconds:.2f}s, train loss: {train_loss:.4f}]")

    def on_validation_end(self, trainer, epoch, score, result, improved, seconds):
        self.logger.info(set_color(f"epoch {epoch} evaluating", "green")
                         + f" [time: {seconds:.2f}s, valid_score: {score:.6f}]")
        self.logger.info(set_color("valid result", "blue") + ": \n" + dict2str(result))
