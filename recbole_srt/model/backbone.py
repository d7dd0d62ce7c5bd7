"""SASRec-style causal transformer over item representations."""

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "swish": nn.SiLU, "silu": nn.SiLU, "tanh": nn.Tanh}


class CausalBlock(nn.Module):
    """Pre-LayerNorm block: deep presets (24 layers in the paper's grid) train stably
    without warm-up tricks, unlike RecBole's post-LN SASRec layers."""

    def __init__(self, hidden_size, n_heads, inner_size, hidden_dropout, attn_dropout, activation, eps):
        super().__init__()
        self.n_heads = n_heads
        self.attn_dropout = attn_dropout
        self.attn_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.attn_out = nn.Linear(hidden_size, hidden_size)
        self.ff_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.ff = nn.Sequential(
            nn.Linear(hidden_size, inner_size), ACTIVATIONS[activation](), nn.Linear(inner_size, hidden_size)
        )
        self.dropout = nn.Dropout(hidden_dropout)

    def forward(self, x):
        batch, length, hidden = x.shape
        q, k, v = (
            self.qkv(self.attn_norm(x))
            .view(batch, length, 3, self.n_heads, hidden // self.n_heads)
            .permute(2, 0, 3, 1, 4)
        )
        # Sequences are right-padded, so the causal mask alone keeps every real position
        # away from padding; outputs at padded positions are never read.
        attended = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_dropout if self.training else 0.0, is_causal=True
        )
        x = x + self.dropout(self.attn_out(attended.transpose(1, 2).reshape(batch, length, hidden)))
        return x + self.dropout(self.ff(self.ff_norm(x)))


class CausalTransformer(nn.Module):
    def __init__(self, n_layers, n_heads, hidden_size, inner_size, max_length,
                 hidden_dropout, attn_dropout, activation="gelu", eps=1e-12):
        super().__init__()
        self.position_embedding = nn.Embedding(max_length, hidden_size)
        self.dropout = nn.Dropout(hidden_dropout)
        self.blocks = nn.ModuleList(
            CausalBlock(hidden_size, n_heads, inner_size, hidden_dropout, attn_dropout, activation, eps)
            for _ in range(n_layers)
        )
        self.final_norm = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, item_repr):
        """[batch, length, hidden] item representations -> outputs at every position."""
        positions = torch.arange(item_repr.shape[1], device=item_repr.device)
        x = self.dropout(item_repr + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x)
