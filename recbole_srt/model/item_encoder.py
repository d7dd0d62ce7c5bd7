"""The item feature extractor phi(i) of SRT: items are represented by their text only."""

import torch
from torch import nn


class TextItemEncoder(nn.Module):
    """Per-field token embeddings, masked sum pooling, concatenation, linear to ``hidden_size``.

    The per-item token tables are non-persistent buffers: they belong to the catalog,
    not to the model, so checkpoints and parameter counts do not depend on the number
    of items, and ``set_item_tokens`` can point a trained model at another catalog.
    """

    def __init__(self, n_fields, vocab_size, token_dim, hidden_size):
        super().__init__()
        self.n_fields = n_fields
        # EmbeddingBag sums without materialising [items, tokens, dim]; padding_idx is skipped.
        self.token_embeddings = nn.ModuleList(
            nn.EmbeddingBag(vocab_size, token_dim, mode="sum", padding_idx=0) for _ in range(n_fields)
        )
        self.projection = nn.Linear(n_fields * token_dim, hidden_size)

    def set_item_tokens(self, tables):
        if len(tables) != self.n_fields:
            raise ValueError(f"expected {self.n_fields} token tables (one per text field), got {len(tables)}")
        device = self.projection.weight.device
        for k, table in enumerate(tables):
            self.register_buffer(f"item_tokens_{k}", table.to(device), persistent=False)

    @property
    def n_items(self):
        return self.item_tokens_0.shape[0]

    def forward(self, item_ids):
        flat = item_ids.reshape(-1)
        pooled = [
            embedding(getattr(self, f"item_tokens_{k}")[flat])
            for k, embedding in enumerate(self.token_embeddings)
        ]
        return self.projection(torch.cat(pooled, dim=-1)).view(*item_ids.shape, -1)

    def count_tokens(self, item_ids):
        """Non-padding tokens of these items over all fields (the pooling work, for FLOPs)."""
        return int(sum((getattr(self, f"item_tokens_{k}")[item_ids] > 0).sum() for k in range(self.n_fields)))

    def encode_unique(self, item_ids):
        """Encode each distinct item once; sequences and negatives repeat popular items a lot."""
        unique, inverse = torch.unique(item_ids, return_inverse=True)
        return self(unique)[inverse]
