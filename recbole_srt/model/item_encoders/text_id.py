"""Text and ID together: phi(i) = text(i) + id(i).

The text part carries what is known of an item before anyone interacts with it; the ID part
learns what its text does not say, for items seen in training. Items never seen in training
keep an untrained (initial) ID vector, so new items are still scored mostly from their text.
Parameter names extend the text encoder's, so a text model's checkpoint starts this one
(``init_from``) with only the ID table missing.
"""

from torch import nn

from recbole_srt.model.item_encoders import ITEM_ENCODERS
from recbole_srt.model.item_encoders.text import TextItemEncoder
from recbole_srt.config_check import ConfigError


@ITEM_ENCODERS.register("text+id")
class TextIDItemEncoder(TextItemEncoder):
    name = "text+id"  # in messages

    @classmethod
    def from_config(cls, config, catalog):
        encoder = super().from_config(config, catalog)
        encoder.id_embedding = nn.Embedding(catalog.n_items, config["hidden_size"], padding_idx=0)
        return encoder

    def set_item_tokens(self, tables):
        if getattr(self, "id_embedding", None) is not None:
            raise ConfigError(f"item_encoder {self.name} cannot move to another catalog: its ID table belongs to the "
                              "items it was trained on (use item_encoder: text to score a new catalog)")
        super().set_item_tokens(tables)

    def forward(self, item_ids):
        return super().forward(item_ids) + self.id_embedding(item_ids)

    def forward_flops(self, item_ids):
        flops = dict(super().forward_flops(item_ids))
        flops["item encoder: text + id sum"] = (len(item_ids) * self.projection.out_features, False)
        return flops
