"""Elastic Weight Consolidation (Kirkpatrick et al., PNAS 2017) for fine-tuning a pre-trained model.

The penalty added to the fine-tuning loss is ``(lambda / 2) * sum_i F_i (theta_i - theta*_i)^2`` with
theta* the pre-trained weights and F the diagonal of the empirical Fisher information, estimated once
on pre-training data and stored beside the checkpoint (``<checkpoint>.fisher.pt``, written by
``python -m recbole_srt.fisher``):

    F_i = mean over n windows (user sequences) of (d/d theta_i of the window's summed training loss)^2

one backward pass per window, with the observed targets (the empirical Fisher) and dropout off. The
SRT authors' code summed squared gradients over 3,000 batches without dividing by their number and
left out the 1/2; neither is copied here.
"""

import math

import torch

from recbole_srt.config_check import ConfigError
from recbole_srt.model import is_plugin_model, plugin_model_names


def window_loss_sum(model, window):
    """The training objective of one window, summed over its targets (not averaged)."""
    return model.objective(model.loss_terms(window), reduce="sum")


def estimate_fisher(model, train_data, windows=1000):
    """{parameter name: F} of the trainable parameters, from the first ``windows`` windows of
    ``train_data`` (each batch split into single windows). Returns (fisher, windows used)."""
    if not is_plugin_model(model):
        raise ConfigError(f"{type(model).__name__}: the Fisher is estimated for the plugin's models "
                          f"({plugin_model_names()})")
    # The model's own function, without dropout noise (modules and attention dropout read their
    # `training` flag); the top module stays in training mode, so gradients reach the item encoder.
    model.eval()
    model.training = True
    device = next(model.parameters()).device
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    fisher = {name: torch.zeros_like(p) for name, p in params.items()}
    used = 0
    for batch in train_data:
        batch = batch.to(device)
        for k in range(len(batch)):
            loss = window_loss_sum(model, batch[k:k + 1])
            if not torch.is_tensor(loss) or not loss.requires_grad:
                continue  # a window without targets
            grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            for (name, _), grad in zip(params.items(), grads):
                if grad is not None:
                    fisher[name] += grad.detach() ** 2
            used += 1
            if used == windows:
                break
        if used == windows:
            break
    if used == 0:
        raise ValueError("no training window had a target: nothing to estimate the Fisher from")
    model.train()
    return {name: f / used for name, f in fisher.items()}, used


class EWC:
    """The penalty of one run: the Fisher and the anchor weights from a ``.fisher.pt`` file, matched
    to the model's parameters by name and shape (others are reported and left out)."""

    def __init__(self, model, path, lam, logger=None):
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"ewc_fisher: not found: '{path}' (write it with python -m recbole_srt.fisher "
                                    "on the pre-training data)") from None
        device = next(model.parameters()).device
        self.lam = float(lam)
        self.terms, skipped = [], []
        for name, param in model.named_parameters():
            f, anchor = saved["fisher"].get(name), saved["anchor"].get(name)
            if f is None or anchor is None or f.shape != param.shape:
                skipped.append(name)
                continue
            self.terms.append((param, f.to(device), anchor.to(device)))
        if not self.terms:
            raise ConfigError(f"ewc_fisher: '{path}' has no parameter of this model (names or shapes differ)")
        self.skipped = skipped
        if logger is not None:
            logger.info(f"EWC lambda {self.lam} from {path} ({saved.get('windows')} windows): "
                        f"{len(self.terms)} tensors anchored; not in the file (free): {skipped or 'none'}")

    def penalty(self):
        """(lambda / 2) * sum F (theta - theta*)^2 over the parameters that train now."""
        total = None
        for param, f, anchor in self.terms:
            if param.requires_grad:
                term = (f * (param - anchor) ** 2).sum()
                total = term if total is None else total + term
        return 0.0 if total is None else 0.5 * self.lam * total


def fisher_path(config):
    """``ewc_fisher``, or ``<init_from>.fisher.pt``."""
    if config["ewc_fisher"]:
        return config["ewc_fisher"]
    if config["init_from"]:
        return f"{config['init_from']}.fisher.pt"
    raise ConfigError("ewc_lambda > 0 anchors to pre-trained weights: set init_from (and its .fisher.pt from "
                      "python -m recbole_srt.fisher) or ewc_fisher")


def check_config(config):
    lam = config["ewc_lambda"]
    if lam is not None and (isinstance(lam, bool) or not isinstance(lam, (int, float)) or lam < 0
                            or not math.isfinite(lam)):
        raise ConfigError(f"ewc_lambda must be a number >= 0, got {lam!r}")
    if lam:
        fisher_path(config)
