"""The model grid of the paper's Table 3 by name, and parameter counts.

inner_size is RecBole's default 256 throughout: the paper does not state it, and with 256 the
largest preset has the 9.6M non-embedding parameters the paper reports (with 4 x hidden it would
have about 19M).
"""

from torch import nn
from recbole_srt.config_check import ConfigError

PRESETS = {
    f"L{layers}-H{heads}-D{hidden}": {"n_layers": layers, "n_heads": heads, "hidden_size": hidden, "inner_size": 256}
    for layers, heads, hidden in [(24, 4, 256), (16, 4, 256), (8, 4, 256), (8, 4, 128), (8, 2, 128), (4, 2, 128),
                                  (2, 2, 128), (4, 2, 64)]
}
SMALLEST_FIRST = sorted(PRESETS, key=lambda name: (PRESETS[name]["hidden_size"] ** 2 * PRESETS[name]["n_layers"],
                                                   PRESETS[name]["n_heads"]))


def preset(name):
    try:
        return dict(PRESETS[name])
    except KeyError:
        raise ConfigError(f"preset: unknown '{name}'; the presets are {', '.join(SMALLEST_FIRST)}") from None


def parameter_counts(model):
    """Total and non-embedding parameters. Embeddings are lookup tables (token tables of SRT's item
    encoder, item tables of ID models, position tables): they cost memory, not FLOPs."""
    total = sum(p.numel() for p in model.parameters())
    embedding = sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag)))
    return {"total": total, "non_embedding": total - embedding}
