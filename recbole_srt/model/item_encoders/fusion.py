"""Text first, IDs where the data vouches for them: phi(i) = text(i) + w_i id(i), w_i = n_i / (n_i + m).

``text+id`` adds an ID vector to every item with the same weight, and on a catalog whose items have
few interactions each the ID table over-fits (Beauty: its validation peaks at epoch 9 of 20 and ends
12 % below text alone). Here the ID part is a correction to the text encoding that grows with the
evidence for it: ``n_i`` is the item's training count and ``m`` (``fusion_count_prior``) the count at
which the ID part weighs half. This is the shrinkage of a hierarchical model whose prior mean for an
item is given by its text: a rare item stays near its text, a frequent one may move away from it.

- An item with no training interaction (withheld with ``cold_start_items``, or never seen) has
  ``w_i = 0``: it is scored from its text exactly, and its ID row receives no gradient.
- ``fusion_id_dropout``: while training, each item of a batch loses its ID part with this
  probability, so the rest of the model is trained to read items from their text alone, as it
  must for new items.
- ``fusion_eval_id``: what validation and test give a warm item. ``full``: all of its ID part.
  ``expected``: the part's mean under the training's dropout, (1 - fusion_id_dropout) w_i id(i), the
  rule of dropout itself. Training sees each warm item half with, half without its ID part (at the
  default dropout), while a cold item is always in the text-only state; under ``full`` the warm
  items' scores lie beyond what training calibrated against that state, and cold items fall out
  of the top of the ranking (docs/results/encoders.md, "Cold items").
- ``fusion_form``: ``sum`` adds the weighted ID part to the whole text encoding; ``interpolate`` takes the
  shrinkage estimate itself, (1 - w_i) text(i) + w_i id(i), so that a frequent item may leave its text behind
  (on a catalog whose texts say little, ml-100k, IDs alone rank better than text plus IDs).
- Parameter names extend the text encoder's: a text model's checkpoint starts this one
  (``init_from``) with only the ID table new.
"""

import torch

from recbole_srt.config_check import ConfigError
from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.item_encoders.text import TextItemEncoder
from recbole_srt.model.item_encoders.text_id import TextIDItemEncoder


@ITEM_ENCODERS.register("fusion")
class FusionItemEncoder(TextIDItemEncoder):
    name = "fusion"

    config_keys = {
        **TextItemEncoder.config_keys,
        "fusion_count_prior": 20.0,  # m: the training count at which an item's ID part weighs half
        # share of a batch's items trained without their ID part; 0.5 had the best validation over ml-100k and Beauty
        # of the recipes tried (docs/results/encoders.md)
        "fusion_id_dropout": 0.5,
        "fusion_form": "sum",  # sum: text + w id; interpolate: (1 - w) text + w id
        # expected: (1 - fusion_id_dropout) w id at validation and test; full: w id. Under full, cold items rank
        # well below text's; expected brings them close and warm items no lower (docs/results/encoders.md)
        "fusion_eval_id": "expected",
    }

    @classmethod
    def from_config(cls, config, catalog):
        encoder = super().from_config(config, catalog)  # the text encoder and the ID table of text+id
        counts = catalog.train_counts.float()
        prior = float(config["fusion_count_prior"])
        # Buffer, not persistent: the weights belong to the training data, like the token tables
        encoder.register_buffer("id_weight", counts / (counts + prior) if prior > 0 else (counts > 0).float(),
                                persistent=False)
        encoder.id_dropout = float(config["fusion_id_dropout"])
        encoder.interpolate = config["fusion_form"] == "interpolate"
        encoder.eval_scale = 1 - encoder.id_dropout if config["fusion_eval_id"] == "expected" else 1.0
        return encoder

    @staticmethod
    def check_config(config):
        prior, dropout = config["fusion_count_prior"], config["fusion_id_dropout"]
        if isinstance(prior, bool) or not isinstance(prior, (int, float)) or prior < 0:
            raise ConfigError(f"fusion_count_prior must be a number >= 0 (a training count), got {prior!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ConfigError(f"fusion_id_dropout must be a probability in [0, 1), got {dropout!r}")
        if config["fusion_form"] not in ("sum", "interpolate"):
            raise ConfigError(f"fusion_form must be 'sum' or 'interpolate', got {config['fusion_form']!r}")
        if config["fusion_eval_id"] not in ("full", "expected"):
            raise ConfigError(f"fusion_eval_id must be 'full' or 'expected', got {config['fusion_eval_id']!r}")

    def forward(self, item_ids):
        weight = self.id_weight[item_ids]
        if self.training and self.id_dropout > 0:
            weight = weight * (torch.rand(weight.shape, device=weight.device) >= self.id_dropout)
        elif not self.training:
            weight = weight * self.eval_scale
        weight = weight.unsqueeze(-1)
        text = TextItemEncoder.forward(self, item_ids)
        if self.interpolate:
            return text + weight * (self.id_embedding(item_ids) - text)  # (1 - w) text + w id
        return text + weight * self.id_embedding(item_ids)

    def forward_flops(self, item_ids):
        flops = dict(TextItemEncoder.forward_flops(self, item_ids))
        flops["item encoder: weighted id sum"] = (2 * len(item_ids) * self.projection.out_features, False)
        return flops
