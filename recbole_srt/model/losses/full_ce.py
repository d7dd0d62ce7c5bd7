"""Cross-entropy over the whole catalog: the SASRec-CE loss (and that of Zhang et al. 2024).

Exact where the sampled softmax estimates; affordable for ID models and small catalogs.
"""

import torch
import torch.nn.functional as F
from torch import nn

from recbole_srt.model.losses import LOSSES
from recbole_srt.model.losses.chunked_ce import chunked_cross_entropy
from recbole_srt.config_check import ConfigError


@LOSSES.register("full_ce")
class FullCrossEntropyLoss(nn.Module):
    config_keys = {"tau": 1.0, "label_smoothing": 0.0}

    def __init__(self, tau=1.0, label_smoothing=0.0):
        super().__init__()
        self.tau = tau
        self.label_smoothing = label_smoothing

    @classmethod
    def from_config(cls, config, catalog):
        return cls(config["tau"] or 1.0, config["label_smoothing"] or 0.0)

    @staticmethod
    def check_config(config):
        if config["tau"] is not None and config["tau"] <= 0:
            raise ConfigError(f"tau must be > 0, got {config['tau']!r}")
        smoothing = config["label_smoothing"]
        if smoothing is not None and not 0 <= smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {smoothing!r}")

    def negatives(self, pos_ids, sequences):
        return None  # every item of the catalog is a candidate

    def forward(self, query, pos_ids, pos_repr, cand_ids, cand_repr):
        """cand_repr: [n_items, H], the whole catalog. Item 0 is padding, never a class: the
        classes are items 1..n-1 (the padding column would also take label-smoothing mass)."""
        # 1/tau scales the [S, H] query, not the [S, n_items] logits: the same products, one pass less
        # over the largest tensor of the step, forward and backward.
        query, classes = query / self.tau, cand_repr[1:]
        if query.device.type == "cpu" and not torch.is_autocast_enabled("cpu"):
            # A CPU step waits on memory for the [S, n_items] logits (chunked_ce.py); a GPU has bandwidth
            # to spare and fused kernels for them, and autocast would cast inside the chunks.
            return chunked_cross_entropy(query, classes, pos_ids - 1, self.label_smoothing)
        return F.cross_entropy(query @ classes.T, pos_ids - 1, reduction="none", label_smoothing=self.label_smoothing)

    def forward_flops(self, targets, hidden, candidates):
        return {"logits: catalog": (2 * targets * candidates * hidden, True)}
