"""RecBole's own trainer, for the models that have one (S3Rec: pre-training, then fine-tuning), behind the
plugin trainer's interface: ``fit``, ``evaluate``, ``resume``, ``history``, ``stopped_by``, ``valid_metric``.

Its checkpoints go through :mod:`recbole_srt.checkpoint` (tensors plus a JSON sidecar), never RecBole's pickled
Config, so that they load with ``torch.load(weights_only=True)`` (torch >= 2.6 refuses RecBole's own).
"""

from recbole_srt.checkpoint import save_checkpoint
from recbole_srt.compat import recbole_trainer_class
from recbole_srt.config_check import ConfigError
from recbole_srt.logs import show_progress


def recbole_trainer(config, model):
    """The adapted RecBole trainer of ``config['model']``, or None when RecBole has none for it."""
    cls = recbole_trainer_class(config)
    if cls is None:
        return None

    class SafeCheckpoints(cls):
        def write_checkpoint(self, epoch, path, extra):
            state = {"epoch": epoch, **extra, "state_dict": self.model.state_dict(),
                     "other_parameter": self.model.other_parameter()}
            save_checkpoint(path, state, self.config, self.model)

        def save_pretrained_model(self, epoch, saved_model_file):
            self.write_checkpoint(epoch, saved_model_file, {})
            self.saved_model_file = saved_model_file

    return RecBoleTrainer(SafeCheckpoints(config, model), config)


class RecBoleTrainer:
    def __init__(self, trainer, config):
        self.inner = trainer
        self.progress = show_progress(config)  # on a terminal only, as for the plugin's own loop
        self.valid_metric = config["valid_metric"].lower()
        self.bigger = config["valid_metric_bigger"] is not False
        self.name = type(trainer).__mro__[1].__name__  # RecBole's class (S3RecTrainer)
        self.history, self.stopped_by = [], f"RecBole's {self.name}"

    @property
    def saved_model_file(self):
        return self.inner.saved_model_file

    def fit(self, train_data, valid_data=None, saved=True):
        return self.inner.fit(train_data, valid_data, saved=saved, show_progress=self.progress)

    def evaluate(self, eval_data, load_best_model=True, model_file=None):
        return self.inner.evaluate(eval_data, load_best_model=load_best_model, model_file=model_file,
                                   show_progress=self.progress)

    def resume(self, path):
        raise ConfigError(f"resume_from: not supported for RecBole's own {self.name}")
