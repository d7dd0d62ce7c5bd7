"""The item feature extractor of SRT: items are represented by their text only."""

import torch
from torch import nn

from recbole_srt.model.item_encoders import ITEM_ENCODERS


@ITEM_ENCODERS.register("text")
class TextItemEncoder(nn.Module):
    """Per-field token embeddings, masked sum pooling, concatenation, linear to ``hidden_size``.

    The per-item token tables are non-persistent buffers: they belong to the catalog,
    not to the model, so checkpoints and parameter counts do not depend on the number
    of items, and ``set_item_tokens`` can point a trained model at another catalog.
    """

    needs_text = True
    # Read by the build path (recbole_srt/data/catalog.py), which tokenizes the catalog for the encoders that
    # need text; ml-100k's yaml names its own fields.
    config_keys = {
        "text_fields": ["title", "brand"],  # item fields (token or token_seq) encoded as text
        "text_max_tokens": {"title": 40, "brand": 8, "default": 40},  # SentencePiece pieces kept per field
        "token_embedding_size": None,  # per-field token embedding size; ~ = hidden_size
        "tokenizer_path": None,  # an existing SentencePiece .model; ~ = train one on the item texts and cache it
        "tokenizer_vocab_size": 30000,  # BPE vocabulary, capped automatically on small corpora
        "tokenizer_dir": "saved/tokenizers",  # cache of trained tokenizers
    }

    def __init__(self, n_fields, vocab_size, token_dim, hidden_size):
        super().__init__()
        self.n_fields = n_fields
        self.token_dim = token_dim
        # EmbeddingBag sums without materialising [items, tokens, dim]; padding_idx is skipped.
        self.token_embeddings = nn.ModuleList(
            nn.EmbeddingBag(vocab_size, token_dim, mode="sum", padding_idx=0) for _ in range(n_fields)
        )
        self.projection = nn.Linear(n_fields * token_dim, hidden_size)
        self.tokenizer = None  # {"path", "sha256"} of the tokenizer behind the token tables

    @classmethod
    def from_config(cls, config, catalog):
        hidden = config["hidden_size"]
        encoder = cls(len(catalog.token_tables), catalog.vocab_size, config["token_embedding_size"] or hidden, hidden)
        encoder.set_item_tokens(catalog.token_tables)
        encoder.tokenizer = catalog.tokenizer
        return encoder

    @staticmethod
    def check_config(config):
        pass  # the text fields are checked against the dataset's columns by the build path, before loading

    def set_item_tokens(self, tables):
        if len(tables) != self.n_fields:
            raise ValueError(f"expected {self.n_fields} token tables (one per text field), got {len(tables)}")
        device = self.projection.weight.device
        for k, table in enumerate(tables):
            self.register_buffer(f"item_tokens_{k}", table.to(device), persistent=False)
        # Pooling work per item, looked up rather than counted at every step
        self.register_buffer("item_token_counts", sum((table > 0).sum(1) for table in tables).to(device),
                             persistent=False)

    @property
    def n_items(self):
        return self.item_tokens_0.shape[0]

    def forward(self, item_ids):
        flat = item_ids.reshape(-1)
        tables = [getattr(self, f"item_tokens_{k}")[flat] for k in range(self.n_fields)]
        return self.encode_tokens(tables).view(*item_ids.shape, -1)

    def encode_tokens(self, tables):
        """[n, hidden] representations of n items given as one [n, tokens] table of (shifted) token ids
        per field: any items, in the catalog or not (``recbole_srt/new_items.py``)."""
        pooled = [embedding(table) for embedding, table in zip(self.token_embeddings, tables)]
        return self.projection(torch.cat(pooled, dim=-1))

    def count_tokens(self, item_ids):
        """Non-padding tokens of these items over all fields (the pooling work, for FLOPs), as a 0-dim
        tensor on the items' device: reading it would make the host wait for the device."""
        return self.item_token_counts[item_ids].sum()

    def forward_flops(self, item_ids):
        """{name: (forward FLOPs, is a matrix product)} of encoding the distinct ``item_ids`` once."""
        hidden = self.projection.out_features
        return {
            "item encoder: token pooling": (self.count_tokens(item_ids) * self.token_dim, False),
            "item encoder: projection": (2 * len(item_ids) * self.n_fields * self.token_dim * hidden, True),
        }
