r"""The user's reaction to each item, read as input and predicted as a second task (ARGUS).

Reference:
    Kirill Khrylchenko et al. "Scaling Recommender Transformers to One Billion Parameters."
    2025 (ARGUS): autoregressive learning on user histories decomposes into next-item
    prediction and feedback prediction (given the next item, how will the user react).

- :class:`FeedbackScale` turns the raw ``feedback_field`` values (e.g. ratings) into labels:
  ``binary`` (liked = value >= ``feedback_threshold``) or ``ordinal`` (integer levels
  1..``feedback_levels``, predicted as the ``levels - 1`` cumulative events "level > k").
- :class:`Feedback` adds a learned feedback embedding to each input item (``feedback_input``)
  and scores the reaction to a candidate item at the next position from the sequence state
  and the candidate's representation (``feedback_weight`` > 0).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from recbole_srt.config_check import ConfigError


class FeedbackScale:
    def __init__(self, target="binary", threshold=4.0, levels=5):
        self.target, self.threshold, self.levels = target, threshold, levels

    @classmethod
    def from_config(cls, config):
        return cls(config["feedback_target"], config["feedback_threshold"], config["feedback_levels"])

    @staticmethod
    def check_config(config):
        target, threshold, levels = config["feedback_target"], config["feedback_threshold"], config["feedback_levels"]
        if target not in ("binary", "ordinal"):
            raise ConfigError(f"feedback_target must be 'binary' or 'ordinal', got {target!r}")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ConfigError(f"feedback_threshold must be a number (liked = value >= it), got {threshold!r}")
        if target == "ordinal":
            if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
                raise ConfigError(f"feedback_levels must be an integer >= 2 for feedback_target: ordinal, got {levels!r}")
            if not (float(threshold).is_integer() and 2 <= threshold <= levels):
                raise ConfigError(f"feedback_threshold must be an integer level in [2, feedback_levels={levels}] "
                                  f"for feedback_target: ordinal, got {threshold!r}")

    def check_values(self, values, field):
        """Ordinal levels must be the integers 1..levels: anything else would index past the tables.
        A threshold that puts every value on one side (a rescaled column) would train on one class."""
        if values is None or not len(values):
            return
        liked = self.liked(values)
        if liked.all() or not liked.any():
            raise ConfigError(f"feedback_threshold {self.threshold} puts every value of feedback_field '{field}' "
                              f"(from {float(values.min())} to {float(values.max())}) on one side; is the column "
                              "rescaled (RecBole's normalize_all / normalize_field)?")
        if self.target != "ordinal":
            return
        bad = (values != values.round()) | (values < 1) | (values > self.levels)
        if bad.any():
            raise ConfigError(f"feedback_field '{field}' holds {float(values[bad][0])!r}, not an integer level in "
                              f"[1, feedback_levels={self.levels}]: set feedback_levels, or feedback_target: binary")

    @property
    def n_outputs(self):
        return 1 if self.target == "binary" else self.levels - 1

    @property
    def n_classes(self):
        """Input embedding rows: 0 is padding, then disliked/liked or the levels."""
        return 3 if self.target == "binary" else self.levels + 1

    def liked(self, values):
        return values >= self.threshold

    def input_class(self, values, real):
        classes = self.liked(values).long() + 1 if self.target == "binary" else values.round().long()
        return torch.where(real, classes, 0)

    def labels(self, values):
        """[N, n_outputs] float targets: liked, or the cumulative events level > 1 .. level > L-1."""
        if self.target == "binary":
            return self.liked(values).float().unsqueeze(1)
        thresholds = torch.arange(1, self.levels, device=values.device)
        return (values.unsqueeze(1) > thresholds).float()

    def like_logit(self, logits):
        """The logit of P(liked) among the head's outputs (ordinal: P(level >= threshold))."""
        return logits[:, 0] if self.target == "binary" else logits[:, int(self.threshold) - 2]


class FeedbackHead(nn.Module):
    """Logits of the reaction to a candidate, from [state, candidate, state * candidate]."""

    def __init__(self, hidden_size, n_outputs, dropout):
        super().__init__()
        self.hidden = nn.Linear(3 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, n_outputs)

    def forward(self, state, candidate):
        x = torch.cat([state, candidate, state * candidate], dim=-1)
        return self.out(self.dropout(F.gelu(self.hidden(x))))

    def forward_flops(self, n):
        hidden, outputs = self.out.in_features, self.out.out_features
        return {
            "feedback head": (2 * n * (3 * hidden * hidden + hidden * outputs), True),
            "feedback head: features": (n * hidden * 6, False),
        }


class Feedback(nn.Module):
    """Feedback as input (an embedding added to each item) and as a task (a head and its loss)."""

    def __init__(self, scale, hidden_size, use_input, weight, dropout):
        super().__init__()
        self.scale = scale
        self.weight = weight
        self.embedding = nn.Embedding(scale.n_classes, hidden_size, padding_idx=0) if use_input else None
        self.head = FeedbackHead(hidden_size, scale.n_outputs, dropout) if weight > 0 else None

    @classmethod
    def from_config(cls, config, scale):
        """None when the model neither reads nor predicts feedback."""
        use_input, weight = bool(config["feedback_input"]), float(config["feedback_weight"] or 0.0)
        if not config["feedback_field"] or not (use_input or weight > 0):
            return None
        return cls(scale, config["hidden_size"], use_input, weight,
                   config["hidden_dropout_prob"])

    @staticmethod
    def check_config(config):
        for key in ("feedback_weight", "next_item_weight"):
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
                raise ConfigError(f"{key} must be a number >= 0 (0 switches that head off), got {value!r}")
        if config["next_item_targets"] not in ("all", "liked"):
            raise ConfigError(f"next_item_targets must be 'all' or 'liked', got {config['next_item_targets']!r}")
        # feedback_input (True by default) only acts once feedback_field names a column.
        if (config["feedback_weight"] > 0 or config["next_item_targets"] == "liked") and not config["feedback_field"]:
            raise ConfigError("feedback_weight > 0 and next_item_targets: liked read the users' feedback: "
                              "set feedback_field to an interaction column (e.g. rating)")
        if config["next_item_weight"] == 0 and config["feedback_weight"] == 0:
            raise ConfigError("next_item_weight and feedback_weight are both 0: nothing to train")
        if config["feedback_field"]:
            FeedbackScale.check_config(config)

    def embed(self, values, real):
        """[batch, length, hidden] embeddings of the inputs' feedback (0 at padding)."""
        return self.embedding(self.scale.input_class(values, real))

    def losses(self, state, candidate, values):
        """Per-target binary (or summed cumulative ordinal) cross-entropy."""
        logits = self.head(state, candidate)
        return F.binary_cross_entropy_with_logits(logits, self.scale.labels(values), reduction="none").sum(1)

    def like_probability(self, state, candidate):
        return torch.sigmoid(self.scale.like_logit(self.head(state, candidate)))
