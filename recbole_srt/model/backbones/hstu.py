"""HSTU, the Hierarchical Sequential Transduction Unit of Zhai et al., "Actions Speak Louder than
Words: Trillion-Parameter Sequential Transducers for Generative Recommendations" (ICML 2024),
after the authors' reference code (meta-recsys/generative-recommenders,
``generative_recommenders/research/modeling/sequential/hstu.py``), padded-dense instead of jagged.

Per layer, with h heads of width d/h for U, V, Q and K (the reference's dqk = dv = d/h setting):

    U, V, Q, K = split(SiLU(W1 . LayerNorm(x)))
    A = SiLU(Q K^T + rab_position (+ rab_time)) * causal_mask / N
    y = x + W2 . Dropout(LayerNorm(A V) * U)

There is no softmax: attention weights are not normalised per query, only scaled by 1/N.
"""

import torch
import torch.nn.functional as F
from torch import nn

from recbole_srt.model.backbones import BACKBONES
from recbole_srt.model.backbones.dropout import Dropout
from recbole_srt.model.backbones.flop_terms import LAYER_NORM_FLOPS
from recbole_srt.config_check import ConfigError

SILU_FLOPS = 4  # per element: x / (1 + exp(-x))
POINTWISE_ATTENTION_FLOPS = SILU_FLOPS + 1  # per score: SiLU, then one multiply by mask / N
TIME_BUCKETS = 128  # the reference's num_buckets
TIME_BUCKET_BASE = 0.301  # the reference divides ln|dt| by 0.301 (log10 2): ~0.43 buckets per doubling


def time_buckets(timestamps, unit_seconds=1.0):
    """[batch, length] -> [batch, length, length] bucket of |t_q - t_k| in seconds, the reference's
    ``(log(|dt|.clamp(min=1)) / 0.301).long()`` clamped to [0, TIME_BUCKETS]. ``unit_seconds``: seconds
    per unit of the loaded time field (not 1 when the dataset rescales it, as ml-100k's yaml does)."""
    gaps = ((timestamps[:, :, None] - timestamps[:, None, :]).abs().float() * unit_seconds).clamp(min=1)
    return (gaps.log() / TIME_BUCKET_BASE).long().clamp(0, TIME_BUCKETS)


class HSTULayer(nn.Module):
    def __init__(self, hidden_size, n_heads, max_length, hidden_dropout, attn_dropout, eps):
        super().__init__()
        self.n_heads, self.max_length = n_heads, max_length
        self.attn_dropout = attn_dropout
        self.input_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.uvqk = nn.Linear(hidden_size, 4 * hidden_size, bias=False)  # the reference's bias-free _uvqk
        self.attn_norm = nn.LayerNorm(hidden_size, eps=eps)
        self.out = nn.Linear(hidden_size, hidden_size)  # the reference's _o, with bias
        self.dropout = Dropout(hidden_dropout)
        # One bias per causal distance 0..N-1 and one per time bucket, shared by the heads as in the
        # reference. The reference stores 2N - 1 distances; the N - 1 future ones are always masked,
        # so they would be parameters that never train. Plain parameters, not nn.Embedding, so the
        # model's initializer leaves them at the reference's N(0, 0.02).
        self.position_bias = nn.Parameter(torch.empty(max_length).normal_(mean=0.0, std=0.02))
        self.time_bias = nn.Parameter(torch.empty(TIME_BUCKETS + 1).normal_(mean=0.0, std=0.02))

    def forward(self, x, distance, mask, buckets=None):
        batch, length, hidden = x.shape
        heads, width = self.n_heads, hidden // self.n_heads
        u, v, q, k = F.silu(self.uvqk(self.input_norm(x))).split(hidden, dim=-1)
        q, k, v = (t.view(batch, length, heads, width).transpose(1, 2) for t in (q, k, v))
        bias = self.position_bias[distance]  # [length, length]
        if buckets is not None:
            bias = bias + self.time_bias[buckets]  # [batch, length, length]
        scores = q @ k.transpose(-1, -2) + bias.unsqueeze(-3)  # broadcast over heads
        # mask holds causal_mask / N, N = MAX_ITEM_LIST_LENGTH as in the reference (its n is the
        # padded length, the same for every row, not the row's number of real items). Fixed N
        # keeps a position's output independent of how far its batch happens to be padded.
        weights = F.silu(scores) * mask
        # The reference's research code ignores attention dropout; its current kernels
        # (ops/pytorch/pt_hstu_attention.py) drop the masked, scaled weights, as here.
        weights = F.dropout(weights, p=self.attn_dropout, training=self.training)
        attended = (weights @ v).transpose(1, 2).reshape(batch, length, hidden)
        return x + self.out(self.dropout(self.attn_norm(attended) * u))


@BACKBONES.register("hstu")
class HSTU(nn.Module):
    """Stacked HSTU layers over [batch, length, hidden] item representations.

    Sequences are right-padded: causality alone keeps every padded key (which, unlike in a
    softmax, would still get a non-zero SiLU weight) after every real query, so real positions
    never see padding and no key mask is needed.

    ``inner_size`` and ``hidden_act`` are not used: HSTU has no feed-forward block and its
    activation is SiLU by definition.
    """

    # Seconds per unit of TIME_FIELD as loaded (~ = 1): the time buckets are in seconds, and a dataset yaml
    # that scales its timestamps (ml-100k) says by how much.
    config_keys = {"time_unit_seconds": None}

    def __init__(self, n_layers, n_heads, hidden_size, max_length, hidden_dropout, attn_dropout, eps=1e-6,
                 time_unit_seconds=1.0):
        super().__init__()
        self.n_layers, self.n_heads, self.hidden_size, self.max_length = n_layers, n_heads, hidden_size, max_length
        self.time_unit_seconds = float(time_unit_seconds)
        # The reference adds a learned absolute position table to the inputs (its input
        # preprocessor, shared with its SASRec) on top of the relative bias; kept.
        self.position_embedding = nn.Embedding(max_length, hidden_size)
        self.dropout = Dropout(hidden_dropout)
        self.layers = nn.ModuleList(
            HSTULayer(hidden_size, n_heads, max_length, hidden_dropout, attn_dropout, eps) for _ in range(n_layers)
        )
        # The reference normalises outputs in a post-processor (L2 or LayerNorm); a final
        # LayerNorm as in the sasrec backbone keeps output scales comparable across backbones.
        self.final_norm = nn.LayerNorm(hidden_size, eps=eps)
        positions = torch.arange(max_length)
        # Not persistent: derived from the config, so checkpoints stay free of them.
        self.register_buffer("distance", (positions[:, None] - positions[None, :]).clamp(min=0), persistent=False)
        self.register_buffer("causal", torch.ones(max_length, max_length).tril() / max_length, persistent=False)

    @classmethod
    def from_config(cls, config):
        return cls(
            config["n_layers"], config["n_heads"], config["hidden_size"], config["MAX_ITEM_LIST_LENGTH"],
            config["hidden_dropout_prob"], config["attn_dropout_prob"], config["layer_norm_eps"],
            (config["time_unit_seconds"] if "time_unit_seconds" in config else None) or 1.0,
        )

    @staticmethod
    def check_config(config):
        hidden, heads = config["hidden_size"], config["n_heads"]
        unit = config["time_unit_seconds"] if "time_unit_seconds" in config else None
        if unit is not None and (isinstance(unit, bool) or not isinstance(unit, (int, float)) or unit <= 0):
            raise ConfigError(f"time_unit_seconds must be a number of seconds > 0 (~ for 1), got {unit!r}")
        time_field = config["TIME_FIELD"] if "TIME_FIELD" in config else None
        scaled = bool(config["normalize_all"]) if "normalize_all" in config else False
        scaled = scaled or time_field in ((config["normalize_field"] if "normalize_field" in config else None) or [])
        if unit not in (None, 1, 1.0) and not scaled:
            raise ConfigError(f"time_unit_seconds is {unit}, but the time field '{time_field}' is not rescaled "
                              "(normalize_field / normalize_all): its values are seconds already; set time_unit_seconds: ~")
        if not isinstance(heads, int) or heads < 1 or not isinstance(hidden, int) or hidden % heads != 0:
            raise ConfigError(f"hidden_size ({hidden}) must be divisible by n_heads ({heads})")

    def forward(self, item_repr, timestamps=None):
        """[batch, length, hidden] item representations (and [batch, length] timestamps of
        the inputs, or None: no time bias) -> outputs at every position."""
        length = item_repr.shape[1]
        positions = torch.arange(length, device=item_repr.device)
        x = self.dropout(item_repr + self.position_embedding(positions))
        distance = self.distance[:length, :length]
        mask = self.causal[:length, :length].to(x.dtype)
        # The reference buckets t(next item at the query) - t(key), i.e. it reads the target's
        # timestamp; only the inputs' timestamps are given here, so the query's own is used,
        # which keeps position t a function of inputs 0..t.
        buckets = None if timestamps is None else time_buckets(timestamps, self.time_unit_seconds)
        for layer in self.layers:
            x = layer(x, distance, mask, buckets)
        return self.final_norm(x)

    def forward_flops(self, batch, length):
        """{name: (forward FLOPs, is a matrix product)} of one pass over [batch, length].

        Attention is counted dense (L x L per head, as it is computed, although the causal half
        is masked); bias additions (relative position and time) are not counted."""
        d, n = self.hidden_size, self.n_layers
        positions = batch * length
        scores = batch * self.n_heads * length * length
        return {
            "hstu: uvqk projection": (n * 2 * positions * d * 4 * d, True),
            "hstu: uvqk SiLU": (n * SILU_FLOPS * positions * 4 * d, False),
            "hstu: scores": (n * 2 * batch * length * length * d, True),
            "hstu: pointwise attention": (n * POINTWISE_ATTENTION_FLOPS * scores, False),
            "hstu: values": (n * 2 * batch * length * length * d, True),
            "hstu: gating by U": (n * positions * d, False),
            "hstu: output projection": (n * 2 * positions * d * d, True),
            "layer norms": ((2 * n + 1) * LAYER_NORM_FLOPS * positions * d, False),
        }
