"""An ID embedding table: the SASRec formulation, and that of Zhang et al. (RecSys 2024)."""

from torch import nn

from recbole_srt.config_check import ConfigError
from recbole_srt.model.item_encoders import ITEM_ENCODERS


@ITEM_ENCODERS.register("id")
class IDItemEncoder(nn.Module):
    """One learned vector per item id; row 0 is the padding item. Its size grows with the catalog."""

    needs_text = False
    config_keys = {}

    def __init__(self, n_items, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(n_items, hidden_size, padding_idx=0)
        self.tokenizer = None

    @classmethod
    def from_config(cls, config, catalog):
        return cls(catalog.n_items, config["hidden_size"])

    @property
    def n_items(self):
        return self.embedding.num_embeddings

    @staticmethod
    def check_config(config):
        pass

    def set_item_tokens(self, tables):
        raise ConfigError("item_encoder id cannot move to another catalog: its table belongs to the items it was "
                          "trained on (item_encoder: text scores a new catalog from its text)")

    def forward(self, item_ids):
        return self.embedding(item_ids)

    def forward_flops(self, item_ids):
        return {}  # a lookup: no arithmetic
