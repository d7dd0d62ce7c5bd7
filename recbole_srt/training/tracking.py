"""Experiment tracking: the loop's figures to TensorBoard, Weights & Biases and MLflow.

One :class:`Tracker` per run fans the same scalars out to each backend the config asks for:

- ``tensorboard_dir`` (default ``log_tensorboard``, where RecBole writes its own; ``~``: none): event files
  in ``<tensorboard_dir>/<run name>/``, one folder per run, the run name being the log file's stem as in RecBole;
- ``log_wandb: True`` (RecBole's key; project ``wandb_project``): offline unless ``WANDB_MODE`` says otherwise,
  so no network and no account are needed (``wandb sync`` uploads later); files under ``WANDB_DIR``, else
  ``log_dir``, else W&B's ``./wandb``;
- ``log_mlflow: True``: a run in ``mlflow_experiment`` at ``mlflow_tracking_uri`` (``~``: ``MLFLOW_TRACKING_URI``
  or MLflow's default).

Per epoch: ``train/loss``, ``train/learning_rate``, ``train/targets_per_second`` (the loop's own training time)
and ``train/epoch_seconds``; per validation ``valid/<metric>`` and ``valid/score``; at the end of a run
``test/<metric>`` (run summary). The step is the epoch, counted across the stages of progressive unfreezing.

W&B and MLflow are optional extras (``pip install 'recbole_srt[wandb]'`` / ``[mlflow]``): :func:`check_config`
fails before any data is loaded when one is asked for and missing. Only rank 0 tracks (the loop runs its
callbacks there alone).
"""

import importlib
import logging
import os
from contextlib import contextmanager

from recbole.utils import get_local_time

from recbole_srt.config_check import ConfigError
from recbole_srt.training.callbacks import Callback

EXTRAS = {"log_wandb": ("wandb", "wandb", "Weights & Biases"), "log_mlflow": ("mlflow", "mlflow", "MLflow")}


def check_config(config):
    """A tracker asked for whose package is missing stops the run here, in one line that says how to install it."""
    for key, (module, extra, name) in EXTRAS.items():
        if not config[key]:
            continue
        try:
            importlib.import_module(module)
        except ImportError:
            raise ConfigError(f"{key}: True needs {name}, which is not installed: "
                              f"pip install 'recbole_srt[{extra}]'") from None


def run_name(config):
    """The log file's stem where there is one (RecBole names its tensorboard folders so), else model-dataset-time-pid."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "recbole_srt", False) and hasattr(handler, "baseFilename"):
            return os.path.splitext(os.path.basename(handler.baseFilename))[0]
    return f"{config['model']}-{config['dataset']}-{get_local_time()}-{os.getpid()}"


def plain_config(config):
    """The run's settings as plain values (for W&B's config and MLflow's params)."""
    from recbole_srt.checkpoint import config_dict, jsonable

    return jsonable(config_dict(config))


class TensorBoardBackend:
    def __init__(self, config, name):
        from torch.utils.tensorboard import SummaryWriter

        self.path = os.path.join(config["tensorboard_dir"], name)
        self.writer = SummaryWriter(self.path)

    def log(self, scalars, step):
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def summary(self, scalars):
        self.log(scalars, 0)

    def close(self):
        self.writer.close()


class WandbBackend:
    def __init__(self, config, name):
        import wandb

        self.wandb = wandb
        folder = os.environ.get("WANDB_DIR") or config["log_dir"] or None
        if folder:
            os.makedirs(folder, exist_ok=True)
        # Offline by default: nothing leaves the machine unless WANDB_MODE (online, disabled...) says so.
        self.run = wandb.init(project=config["wandb_project"] or "recbole_srt", name=name, config=plain_config(config),
                              dir=folder, mode=os.environ.get("WANDB_MODE") or "offline", reinit="create_new")
        self.path = getattr(self.run, "dir", None)

    def log(self, scalars, step):
        self.run.log(dict(scalars), step=step)

    def summary(self, scalars):
        self.run.summary.update(dict(scalars))

    def close(self):
        self.run.finish()


def mlflow_key(key):
    """MLflow names allow no '@': ``valid/ndcg@5`` -> ``valid/ndcg_at_5``."""
    return key.replace("@", "_at_")


class MLflowBackend:
    def __init__(self, config, name):
        import mlflow

        self.mlflow = mlflow
        if config["mlflow_tracking_uri"]:
            mlflow.set_tracking_uri(config["mlflow_tracking_uri"])
        mlflow.set_experiment(config["mlflow_experiment"] or "recbole_srt")
        self.run = mlflow.start_run(run_name=name)
        self.path = self.run.info.run_id
        params = {k: str(v)[:500] for k, v in plain_config(config).items()}  # MLflow caps a value's length
        keys = sorted(params)
        for start in range(0, len(keys), 100):  # MLflow takes at most 100 params per call
            mlflow.log_params({k: params[k] for k in keys[start:start + 100]})

    def log(self, scalars, step):
        self.mlflow.log_metrics({mlflow_key(k): float(v) for k, v in scalars.items()}, step=step)

    def summary(self, scalars):
        self.log(scalars, 0)

    def close(self):
        self.mlflow.end_run()


class Tracker:
    """The backends of one run; ``step_offset`` carries the epoch count across several fits (unfreezing stages)."""

    def __init__(self, config):
        self.name = run_name(config)
        self.backends = []
        self.step_offset = 0
        try:
            if config["tensorboard_dir"]:
                self.backends.append(TensorBoardBackend(config, self.name))
            if config["log_wandb"]:
                self.backends.append(WandbBackend(config, self.name))
            if config["log_mlflow"]:
                self.backends.append(MLflowBackend(config, self.name))
        except BaseException:
            self.close()
            raise
        for backend in self.backends:
            logging.getLogger().info(f"tracking to {type(backend).__name__[:-7]}: {backend.path}")

    def log(self, scalars, step):
        for backend in self.backends:
            backend.log(scalars, step)

    def summary(self, scalars):
        for backend in self.backends:
            backend.summary(scalars)

    def close(self):
        for backend in self.backends:
            backend.close()
        self.backends = []


_active = None  # the tracker of the run in progress in this process (run_tracking), if any


@contextmanager
def run_tracking(config, enabled=True):
    """One tracker for a whole run (every fit of it, and its test figures): ``with run_tracking(config) as t``."""
    global _active
    if not enabled or _active is not None:
        yield _active
        return
    _active = Tracker(config)
    try:
        yield _active
    finally:
        tracker, _active = _active, None
        tracker.close()


def log_summary(scalars):
    """Figures of the run as a whole (its test metrics) to the active tracker, if any."""
    if _active is not None:
        _active.summary(scalars)


class Tracking(Callback):
    """Sends the loop's figures to the run's tracker (or to one of its own when the trainer is used alone)."""

    def __init__(self, config):
        self.config = config
        self.tracker, self.owned, self.seen, self.epochs = None, False, 0, 0

    def on_fit_start(self, trainer):
        self.owned = _active is None
        self.tracker = Tracker(self.config) if self.owned else _active
        self.seen, self.epochs = trainer.seen_targets, 0

    def step(self, epoch):
        return self.tracker.step_offset + epoch

    def on_epoch_end(self, trainer, epoch, train_loss, seconds):
        targets, self.seen = trainer.seen_targets - self.seen, trainer.seen_targets
        self.epochs = epoch + 1
        scalars = {"train/loss": train_loss, "train/epoch_seconds": seconds}
        if trainer.optimizer is not None:
            scalars["train/learning_rate"] = trainer.optimizer.param_groups[0]["lr"]
        if seconds > 0:
            scalars["train/targets_per_second"] = targets / seconds
        self.tracker.log(scalars, self.step(epoch))

    def on_validation_end(self, trainer, epoch, score, result, improved, seconds):
        scalars = {f"valid/{name}": float(value) for name, value in result.items()}
        scalars["valid/score"] = score
        self.tracker.log(scalars, self.step(epoch))

    def on_fit_end(self, trainer):
        self.tracker.step_offset += self.epochs  # the next stage's epoch 0 follows this one's last
        if self.owned:
            self.tracker.close()
        self.tracker = None
