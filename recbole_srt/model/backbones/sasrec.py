"""SASRec-style causal transformer (Kang & McAuley, ICDM 2018), pre-LayerNorm."""

import torch
import torch.nn.functional as F
from torch import nn

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.backbones.dropout import Dropout
from recbole_srt.model.backbones.flop_terms import LAYER_NORM_FLOPS, softmax_attention_flops
from recbole_srt.config_check import ConfigError

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "swish": nn.SiLU, "silu": nn.SiLU, "tanh": nn.Tanh}
ACTIVATION_FLOPS = 8  # per element, GELU by its tanh approximation


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
        self.dropout = Dropout(hidden_dropout)

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


@BACKBONES.register("sasrec")
class CausalTransformer(nn.Module):
    config_keys = {}  # sizes, dropouts, hidden_act and layer_norm_eps are the model's keys (its yaml)

    def __init__(self, n_layers, n_heads, hidden_size, inner_size, max_length,
                 hidden_dropout, attn_dropout, activation="gelu", eps=1e-12):
        super().__init__()
        self.n_layers, self.n_heads, self.hidden_size, self.inner_size = n_layers, n_heads, hidden_size, inner_size
        self.position_embedding = nn.Embedding(max_length, hidden_size)
        self.dropout = Dropout(hidden_dropout)
        self.blocks = nn.ModuleList(
            CausalBlock(hidden_size, n_heads, inner_size, hidden_dropout, attn_dropout, activation, eps)
            for _ in range(n_layers)
        )
        self.final_norm = nn.LayerNorm(hidden_size, eps=eps)

    @classmethod
    def from_config(cls, config):
        return cls(
            config["n_layers"], config["n_heads"], config["hidden_size"], config["inner_size"],
            config["MAX_ITEM_LIST_LENGTH"], config["hidden_dropout_prob"], config["attn_dropout_prob"],
            config["hidden_act"], config["layer_norm_eps"],
        )

    @staticmethod
    def check_config(config):
        hidden, heads = config["hidden_size"], config["n_heads"]
        if not isinstance(heads, int) or heads < 1 or not isinstance(hidden, int) or hidden % heads != 0:
            raise ConfigError(f"hidden_size ({hidden}) must be divisible by n_heads ({heads})")
        if config["hidden_act"] not in ACTIVATIONS:
            raise ConfigError(f"hidden_act: unknown '{config['hidden_act']}'; choose one of {', '.join(sorted(ACTIVATIONS))}")

    @property
    def layers(self):
        return self.blocks  # parameter names keep "blocks": checkpoints saved before stay loadable

    def forward(self, item_repr, timestamps=None):
        """[batch, length, hidden] item representations -> outputs at every position."""
        positions = torch.arange(item_repr.shape[1], device=item_repr.device)
        x = self.dropout(item_repr + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.final_norm(x)

    def forward_flops(self, batch, length):
        """{name: (forward FLOPs, is a matrix product)} of one pass over [batch, length]."""
        d, f, n = self.hidden_size, self.inner_size, self.n_layers
        positions = batch * length
        return {
            **softmax_attention_flops(n, batch, length, d, self.n_heads),
            "feed-forward": (n * 2 * 2 * positions * d * f, True),
            "feed-forward: activation": (n * ACTIVATION_FLOPS * positions * f, False),
            "layer norms": ((2 * n + 1) * LAYER_NORM_FLOPS * positions * d, False),
        }
