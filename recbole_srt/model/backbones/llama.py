"""Llama-style causal transformer (Touvron et al., "LLaMA: Open and Efficient Foundation Language
Models", 2023): pre-RMSNorm, SwiGLU feed-forward (Shazeer, 2020), rotary position embeddings
(Su et al., "RoFormer", 2021) and no biases in the linear layers."""

import torch
import torch.nn.functional as F
from torch import nn

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.backbones.dropout import Dropout
from recbole_srt.model.backbones.flop_terms import softmax_attention_flops
from recbole_srt.config_check import ConfigError

RMS_NORM_FLOPS = 4  # per element: square, mean, rescale, scale
SILU_FLOPS = 4  # per element: x / (1 + exp(-x))
ROPE_FLOPS = 3  # per q/k element: x * cos + rotate(x) * sin
ROPE_BASE = 10000.0


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, hidden_size, n_heads, inner_size, hidden_dropout, attn_dropout, eps):
        super().__init__()
        self.n_heads = n_heads
        self.inner_size = inner_size
        self.attn_dropout = attn_dropout
        self.attn_norm = nn.RMSNorm(hidden_size, eps=eps)
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size, bias=False)
        self.attn_out = nn.Linear(hidden_size, hidden_size, bias=False)
        self.ff_norm = nn.RMSNorm(hidden_size, eps=eps)
        self.gate_up = nn.Linear(hidden_size, 2 * inner_size, bias=False)  # gate and up in one product
        self.down = nn.Linear(inner_size, hidden_size, bias=False)
        self.dropout = Dropout(hidden_dropout)

    def forward(self, x, cos, sin):
        batch, length, hidden = x.shape
        q, k, v = (
            self.qkv(self.attn_norm(x))
            .view(batch, length, 3, self.n_heads, hidden // self.n_heads)
            .permute(2, 0, 3, 1, 4)
        )
        # Rotating q and k (not v) makes the score q_t . k_s depend on t - s only.
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # Right padding: the causal mask alone keeps real positions away from padded keys.
        attended = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_dropout if self.training else 0.0, is_causal=True
        )
        x = x + self.dropout(self.attn_out(attended.transpose(1, 2).reshape(batch, length, hidden)))
        gate, up = self.gate_up(self.ff_norm(x)).split(self.inner_size, dim=-1)
        return x + self.dropout(self.down(F.silu(gate) * up))


@BACKBONES.register("llama")
class Llama(nn.Module):
    """Rotary embeddings replace SASRec's learned position table; ``inner_size`` is the SwiGLU
    width (Llama shrinks it to 2/3 of 4 x hidden to keep the parameter count of a plain MLP; here
    it is taken as configured, so presets give 3 matrices of hidden x inner where SASRec has 2)."""

    config_keys = {}  # the model's sizes and dropouts only

    def __init__(self, n_layers, n_heads, hidden_size, inner_size, max_length, hidden_dropout, attn_dropout,
                 eps=1e-6):
        super().__init__()
        self.n_layers, self.n_heads, self.hidden_size, self.inner_size = n_layers, n_heads, hidden_size, inner_size
        self.blocks = nn.ModuleList(
            LlamaBlock(hidden_size, n_heads, inner_size, hidden_dropout, attn_dropout, eps) for _ in range(n_layers)
        )
        self.final_norm = nn.RMSNorm(hidden_size, eps=eps)
        head_dim = hidden_size // n_heads
        inverse_frequency = ROPE_BASE ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.outer(torch.arange(max_length, dtype=torch.float32), inverse_frequency)
        angles = torch.cat((angles, angles), dim=-1)  # [max_length, head_dim], halves as rotate_half pairs them
        # Not persistent: derived from the config, so checkpoints stay free of them.
        self.register_buffer("rope_cos", angles.cos(), persistent=False)
        self.register_buffer("rope_sin", angles.sin(), persistent=False)

    @classmethod
    def from_config(cls, config):
        return cls(
            config["n_layers"], config["n_heads"], config["hidden_size"], config["inner_size"],
            config["MAX_ITEM_LIST_LENGTH"], config["hidden_dropout_prob"], config["attn_dropout_prob"],
            config["layer_norm_eps"],
        )

    @staticmethod
    def check_config(config):
        hidden, heads = config["hidden_size"], config["n_heads"]
        if not isinstance(heads, int) or heads < 1 or not isinstance(hidden, int) or hidden % heads != 0:
            raise ConfigError(f"hidden_size ({hidden}) must be divisible by n_heads ({heads})")
        if (hidden // heads) % 2:
            raise ConfigError(f"hidden_size / n_heads ({hidden} / {heads}) must be even: rotary embeddings "
                             "rotate pairs of dimensions")

    @property
    def layers(self):
        return self.blocks  # parameter names keep "blocks": checkpoints saved before stay loadable

    def forward(self, item_repr, timestamps=None):
        """[batch, length, hidden] item representations -> outputs at every position.
        Timestamps are ignored: positions enter through the rotations only."""
        length = item_repr.shape[1]
        cos, sin = self.rope_cos[:length].to(item_repr.dtype), self.rope_sin[:length].to(item_repr.dtype)
        x = item_repr
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.final_norm(x)

    def forward_flops(self, batch, length):
        """{name: (forward FLOPs, is a matrix product)} of one pass over [batch, length];
        residual additions are not counted."""
        d, f, n = self.hidden_size, self.inner_size, self.n_layers
        positions = batch * length
        return {
            **softmax_attention_flops(n, batch, length, d, self.n_heads),
            "attention: rotary embeddings": (n * ROPE_FLOPS * 2 * positions * d, False),
            "feed-forward: gate and up": (n * 2 * positions * d * 2 * f, True),
            "feed-forward: down": (n * 2 * positions * f * d, True),
            "feed-forward: SwiGLU": (n * (SILU_FLOPS + 1) * positions * f, False),
            "RMS norms": ((2 * n + 1) * RMS_NORM_FLOPS * positions * d, False),
        }
